"""Result records of the replay engine: `Book` (positions), `AccountMetrics`, and their
conversion to pandas DataFrames with trader ids and instrument names.

Conversions are built from numpy columns without Python loops (10M+ rows).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

NO_TIME: int = int(np.iinfo(np.int64).min)  # int64 value of NaT: "no time"


@dataclass(frozen=True, eq=False)
class Book:
    """Every replayed position, one row each (equal-length numpy columns).

    `account` is a trader code (or a subject index for strategy books); `close_time` is
    OPEN_END and `close_price` NaN for open positions; `root_trade_id` and
    `parent_trade_id` are -1 for originals, `hop` 0.
    """

    trade_id: np.ndarray  # int64
    account: np.ndarray  # int32
    instrument: np.ndarray  # int32
    side: np.ndarray  # int8
    open_time: np.ndarray  # int64 ns
    close_time: np.ndarray  # int64 ns, OPEN_END when open
    open_price: np.ndarray  # float64
    close_price: np.ndarray  # float64, NaN when open
    amount: np.ndarray  # float64
    leverage: np.ndarray  # float64
    fee: np.ndarray  # float64
    pnl: np.ndarray  # float64
    ret: np.ndarray  # float64
    marked: np.ndarray  # bool
    root_trade_id: np.ndarray  # int64, -1 for originals
    parent_trade_id: np.ndarray  # int64, -1 for originals
    hop: np.ndarray  # int16, 0 for originals

    def __len__(self) -> int:
        return int(self.trade_id.shape[0])

    def take(self, rows: np.ndarray) -> Book:
        """The positions at `rows` (indices or a boolean mask), in that order."""
        return Book(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    @staticmethod
    def concat(books: list[Book]) -> Book:
        """Rows of several books, one after another (no re-sorting)."""
        return Book(
            **{f.name: np.concatenate([getattr(b, f.name) for b in books]) for f in fields(Book)}
        )


@dataclass(frozen=True, eq=False)
class AccountMetrics:
    """Per-account metrics of SPEC §3 (numpy arrays indexed by account)."""

    initial_equity: np.ndarray  # float64
    final_equity: np.ndarray  # float64
    pnl: np.ndarray  # float64
    roi: np.ndarray  # float64
    n_trades: np.ndarray  # int64
    n_social: np.ndarray  # int64
    n_closed: np.ndarray  # int64
    n_open: np.ndarray  # int64
    win_rate: np.ndarray  # float64, NaN when nothing closed
    max_drawdown: np.ndarray  # float64
    sharpe: np.ndarray  # float64, NaN when undefined
    first_time: np.ndarray  # int64 ns, int64 min (NaT) when no position
    last_time: np.ndarray  # int64 ns, int64 min (NaT) when no position

    def __len__(self) -> int:
        return int(self.pnl.shape[0])


def _utc(times: np.ndarray, missing: int | None = None) -> pd.Series:
    """int64 ns -> timestamp[ns, UTC]; `missing` values become NaT."""
    values = np.asarray(times, dtype=np.int64)
    if missing is not None:
        values = np.where(values == missing, NO_TIME, values)
    return pd.Series(values.view("datetime64[ns]"), copy=False).dt.tz_localize("UTC")


def trades_frame(book: Book, trader_ids: np.ndarray, instruments: tuple[str, ...]) -> pd.DataFrame:
    """The book as a DataFrame: trader ids, instrument names (categorical), UTC times.

    Rows keep the book's order (replay books are sorted by (open_time, trade_id)); open
    positions have a null close_time, originals a null root_trade_id / parent_trade_id.
    """
    # one builder for every trades table: the Arrow one that is written to trades.parquet
    from ideaflow.results import _to_frame
    from ideaflow.tables import book_table

    return _to_frame(book_table(book, trader_ids, tuple(instruments)))


def accounts_frame(metrics: AccountMetrics, trader_ids: np.ndarray) -> pd.DataFrame:
    """One row per account (by trader_id; codes are in id order) with SPEC §3 metrics."""
    m = metrics
    data = {
        "trader_id": np.asarray(trader_ids, dtype=np.int64),
        "initial_equity": m.initial_equity,
        "final_equity": m.final_equity,
        "pnl": m.pnl,
        "roi": m.roi,
        "n_trades": m.n_trades,
        "n_social": m.n_social,
        "n_closed": m.n_closed,
        "n_open": m.n_open,
        "win_rate": m.win_rate,
        "max_drawdown": m.max_drawdown,
        "sharpe": m.sharpe,
        "first_time": _utc(m.first_time),
        "last_time": _utc(m.last_time),
    }
    # copy=False: no consolidation of same-dtype columns into 2-D blocks (a full copy)
    return pd.DataFrame(data, copy=False)


def daily_frame(
    account: np.ndarray, day: np.ndarray, pnl: np.ndarray, trader_ids: np.ndarray
) -> pd.DataFrame:
    """Sparse daily PnL: trader_id, day (UTC midnight timestamp), pnl."""
    from ideaflow.results import _to_frame
    from ideaflow.tables import daily_table

    return _to_frame(daily_table(account, day, pnl, trader_ids))
