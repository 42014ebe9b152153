"""Result records as Arrow tables: the schemas of `trades.parquet`, `accounts.parquet` and
`daily.parquet`, built from the engine's numpy columns without going through pandas.

Arrow is the write path (zero-copy from numpy for most columns); pandas DataFrames are
made from these tables only when a user asks for them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ideaflow.book import AccountMetrics, Book
from ideaflow.data import NS_PER_DAY, OPEN_END

UTC_NS = pa.timestamp("ns", tz="UTC")
NO_TIME = int(np.iinfo(np.int64).min)

TRADES_SCHEMA = pa.schema(
    [
        ("trade_id", pa.int64()),
        ("trader_id", pa.int64()),
        ("instrument", pa.dictionary(pa.int32(), pa.string())),
        ("side", pa.int8()),
        ("open_time", UTC_NS),
        ("close_time", UTC_NS),
        ("open_price", pa.float64()),
        ("close_price", pa.float64()),
        ("amount", pa.float64()),
        ("leverage", pa.float64()),
        ("fee", pa.float64()),
        ("pnl", pa.float64()),
        ("ret", pa.float64()),
        ("marked", pa.bool_()),
        ("root_trade_id", pa.int64()),
        ("parent_trade_id", pa.int64()),
        ("hop", pa.int16()),
    ]
)

ACCOUNTS_SCHEMA = pa.schema(
    [
        ("trader_id", pa.int64()),
        ("initial_equity", pa.float64()),
        ("final_equity", pa.float64()),
        ("pnl", pa.float64()),
        ("roi", pa.float64()),
        ("n_trades", pa.int64()),
        ("n_social", pa.int64()),
        ("n_closed", pa.int64()),
        ("n_open", pa.int64()),
        ("win_rate", pa.float64()),
        ("max_drawdown", pa.float64()),
        ("sharpe", pa.float64()),
        ("first_time", UTC_NS),
        ("last_time", UTC_NS),
    ]
)

DAILY_SCHEMA = pa.schema([("trader_id", pa.int64()), ("day", UTC_NS), ("pnl", pa.float64())])


def _times(values: np.ndarray, missing: int) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    mask = values == missing
    return pa.array(values, type=pa.int64(), mask=mask if mask.any() else None).cast(UTC_NS)


def _ids(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    mask = values < 0
    return pa.array(values, type=pa.int64(), mask=mask if mask.any() else None)


def _floats(values: np.ndarray) -> pa.Array:
    """float64 as is (NaN stays NaN, as in the engine's arrays)."""
    return pa.array(np.ascontiguousarray(values, dtype=np.float64), type=pa.float64())


def book_table(book: Book, trader_ids: np.ndarray, instruments: tuple[str, ...]) -> pa.Table:
    """Every position: trader ids, instrument names, UTC times; nulls for open/original."""
    is_open = book.close_time == OPEN_END
    instrument = pa.DictionaryArray.from_arrays(
        pa.array(np.ascontiguousarray(book.instrument, dtype=np.int32)),
        pa.array(list(instruments), type=pa.string()),
    )
    # the book's close_price is already NaN where the position is open: only the
    # validity bitmap is new (no 8-byte-per-row copy of the column)
    close_price_arr = pa.array(
        np.ascontiguousarray(book.close_price, dtype=np.float64),
        mask=is_open if is_open.any() else None,
    )
    columns = [
        pa.array(np.ascontiguousarray(book.trade_id, dtype=np.int64)),
        pa.array(np.asarray(trader_ids, dtype=np.int64)[book.account]),
        instrument,
        pa.array(np.ascontiguousarray(book.side, dtype=np.int8)),
        _times(book.open_time, OPEN_END),
        _times(book.close_time, OPEN_END),
        _floats(book.open_price),
        close_price_arr,
        _floats(book.amount),
        _floats(book.leverage),
        _floats(book.fee),
        _floats(book.pnl),
        _floats(book.ret),
        pa.array(np.ascontiguousarray(book.marked, dtype=np.bool_)),
        _ids(book.root_trade_id),
        _ids(book.parent_trade_id),
        pa.array(np.ascontiguousarray(book.hop, dtype=np.int16)),
    ]
    return pa.Table.from_arrays(columns, schema=TRADES_SCHEMA)


def accounts_table(metrics: AccountMetrics, trader_ids: np.ndarray) -> pa.Table:
    """One row per account, ordered by trader id."""
    m = metrics
    columns = [
        pa.array(np.asarray(trader_ids, dtype=np.int64)),
        _floats(m.initial_equity),
        _floats(m.final_equity),
        _floats(m.pnl),
        _floats(m.roi),
        pa.array(np.asarray(m.n_trades, dtype=np.int64)),
        pa.array(np.asarray(m.n_social, dtype=np.int64)),
        pa.array(np.asarray(m.n_closed, dtype=np.int64)),
        pa.array(np.asarray(m.n_open, dtype=np.int64)),
        _floats(m.win_rate),
        _floats(m.max_drawdown),
        _floats(m.sharpe),
        _times(m.first_time, NO_TIME),
        _times(m.last_time, NO_TIME),
    ]
    return pa.Table.from_arrays(columns, schema=ACCOUNTS_SCHEMA)


def daily_table(
    account: np.ndarray, day: np.ndarray, pnl: np.ndarray, trader_ids: np.ndarray
) -> pa.Table:
    """Sparse daily PnL: trader_id, day (UTC midnight), pnl; sorted by (trader, day)."""
    columns = [
        pa.array(np.asarray(trader_ids, dtype=np.int64)[account]),
        pa.array(np.asarray(day, dtype=np.int64) * NS_PER_DAY).cast(UTC_NS),
        _floats(pnl),
    ]
    return pa.Table.from_arrays(columns, schema=DAILY_SCHEMA)
