"""`ideaflow backtest`: run one strategy on a dataset and write its results (SPEC §7)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import click

from ideaflow.cli._common import handle_errors


@click.command("backtest")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--strategy",
    "-s",
    required=True,
    help="actual, mirror, isolation, herd, top, random, diverse, echo or placebo.",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Copy depth: 1 copies originals only; d copies copies up to d hops.",
)
@click.option(
    "--initial-equity",
    type=float,
    default=None,
    help="Starting equity of traders missing from `accounts`  [default: 10000].",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=None,
    help="Leaders (herd/top/random) or evaluators (diverse/echo) per subject.",
)
@click.option(
    "--lookback",
    "lookback_days",
    type=float,
    default=None,
    help="Trailing window for performance and styles, in days.",
)
@click.option(
    "--rebalance",
    "rebalance_days",
    type=float,
    default=None,
    help="Days between re-decisions of leaders/evaluators.",
)
@click.option(
    "--window",
    "window_hours",
    type=float,
    default=None,
    help="Vote window before an idea, in hours.",
)
@click.option("--min-support", type=int, default=None, help="Votes needed to take an idea.")
@click.option(
    "--min-ideas",
    type=click.IntRange(min=1),
    default=None,
    help="Original trades a trader needs to be a subject.",
)
@click.option(
    "--min-history",
    type=click.IntRange(min=1),
    default=None,
    help="Closed trades in the lookback a candidate evaluator/leader needs.",
)
@click.option(
    "--size-by-support/--no-size-by-support",
    default=None,
    help="Scale a taken idea by its support instead of taking it whole.",
)
@click.option("--seed", type=int, default=None, help="Seed of random and placebo choices.")
@click.option(
    "--sharpe-factor",
    type=float,
    default=math.sqrt(365.0),
    show_default=True,
    help="Annualisation factor of the daily Sharpe ratio.",
)
@click.option(
    "--on-invalid",
    type=click.Choice(["error", "quarantine"]),
    default="error",
    show_default=True,
    help="Stop on bad rows, or write them to OUT/quarantine/ and go on.",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Save PNG plots.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bars (default: on when stderr is a terminal).",
)
@handle_errors
def backtest_command(
    dataset: Path,
    strategy: str,
    out_dir: Path,
    depth: int,
    initial_equity: float | None,
    sharpe_factor: float,
    on_invalid: str,
    plots: bool,
    progress: bool | None,
    **params: object,
) -> None:
    """Backtest one strategy on DATASET and write trades, accounts, summary and plots to OUT."""
    from ideaflow.api import backtest

    if progress is None:
        progress = sys.stderr.isatty()
    started = time.perf_counter()
    result = backtest(
        dataset,
        strategy,
        depth=depth,
        initial_equity=initial_equity,
        sharpe_annualization=sharpe_factor,
        on_invalid=on_invalid,
        quarantine_dir=out_dir / "quarantine",
        progress=progress,
        out=out_dir,
        plots=plots,
        **params,
    )
    click.echo(result.summary_table())
    click.echo(
        f"\nwrote {out_dir}/ (trades.parquet, accounts.parquet, summary.json"
        + (", decisions.parquet" if (out_dir / "decisions.parquet").exists() else "")
        + (", plots" if plots else "")
        + f") in {time.perf_counter() - started:.1f} s"
    )
