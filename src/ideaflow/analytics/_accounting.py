"""The accounting the analytics stand on: the engine's `actual` replay of the log.

Every figure of the analysis (per-trader ROI and Sharpe, trade returns, daily PnL for the
correlations, trailing ROI for popularity) comes from one `ideaflow.engine.replay` of the
log as it is, so the analytics and the backtests agree to the cent.

`ledger(ds)` wraps that replay in the few columns the analytics need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ideaflow.data import OPEN_END, Dataset
from ideaflow.engine import ReplayConfig, daily_pnl, replay


@dataclass(frozen=True, eq=False)
class Ledger:
    """Per-position and per-account numbers of the `actual` replay."""

    account: np.ndarray  # int32 trader code per position
    open_time: np.ndarray  # int64 ns
    close_time: np.ndarray  # int64 ns (OPEN_END when open)
    pnl: np.ndarray  # float64
    ret: np.ndarray  # float64 pnl / amount
    is_copy: np.ndarray  # bool: has a parent
    closed: np.ndarray  # bool
    roi: np.ndarray  # per trader
    sharpe: np.ndarray  # per trader
    total_pnl: np.ndarray  # per trader
    initial_equity: np.ndarray  # per trader
    daily_account: np.ndarray  # sparse daily PnL, sorted by (account, day)
    daily_day: np.ndarray
    daily_pnl: np.ndarray
    source: str  # where the accounting came from ("engine")
    book: object | None = None  # the engine's Book when available


def ledger(ds: Dataset) -> Ledger:
    """The `actual` replay of `ds` as a `Ledger`."""
    result = replay(ds, ReplayConfig(strategy="actual"))
    book = result.book
    metrics = result.metrics
    daily = daily_pnl(book, ds.n_traders, prices=ds.prices, data_end=ds.data_end)
    d_account, d_day, d_pnl = daily.account, daily.day, daily.pnl
    return Ledger(
        account=np.asarray(book.account),
        open_time=np.asarray(book.open_time),
        close_time=np.asarray(book.close_time),
        pnl=np.asarray(book.pnl, dtype=np.float64),
        ret=np.asarray(book.ret, dtype=np.float64),
        is_copy=np.asarray(book.parent_trade_id) >= 0,
        closed=np.asarray(book.close_time) != OPEN_END,
        roi=np.asarray(metrics.roi, dtype=np.float64),
        sharpe=np.asarray(metrics.sharpe, dtype=np.float64),
        total_pnl=np.asarray(metrics.pnl, dtype=np.float64),
        initial_equity=np.asarray(metrics.initial_equity, dtype=np.float64),
        daily_account=np.asarray(d_account),
        daily_day=np.asarray(d_day, dtype=np.int64),
        daily_pnl=np.asarray(d_pnl, dtype=np.float64),
        source="engine",
        book=book,
    )
