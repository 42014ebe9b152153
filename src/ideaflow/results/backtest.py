"""What every backtest returns (`BacktestResult`) and how it is written to an output directory.

A result holds plain pandas DataFrames (trades, accounts, decisions, daily PnL) plus the
counts and timings that go into `summary.json`. Writing is atomic (each file appears
whole or not at all) and deterministic: the same result gives byte-identical Parquet.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.data import Dataset
from ideaflow.engine import ReplayResult
from ideaflow.io.write import json_ready, to_arrow, write_json_atomic, write_parquet_atomic
from ideaflow.results.frames import to_frame
from ideaflow.results.tables import DeferredBookTable, accounts_table, book_table, daily_table

# writes the figures of a result into a directory and returns their paths (the
# presentation layer's `backtest_figures`, handed in by whoever asks for plots)
FigureWriter: TypeAlias = Callable[[Any, Path], list[Path]]


def versions() -> dict[str, str]:
    """Versions of the libraries that produced a result (recorded in summary.json).

    Read from the installed distributions' metadata, so nothing is imported for it.
    """
    found = {"python": platform.python_version()}
    for name in ("ideaflow", "numpy", "pandas", "numba", "pyarrow", "scikit-learn", "scipy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - every one is a dependency
            found[name] = "not installed"
    return found


_TABLES = ("trades", "accounts", "decisions", "daily")
# a table as given to a result: pandas, Arrow, or a function building it when first needed
Table: TypeAlias = pd.DataFrame | pa.Table | Callable[[], pd.DataFrame | pa.Table]
# the trades columns the headline reads (besides the row count)
_HEADLINE_COLUMNS = ("close_time", "parent_trade_id", "ret")


def _mean_median(values: np.ndarray) -> tuple[float, float]:
    """Mean and median skipping NaN (NaN when nothing is left); `values` is a scratch
    array of the caller's (the median reorders it instead of copying it)."""
    nan = np.isnan(values)
    if nan.any():
        values = values[~nan]
    if not len(values):
        return float("nan"), float("nan")
    return float(values.mean()), float(np.median(values, overwrite_input=True))


def closed_returns(trades: pa.Table) -> dict[str, np.ndarray]:
    """The returns of the closed originals ("single") and closed copies ("social") of a
    trades table, in row order."""
    closed = trades.column("close_time").is_valid().to_numpy(zero_copy_only=False)
    social = trades.column("parent_trade_id").is_valid().to_numpy(zero_copy_only=False)
    ret = trades.column("ret").to_numpy(zero_copy_only=False)
    return {"single": ret[~social & closed], "social": ret[social & closed]}


def headline(
    trades: pa.Table | DeferredBookTable,
    accounts: pa.Table,
    returns: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The numbers a person looks at first: totals, social vs single trades, ROI spread.

    Computed on Arrow columns, so a platform-size book is never copied into pandas;
    `returns` (as `closed_returns` gives them, arrays the headline may reorder) when the
    caller has them without the trades' columns (`trades` then only gives `num_rows`).
    """
    pnl = accounts.column("pnl").to_numpy(zero_copy_only=False).astype(float)
    roi = accounts.column("roi").to_numpy(zero_copy_only=False).astype(float)
    mean_roi, median_roi = _mean_median(roi)
    out: dict[str, Any] = {
        "accounts": accounts.num_rows,
        "positions": trades.num_rows,
        "total_pnl": float(np.nansum(pnl)),
        "mean_roi": mean_roi,
        "median_roi": median_roi,
    }
    readable = isinstance(trades, pa.Table) and set(_HEADLINE_COLUMNS) <= set(trades.column_names)
    if returns is None and readable:
        returns = closed_returns(trades)
    if returns is not None:
        for label in ("single", "social"):
            ret = np.asarray(returns[label], dtype=float)
            out[f"{label}_trades"] = int(ret.shape[0])
            out[f"{label}_mean_ret"], out[f"{label}_median_ret"] = _mean_median(ret)
    return {key: json_ready(value) for key, value in out.items()}


class BacktestResult:
    """The outcome of one strategy on one dataset.

    trades:    every replayed position (docs/contract.md §7 `trades.parquet`)
    accounts:  one row per account with the metrics of docs/contract.md §3
    decisions: per-subject decisions for decision strategies (docs/contract.md §5), else None
    daily:     sparse daily PnL per account (trader_id, day, pnl), for bootstraps and plots

    Each table may be given as a pandas DataFrame, a pyarrow Table, or a function of no
    arguments returning one (called once, when the table is first needed). Attribute
    access (`result.trades`) gives a DataFrame (converted once, on first use);
    `result.table(name)` gives the Arrow table, which is what `write` uses, so a
    platform-scale replay is written without a pandas copy.
    """

    def __init__(
        self,
        strategy: str,
        params: dict[str, Any],
        trades: Table,
        accounts: Table,
        decisions: Table | None = None,
        daily: Table | None = None,
        counts: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
        meta: dict[str, Any] | None = None,
    ):
        self.strategy = strategy
        self.params = dict(params)
        self.counts = dict(counts or {})
        self.timings = dict(timings or {})
        self.meta = dict(meta or {})
        self._headline: dict[str, Any] | None = None
        # tables already being written: name -> (path, future of the write)
        self._pending: dict[str, tuple[Path, Any]] = {}
        self._data: dict[str, Table | None] = {
            "trades": trades,
            "accounts": accounts,
            "decisions": decisions,
            "daily": daily,
        }

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{name}={self._rows(name)}" for name in _TABLES if self._data[name] is not None
        )
        return f"BacktestResult(strategy={self.strategy!r}, {sizes})"

    def _rows(self, name: str) -> int:
        value = self._data[name]
        if hasattr(value, "num_rows"):  # Arrow, or a deferred table: not built for a count
            return int(value.num_rows)  # type: ignore[union-attr,arg-type]
        return len(self._given(name))  # type: ignore[arg-type]

    def _given(self, name: str) -> pd.DataFrame | pa.Table | None:
        """The named table as given, a deferred one built (once) now."""
        value = self._data[name]
        if callable(value):
            value = value()
            self._data[name] = value
        return value  # type: ignore[return-value]

    def frame(self, name: str) -> pd.DataFrame | None:
        value = self._given(name)
        if isinstance(value, pa.Table):
            value = to_frame(value)
            self._data[name] = value
        return value

    def table(self, name: str) -> pa.Table | None:
        """The named table as Arrow (DataFrames are converted, index dropped)."""
        value = self._given(name)
        if value is None or isinstance(value, pa.Table):
            return value
        return to_arrow(value)

    @property
    def trades(self) -> pd.DataFrame:
        frame = self.frame("trades")
        assert frame is not None  # always given
        return frame

    @property
    def accounts(self) -> pd.DataFrame:
        frame = self.frame("accounts")
        assert frame is not None
        return frame

    @property
    def decisions(self) -> pd.DataFrame | None:
        return self.frame("decisions")

    @property
    def daily(self) -> pd.DataFrame | None:
        return self.frame("daily")

    def headline(self) -> dict[str, Any]:
        """Totals, social vs single trades, ROI spread (computed once, then cached)."""
        if self._headline is None:
            given = self._data["trades"]
            returns = None
            trades: pa.Table | DeferredBookTable | None
            if isinstance(given, DeferredBookTable):
                # the returns straight from the book: no table is built
                trades = given
                returns = given.closed_returns()
            else:
                trades = self.table("trades")
            accounts = self.table("accounts")
            assert trades is not None and accounts is not None  # always given
            self._headline = headline(trades, accounts, returns)
        return dict(self._headline)

    def summary(self) -> dict[str, Any]:
        """The content of summary.json (everything but timings is deterministic)."""
        return {
            "strategy": self.strategy,
            "inputs": {k: v for k, v in self.meta.items() if k != "quarantine_reasons"},
            "quarantine_reasons": self.meta.get("quarantine_reasons", {}),
            "parameters": {k: json_ready(v) for k, v in self.params.items()},
            "seed": self.params.get("seed"),
            "versions": versions(),
            "counts": self.counts,
            "timings_s": {k: round(float(v), 4) for k, v in self.timings.items()},
            "headline": self.headline(),
        }

    def pending_write(self, name: str, path: Path, future: Any) -> None:
        """Record that table `name` is being written to `path` (a concurrent future);
        `write` to that directory waits for it instead of writing the table again."""
        self._pending[name] = (Path(path), future)

    def write(self, out_dir: str | Path, *, figures: FigureWriter | None = None) -> Path:
        """Write trades/accounts/decisions/daily Parquet and summary.json to out_dir, and
        the figures `figures(self, out_dir)` draws (`ideaflow.save` passes the plots).

        The Parquet files are written concurrently (pyarrow releases the GIL), each one
        atomically, while the figures are drawn; summary.json is written last.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        already = {
            name: future
            for name, (path, future) in self._pending.items()
            if path == out / f"{name}.parquet"
        }
        jobs = [
            (name, self.table(name))
            for name in _TABLES
            if self._data[name] is not None and name not in already
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(write_parquet_atomic, table, out / f"{name}.parquet")
                for name, table in jobs
            ]
            futures += list(already.values())
            if figures is not None:
                figures(self, out)
            for future in futures:
                future.result()
        self.timings["write"] = time.perf_counter() - started
        write_json_atomic(json_ready(self.summary()), out / "summary.json")
        return out


def backtest_result(
    replayed: ReplayResult, ds: Dataset, trades: Table | None = None
) -> BacktestResult:
    """A replay as a `BacktestResult`: the tables are built as Arrow straight from the
    records (no pandas copy of a platform-size book); `result.trades` etc. convert to
    pandas on first use. `trades`: the book's table when the caller already has it."""
    started = time.perf_counter()
    daily = daily_table(replayed.daily(ds), ds.trader_ids)
    if trades is None:
        trades = book_table(replayed.book, ds.trader_ids, ds.instruments)
    accounts = accounts_table(replayed.metrics, ds.trader_ids)
    timings = dict(replayed.timings)
    timings["tables"] = time.perf_counter() - started
    return BacktestResult(
        strategy=replayed.config.strategy,
        params=replayed.params,
        trades=trades,
        accounts=accounts,
        daily=daily,
        counts=dict(replayed.counts),
        timings=timings,
    )
