"""The public API: load a dataset, backtest, compare and analyse, save and print results."""

from __future__ import annotations

from ideaflow.api.backtesting import all_strategies, backtest, load
from ideaflow.api.experiments import experiment, experiment_text
from ideaflow.api.runs import analyze, compare, save, text
from ideaflow.reporting.html import write_report

__all__ = [
    "all_strategies",
    "analyze",
    "backtest",
    "compare",
    "experiment",
    "experiment_text",
    "load",
    "save",
    "text",
    "write_report",
]
