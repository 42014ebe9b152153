"""The replay engine: validated arrays in, records out (book, account metrics, daily PnL).

No pandas and no result objects here: `ideaflow.results` turns the records into tables.
"""

from __future__ import annotations

from ideaflow.engine.metrics import (
    EquityIndex,
    account_metrics,
    daily_pnl,
    group_book,
    position_pnl,
)
from ideaflow.engine.replay import ReplayConfig, ReplayResult, day_of, replay

__all__ = [
    "EquityIndex",
    "ReplayConfig",
    "ReplayResult",
    "account_metrics",
    "daily_pnl",
    "day_of",
    "group_book",
    "position_pnl",
    "replay",
]
