"""The in-memory dataset: validated numpy columns, dense id codes, canonical sort orders.

Everything downstream of `ideaflow.io` works on these arrays, never on pandas or Arrow.

Conventions (shared by every kernel):
- timestamps are int64 nanoseconds since the Unix epoch, UTC;
- a missing end (`trades.close_time`, `follows.end_time`) is `OPEN_END` (int64 max);
- traders are dense int32 codes: `Dataset.trader_ids[code]` is the original int64 id, and
  `trader_ids` is sorted ascending, so comparing codes compares ids;
- instruments are dense int32 codes into the sorted `Dataset.instruments`;
- trades are sorted by (open_time, trade_id); `parent` is a row index into that order
  (-1 for an original trade);
- follows are sorted by (leader, start_time, follower); `leader_indptr` is their CSR index;
- prices are sorted by (instrument, time); `indptr` is their CSR index per instrument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

OPEN_END: int = int(np.iinfo(np.int64).max)  # a position or follow that never ended
NO_TIME: int = int(np.iinfo(np.int64).min)  # int64 value of NaT: "no time" (written as null)
NS_PER_HOUR: int = 3_600 * 1_000_000_000
NS_PER_DAY: int = 24 * NS_PER_HOUR
DEFAULT_INITIAL_EQUITY: float = 10_000.0
# daily Sharpe ratios are annualised by sqrt(days per year); FX trades every calendar day
DEFAULT_ANNUALIZATION: float = math.sqrt(365.0)


@dataclass(frozen=True, eq=False)
class TradeArrays:
    """Columns of the `trades` table, sorted by (open_time, trade_id)."""

    trade_id: np.ndarray  # int64
    trader: np.ndarray  # int32 dense trader code
    instrument: np.ndarray  # int32 dense instrument code
    side: np.ndarray  # int8, +1 / -1
    open_time: np.ndarray  # int64 ns UTC
    close_time: np.ndarray  # int64 ns UTC, OPEN_END when still open
    open_price: np.ndarray  # float64
    close_price: np.ndarray  # float64, NaN when still open
    amount: np.ndarray  # float64
    leverage: np.ndarray  # float64 (1 when the column is absent)
    fee: np.ndarray  # float64 (0 when the column is absent)
    parent: np.ndarray  # int64 row index of the parent trade, -1 for an original

    def __len__(self) -> int:
        return int(self.trade_id.shape[0])

    @property
    def is_original(self) -> np.ndarray:
        return self.parent < 0

    @property
    def is_closed(self) -> np.ndarray:
        return self.close_time != OPEN_END


@dataclass(frozen=True, eq=False)
class FollowArrays:
    """Columns of the `follows` table, sorted by (leader, start_time, follower)."""

    follower: np.ndarray  # int32 dense trader code
    leader: np.ndarray  # int32 dense trader code
    start_time: np.ndarray  # int64 ns UTC
    end_time: np.ndarray  # int64 ns UTC, OPEN_END when never ended
    allocation: np.ndarray  # float64
    leader_indptr: np.ndarray  # int64, len n_traders + 1: rows of leader c are [p[c], p[c+1])

    def __len__(self) -> int:
        return int(self.follower.shape[0])


@dataclass(frozen=True, eq=False)
class PriceArrays:
    """Columns of the `prices` table, sorted by (instrument, time)."""

    instrument: np.ndarray  # int32 dense instrument code
    time: np.ndarray  # int64 ns UTC
    price: np.ndarray  # float64
    indptr: np.ndarray  # int64, len n_instruments + 1

    def __len__(self) -> int:
        return int(self.time.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset (docs/contract.md §2) as numpy arrays.

    Build it with `ideaflow.load_dataset(path)` or `Dataset.from_frames(...)`.
    """

    trader_ids: np.ndarray  # int64 sorted unique ids of every trader seen in any table
    instruments: tuple[str, ...]  # sorted unique instrument names
    trades: TradeArrays
    follows: FollowArrays
    prices: PriceArrays | None
    initial_equity: np.ndarray  # float64 per trader code
    data_end: int  # int64 ns: the last timestamp of the data (trades and prices)
    meta: dict[str, Any] = field(default_factory=dict)  # source path, rows read, quarantined

    @property
    def n_traders(self) -> int:
        return int(self.trader_ids.shape[0])

    @property
    def n_instruments(self) -> int:
        return len(self.instruments)

    def trader_code(self, ids: np.ndarray | int) -> np.ndarray:
        """Dense codes of the given trader ids (every id must be present)."""
        ids = np.asarray(ids, dtype=np.int64)
        codes = np.searchsorted(self.trader_ids, ids)
        if np.any(codes >= self.trader_ids.shape[0]) or np.any(
            self.trader_ids[np.minimum(codes, self.trader_ids.shape[0] - 1)] != ids
        ):
            raise KeyError("unknown trader id")
        return codes.astype(np.int32)
