"""Idea flow (docs/contract.md §6): how much of a trader's activity echoes its leaders' recent trades.

Definition used here. The *active leaders* of u at t are the leaders of follows with
follower u and start_time <= t < end_time. A trade of u opened at t is *matched* when it
is an explicit copy (it has a parent), or when one of u's leaders active at t opened a
trade on the same instrument with the same side at a time in [t - window, t]. The idea
flow of u is the share of u's trades (originals and copies) that are matched: 0 for an
isolated trader, 1 for a pure copier, NaN for a trader without trades.

The kernel walks u's trades and, for each follow of u active at the trade's time, binary
searches the leader's trades sorted by (instrument, side, open_time): O(trades x active
follows x log trades), memory O(trades + follows).
"""

from __future__ import annotations

import numpy as np

from ideaflow.analytics._graph import follows_by_follower
from ideaflow.data import NS_PER_HOUR, Dataset
from ideaflow.errors import ParameterError
from ideaflow.kernels.analytics import idea_flow_match_nb


def matched_trades(ds: Dataset, *, window_hours: float = 24.0) -> np.ndarray:
    """int8 flag per trade (in `ds.trades` order): 1 when the trade is matched (see module)."""
    if not np.isfinite(window_hours) or window_hours < 0:
        raise ParameterError(f"window_hours: expected a finite number >= 0; found {window_hours!r}")
    tr = ds.trades
    n_traders = ds.n_traders
    key = tr.instrument.astype(np.int64) * 2 + (tr.side > 0)
    # trades are stored by open_time, so a stable sort on (trader, key) alone gives the
    # (trader, key, open_time) order the kernel searches
    group = tr.trader.astype(np.int64) * (2 * max(ds.n_instruments, 1)) + key
    sorted_rows = np.argsort(group, kind="stable").astype(np.int64)
    trader_indptr = np.zeros(n_traders + 1, dtype=np.int64)
    np.cumsum(np.bincount(tr.trader, minlength=n_traders), out=trader_indptr[1:])
    order, follower_indptr = follows_by_follower(ds)
    f = ds.follows
    return idea_flow_match_nb(
        tr.trader.astype(np.int64),
        key,
        tr.open_time,
        tr.parent.astype(np.int64),
        sorted_rows,
        trader_indptr,
        f.leader[order].astype(np.int64),
        f.start_time[order],
        f.end_time[order],
        follower_indptr,
        np.int64(round(window_hours * NS_PER_HOUR)),
    )


def idea_flow(ds: Dataset, *, window_hours: float = 24.0) -> np.ndarray:
    """Idea flow per trader code (float64, NaN for traders without trades)."""
    matched = matched_trades(ds, window_hours=window_hours)
    n = np.bincount(ds.trades.trader, minlength=ds.n_traders).astype(np.float64)
    hits = np.bincount(ds.trades.trader, weights=matched, minlength=ds.n_traders)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, hits / np.maximum(n, 1.0), np.nan)
