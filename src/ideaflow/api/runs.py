"""Comparisons and analyses as a user runs them: computed, written with their figures,
and printed as text.

The layers below compute (`ideaflow.strategies`, `ideaflow.analytics`) and write tables
(`ideaflow.results`); the figures and text come from `ideaflow.reporting`. This module
puts them together, so that `ideaflow.compare(..., out_dir=...)` writes what
`ideaflow compare` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ideaflow.analytics import AnalysisResult
from ideaflow.analytics import analyze as _analyze
from ideaflow.analytics.facts import FactsResult
from ideaflow.data import Dataset
from ideaflow.reporting.analysis import analysis_figures
from ideaflow.reporting.comparison import comparison_figures, format_comparison
from ideaflow.reporting.facts import facts_figures, facts_table
from ideaflow.reporting.figures import backtest_figures
from ideaflow.reporting.findings import findings_table
from ideaflow.reporting.text import format_backtest
from ideaflow.results import BacktestResult
from ideaflow.strategies import ComparisonResult, StrategyParams
from ideaflow.strategies import compare as _compare

Result = BacktestResult | ComparisonResult | AnalysisResult | FactsResult


def compare(
    ds: Dataset,
    names: list[str] | tuple[str, ...],
    params: StrategyParams | None = None,
    out_dir: str | Path | None = None,
    *,
    plots: bool = True,
    **options: Any,
) -> ComparisonResult:
    """Run the strategies `names` on `ds` side by side and compare them
    (`ideaflow.strategies.compare`); with `out_dir`, write every table and, with `plots`,
    the comparison figures."""
    figures = comparison_figures if plots else None
    return _compare(ds, names, params, out_dir, figures=figures, **options)


def analyze(ds: Dataset, out_dir: str | Path | None = None, **options: Any) -> AnalysisResult:
    """The social-learning analytics of `ds` (`ideaflow.analytics.analyze`); with `out_dir`,
    written with their figures."""
    result = _analyze(ds, **options)
    if out_dir is not None:
        save(result, out_dir)
    return result


def save(result: Result, out_dir: str | Path, *, plots: bool = True) -> Path:
    """Write a result's tables, summary and (with `plots`) figures into `out_dir`."""
    if isinstance(result, BacktestResult):
        return result.write(out_dir, figures=backtest_figures if plots else None)
    if isinstance(result, ComparisonResult):
        return result.write(out_dir, figures=comparison_figures if plots else None)
    if isinstance(result, AnalysisResult):
        result.write(out_dir, figures=analysis_figures if plots else None)
        return Path(out_dir)
    if isinstance(result, FactsResult):
        return result.write(out_dir, figures=facts_figures if plots else None)
    raise TypeError(f"result: expected a backtest, comparison or analysis; found {type(result)}")


def text(result: Result, *, top: int = 5) -> str:
    """A result as the readable table the command line prints."""
    if isinstance(result, BacktestResult):
        return format_backtest(result, top=top)
    if isinstance(result, ComparisonResult):
        return format_comparison(result.comparison)
    if isinstance(result, AnalysisResult):
        return findings_table(result.findings)
    if isinstance(result, FactsResult):
        return facts_table(result.facts)
    raise TypeError(f"result: expected a backtest, comparison or analysis; found {type(result)}")
