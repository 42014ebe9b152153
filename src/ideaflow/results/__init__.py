"""Results: record kinds as Arrow tables and DataFrames, result objects, and writing them."""

from __future__ import annotations

from ideaflow.results.backtest import BacktestResult, FigureWriter, backtest_result, versions
from ideaflow.results.frames import to_frame

__all__ = ["BacktestResult", "FigureWriter", "backtest_result", "to_frame", "versions"]
