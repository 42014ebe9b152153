"""Record kinds as Arrow tables, derived from their `Column` specs (`ideaflow.records`).

Arrow is the write path (zero-copy from numpy for most columns); pandas DataFrames are
made from these tables only when a user asks for them (`ideaflow.results.frames`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ideaflow.data import NS_PER_DAY, OPEN_END
from ideaflow.records import (
    ACCOUNT_KEY,
    DAY,
    INSTRUMENT_CODE,
    PLAIN,
    TIME,
    TRADER,
    TRADER_LIST,
    UTC_NS,
    AccountMetrics,
    Book,
    Column,
    DailyPnl,
    DecisionRecord,
    RootedBook,
    columns_of,
    kind_of,
    schema_of,
)

TRADES_SCHEMA = schema_of(Book)
ACCOUNTS_SCHEMA = schema_of(AccountMetrics, key=[ACCOUNT_KEY])
DAILY_SCHEMA = schema_of(DailyPnl)
DECISIONS_SCHEMA = schema_of(DecisionRecord)


@dataclass(frozen=True)
class Names:
    """What codes stand for: trader (or account) codes -> ids, instrument codes -> names."""

    trader_ids: np.ndarray  # int64 id per code
    instruments: pa.Array  # string dictionary of instrument names

    @staticmethod
    def of(trader_ids: np.ndarray, instruments: Sequence[str] = ()) -> Names:
        return Names(
            np.asarray(trader_ids, dtype=np.int64), pa.array(list(instruments), type=pa.string())
        )


def encode(col: Column, values: np.ndarray, names: Names) -> pa.Array:
    """One numpy column as its table column."""
    if col.encode == TRADER_LIST:
        return _trader_lists(values, names.trader_ids)
    values = np.ascontiguousarray(values, dtype=col.dtype)
    mask = col.null_mask(values)
    if col.encode == PLAIN:
        return pa.array(values, type=col.arrow, mask=mask)
    if col.encode == TIME:
        return pa.array(values, type=pa.int64(), mask=mask).cast(col.arrow)
    if col.encode == DAY:
        ns = np.multiply(values, NS_PER_DAY, dtype=np.int64)
        return pa.array(ns, type=pa.int64()).cast(UTC_NS)
    if col.encode == TRADER:
        return pa.array(names.trader_ids[values], type=col.arrow)
    if col.encode == INSTRUMENT_CODE:
        return pa.DictionaryArray.from_arrays(pa.array(values), names.instruments)
    raise ValueError(f"{col.name}: unknown encoding {col.encode!r}")  # pragma: no cover


def _trader_lists(codes: np.ndarray, trader_ids: np.ndarray) -> pa.Array:
    """(rows, k) trader codes padded with -1 -> one list of trader ids per row."""
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[:, None]
    valid = codes >= 0
    offsets = np.zeros(codes.shape[0] + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1), out=offsets[1:])
    values = trader_ids[codes[valid]].astype(np.int64)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.int64()))


def record_table(
    record: Any,
    names: Names,
    *,
    key: Sequence[tuple[pa.Field, pa.Array]] = (),
    rows: slice = slice(None),
    only: Sequence[str] | None = None,
) -> pa.Table:
    """Rows `rows` of a record as its table: the `key` columns first, then every field
    (fields left as None are not written), or only the table columns named in `only`.

    Each column is read for `rows` alone (`record.column`): a `RootedBook` gathers its
    root columns for those rows only."""
    fields_: list[pa.Field] = [f for f, _ in key]
    arrays: list[pa.Array] = [a for _, a in key]
    for field_name, col in columns_of(kind_of(record)):
        if only is not None and col.name not in only:
            continue
        values = record.column(field_name, rows)
        if values is None:
            continue
        fields_.append(pa.field(col.name, col.arrow))
        arrays.append(encode(col, values, names))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields_))
    return table if only is None else table.select(list(only))


def book_table(
    book: Book | RootedBook, trader_ids: np.ndarray, instruments: Sequence[str]
) -> pa.Table:
    """Every position: trader ids, instrument names, UTC times; nulls for open/original."""
    return record_table(book, Names.of(trader_ids, instruments))


def book_chunks(
    book: Book | RootedBook, trader_ids: np.ndarray, instruments: Sequence[str], rows: int
) -> Iterator[pa.Table]:
    """`book_table` in consecutive chunks of `rows` rows (the last may be shorter; one
    empty chunk for an empty book), each built when asked for.

    For writing a book without holding its whole Arrow table (the gathered trader ids
    alone are 8 bytes per position); a `RootedBook`'s shared columns are gathered one
    chunk at a time.
    """
    if rows < 1:
        raise ValueError(f"rows: expected an integer >= 1; found {rows}")
    names = Names.of(trader_ids, instruments)
    n = len(book)
    for start in range(0, max(n, 1), rows):
        yield record_table(book, names, rows=slice(start, min(start + rows, n)))


class DeferredBookTable:
    """A book's `book_table`, built when first called; `select` builds only some columns.

    Lets a result hold a platform-size book without its Arrow table (8 bytes per position
    for the gathered trader ids alone) until someone asks for the table, and compute the
    headline from the three columns it reads.
    """

    def __init__(self, book: Book | RootedBook, trader_ids: np.ndarray, instruments: Sequence[str]):
        self.book = book
        self.names = Names.of(trader_ids, instruments)

    def __call__(self) -> pa.Table:
        return record_table(self.book, self.names)

    @property
    def num_rows(self) -> int:
        """Rows of the table (one per position), without building it."""
        return len(self.book)

    def closed_returns(self) -> dict[str, np.ndarray]:
        """The returns of the closed originals ("single") and closed copies ("social"),
        in book order, as the table's `ret` column holds them: read from the book, so
        neither the table nor a whole-book column is built."""
        book = self.book
        if isinstance(book, RootedBook):
            closed = (book.roots["close_time"] != OPEN_END)[book.root_row]
        else:
            closed = book.close_time != OPEN_END
        social = book.column("parent_trade_id") >= 0
        return {
            "single": book.column("ret", ~social & closed),
            "social": book.column("ret", social & closed),
        }

    def select(self, names: Sequence[str]) -> pa.Table:
        """Only the columns `names` (TRADES_SCHEMA fields), in that order."""
        unknown = [n for n in names if n not in TRADES_SCHEMA.names]
        if unknown:
            raise ValueError(f"names: expected trades columns; found {', '.join(unknown)}")
        return record_table(self.book, self.names, only=names)


def accounts_table(metrics: AccountMetrics, trader_ids: np.ndarray) -> pa.Table:
    """One row per account, keyed by its trader id (accounts are in id order)."""
    ids = pa.array(np.asarray(trader_ids, dtype=np.int64))
    return record_table(metrics, Names.of(trader_ids), key=[(ACCOUNT_KEY, ids)])


def daily_table(daily: DailyPnl, trader_ids: np.ndarray) -> pa.Table:
    """Sparse daily PnL: trader_id, day (UTC midnight), pnl; sorted by (trader, day)."""
    return record_table(daily, Names.of(trader_ids))


def rows_table(kind: type, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows given as dicts (one key per field of the record kind, no other) as the kind's
    table: each field's values in its dtype and Arrow type."""
    names = [name for name, _ in columns_of(kind)]
    for row in rows:
        if sorted(row) != sorted(names):
            extra, missing = sorted(set(row) - set(names)), sorted(set(names) - set(row))
            raise ValueError(f"{kind.__name__} rows: extra {extra}, missing {missing}")
    record = kind(
        **{n: np.array([r[n] for r in rows], dtype=col.dtype) for n, col in columns_of(kind)}
    )
    return record_table(record, Names.of(np.zeros(0, dtype=np.int64)))


def decisions_table(
    decisions: DecisionRecord, trader_ids: np.ndarray, instruments: Sequence[str]
) -> pa.Table:
    """One row per decision (`leader_id` only where the record has leaders)."""
    return record_table(decisions, Names.of(trader_ids, instruments))
