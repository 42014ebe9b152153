"""What every backtest returns (`BacktestResult`) and how it is written to an output directory.

A result holds plain pandas DataFrames (trades, accounts, decisions, daily PnL) plus the
counts and timings that go into `summary.json`. Writing is atomic (each file appears
whole or not at all) and deterministic: the same result gives byte-identical Parquet.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ideaflow import __version__


def versions() -> dict[str, str]:
    """Versions of the libraries that produced a result (recorded in summary.json)."""
    import numba
    import pyarrow
    import sklearn

    return {
        "ideaflow": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "numba": numba.__version__,
        "pyarrow": pyarrow.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def headline(accounts: pd.DataFrame, trades: pd.DataFrame) -> dict[str, Any]:
    """The numbers a person looks at first: totals, social vs single trades, ROI spread."""
    closed = trades["close_time"].notna() if "close_time" in trades else None
    social = trades["parent_trade_id"].notna() if "parent_trade_id" in trades else None
    out: dict[str, Any] = {
        "accounts": len(accounts),
        "positions": len(trades),
        "total_pnl": float(accounts["pnl"].sum()) if len(accounts) else 0.0,
        "mean_roi": float(accounts["roi"].mean()) if len(accounts) else float("nan"),
        "median_roi": float(accounts["roi"].median()) if len(accounts) else float("nan"),
    }
    if social is not None and closed is not None:
        for label, mask in (("single", ~social & closed), ("social", social & closed)):
            rets = trades.loc[mask, "ret"]
            out[f"{label}_trades"] = int(mask.sum())
            out[f"{label}_mean_ret"] = float(rets.mean()) if len(rets) else float("nan")
            out[f"{label}_median_ret"] = float(rets.median()) if len(rets) else float("nan")
    return {key: _finite_or_none(value) for key, value in out.items()}


@dataclass
class BacktestResult:
    """The outcome of one strategy on one dataset.

    trades:    every replayed position (SPEC §7 `trades.parquet`)
    accounts:  one row per account with the metrics of SPEC §3
    decisions: per-subject decisions for decision strategies (SPEC §5), else None
    daily:     sparse daily PnL per account (trader_id, day, pnl), for bootstraps and plots
    """

    strategy: str
    params: dict[str, Any]
    trades: pd.DataFrame
    accounts: pd.DataFrame
    decisions: pd.DataFrame | None = None
    daily: pd.DataFrame | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        return headline(self.accounts, self.trades)

    def summary(self) -> dict[str, Any]:
        """The content of summary.json (everything but timings is deterministic)."""
        return {
            "strategy": self.strategy,
            "inputs": {k: v for k, v in self.meta.items() if k != "quarantine_reasons"},
            "quarantine_reasons": self.meta.get("quarantine_reasons", {}),
            "parameters": {k: _finite_or_none(v) for k, v in self.params.items()},
            "seed": self.params.get("seed"),
            "versions": versions(),
            "counts": {k: _finite_or_none(v) for k, v in self.counts.items()},
            "timings_s": {k: round(float(v), 4) for k, v in self.timings.items()},
            "headline": self.headline(),
        }

    def summary_table(self, top: int = 5) -> str:
        """A readable text table: totals, social vs single trades, top and bottom accounts."""
        from ideaflow.report import format_backtest

        return format_backtest(self, top=top)

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write trades/accounts/decisions/daily Parquet, summary.json and plots to out_dir."""
        from ideaflow.io import write_json_atomic, write_parquet_atomic

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_parquet_atomic(self.trades, out / "trades.parquet")
        write_parquet_atomic(self.accounts, out / "accounts.parquet")
        if self.decisions is not None:
            write_parquet_atomic(self.decisions, out / "decisions.parquet")
        if self.daily is not None:
            write_parquet_atomic(self.daily, out / "daily.parquet")
        if plots:
            from ideaflow.plots import backtest_plots

            backtest_plots(self, out)
        self.timings["write"] = time.perf_counter() - started
        write_json_atomic(self.summary(), out / "summary.json")
        return out
