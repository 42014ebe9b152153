"""Arrow tables as pandas DataFrames, and the DataFrames of the engine's records.

Every frame goes through the record's Arrow table (`ideaflow.results.tables`), so a
DataFrame has exactly the written file's columns and types.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.records import NEGATIVE, AccountMetrics, Book, DailyPnl, RootedBook, columns_of
from ideaflow.results.tables import accounts_table, book_table, daily_table

# int64 id columns that may be null: pandas' nullable Int64 keeps them integers
_NULLABLE_IDS = tuple(
    c.name for kind in (Book,) for _, c in columns_of(kind) if c.missing is NEGATIVE
)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas, keeping nullable id columns as Int64 (not float with NaN)."""
    frame = table.to_pandas()
    for name in _NULLABLE_IDS:
        if name in frame.columns and table.schema.field(name).type == pa.int64():
            column = table.column(name)
            values = column.fill_null(-1).to_numpy()
            frame[name] = pd.arrays.IntegerArray(values, column.is_null().to_numpy(False))
    return frame


def trades_frame(
    book: Book | RootedBook, trader_ids: np.ndarray, instruments: Sequence[str]
) -> pd.DataFrame:
    """The book as a DataFrame: trader ids, instrument names, UTC times; rows in the
    book's order, nulls where a position is open or an original."""
    return to_frame(book_table(book, trader_ids, instruments))


def accounts_frame(metrics: AccountMetrics, trader_ids: np.ndarray) -> pd.DataFrame:
    """One row per account, keyed by trader id."""
    return to_frame(accounts_table(metrics, trader_ids))


def daily_frame(daily: DailyPnl, trader_ids: np.ndarray) -> pd.DataFrame:
    """Sparse daily PnL: trader_id, day (UTC midnight timestamp), pnl."""
    return to_frame(daily_table(daily, trader_ids))


__all__ = ["accounts_frame", "daily_frame", "to_frame", "trades_frame"]
