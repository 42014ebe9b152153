"""Result records as Arrow tables: the schemas of `trades.parquet`, `accounts.parquet` and
`daily.parquet`, built from the engine's numpy columns without going through pandas.

Arrow is the write path (zero-copy from numpy for most columns); pandas DataFrames are
made from these tables only when a user asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

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
    return _book_rows(book, 0, len(book), trader_ids, _dictionary(instruments))


def book_chunks(
    book: Book, trader_ids: np.ndarray, instruments: tuple[str, ...], rows: int
) -> Iterator[pa.Table]:
    """`book_table` in consecutive chunks of `rows` rows (the last may be shorter; one
    empty chunk for an empty book), each built when asked for.

    For writing a book without holding its whole Arrow table (the gathered trader ids
    alone are 8 bytes per position).
    """
    if rows < 1:
        raise ValueError(f"rows: expected an integer >= 1; found {rows}")
    dictionary = _dictionary(instruments)
    n = len(book)
    for start in range(0, max(n, 1), rows):
        yield _book_rows(book, start, min(start + rows, n), trader_ids, dictionary)


def _dictionary(instruments: tuple[str, ...]) -> pa.Array:
    return pa.array(list(instruments), type=pa.string())


def _book_rows(
    book: Book,
    start: int,
    stop: int,
    trader_ids: np.ndarray,
    dictionary: pa.Array,
    names: Sequence[str] | None = None,
) -> pa.Table:
    """Rows [start, stop) of the book as a TRADES_SCHEMA table (or its columns `names`)."""
    rows = slice(start, stop)

    def close_price() -> pa.Array:
        # the book's close_price is already NaN where the position is open: only the
        # validity bitmap is new (no 8-byte-per-row copy of the column)
        is_open = book.close_time[rows] == OPEN_END
        values = np.ascontiguousarray(book.close_price[rows], dtype=np.float64)
        return pa.array(values, mask=is_open if is_open.any() else None)

    build: dict[str, Callable[[], pa.Array]] = {
        "trade_id": lambda: pa.array(np.ascontiguousarray(book.trade_id[rows], dtype=np.int64)),
        "trader_id": lambda: pa.array(np.asarray(trader_ids, dtype=np.int64)[book.account[rows]]),
        "instrument": lambda: pa.DictionaryArray.from_arrays(
            pa.array(np.ascontiguousarray(book.instrument[rows], dtype=np.int32)), dictionary
        ),
        "side": lambda: pa.array(np.ascontiguousarray(book.side[rows], dtype=np.int8)),
        "open_time": lambda: _times(book.open_time[rows], OPEN_END),
        "close_time": lambda: _times(book.close_time[rows], OPEN_END),
        "open_price": lambda: _floats(book.open_price[rows]),
        "close_price": close_price,
        "amount": lambda: _floats(book.amount[rows]),
        "leverage": lambda: _floats(book.leverage[rows]),
        "fee": lambda: _floats(book.fee[rows]),
        "pnl": lambda: _floats(book.pnl[rows]),
        "ret": lambda: _floats(book.ret[rows]),
        "marked": lambda: pa.array(np.ascontiguousarray(book.marked[rows], dtype=np.bool_)),
        "root_trade_id": lambda: _ids(book.root_trade_id[rows]),
        "parent_trade_id": lambda: _ids(book.parent_trade_id[rows]),
        "hop": lambda: pa.array(np.ascontiguousarray(book.hop[rows], dtype=np.int16)),
    }
    if names is None:
        return pa.Table.from_arrays([build[n]() for n in build], schema=TRADES_SCHEMA)
    schema = pa.schema([TRADES_SCHEMA.field(n) for n in names])
    return pa.Table.from_arrays([build[n]() for n in names], schema=schema)


class DeferredBookTable:
    """A book's `book_table`, built when first called; `select` builds only some columns.

    Lets a result hold a platform-size book without its Arrow table (8 bytes per position
    for the gathered trader ids alone) until someone asks for the table, and compute the
    headline from the three columns it reads.
    """

    def __init__(self, book: Book, trader_ids: np.ndarray, instruments: tuple[str, ...]):
        self.book = book
        self.trader_ids = trader_ids
        self.instruments = instruments

    def __call__(self) -> pa.Table:
        return book_table(self.book, self.trader_ids, self.instruments)

    @property
    def num_rows(self) -> int:
        """Rows of the table (one per position), without building it."""
        return len(self.book)

    def select(self, names: Sequence[str]) -> pa.Table:
        """Only the columns `names` (TRADES_SCHEMA fields), in that order."""
        unknown = [n for n in names if n not in TRADES_SCHEMA.names]
        if unknown:
            raise ValueError(f"names: expected trades columns; found {', '.join(unknown)}")
        dictionary = _dictionary(self.instruments)
        return _book_rows(self.book, 0, len(self.book), self.trader_ids, dictionary, names)


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
