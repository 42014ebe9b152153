"""Accounting kernels (docs/contract.md §3): position PnL, marks to prices, parent chains.

PnL of a position is `side * leverage * amount * (exit_price / open_price - 1) - fee`,
where the exit price is the close price of a closed position or the mark of an open one.
An open position whose instrument has no price is unmarked: its PnL is 0 (no fee).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.data import NS_PER_DAY, OPEN_END


@njit(cache=True, nogil=True, parallel=True)
def position_pnl_nb(side, leverage, amount, open_price, exit_price, fee):
    """Element-wise `side * leverage * amount * (exit / open - 1) - fee`."""
    n = side.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        out[i] = side[i] * leverage[i] * amount[i] * (exit_price[i] / open_price[i] - 1.0) - fee[i]
    return out


@njit(cache=True, nogil=True)
def last_price_at_nb(price_time, price, indptr, t):
    """Per instrument: the last price at or before `t` (NaN when there is none)."""
    n_instruments = indptr.shape[0] - 1
    out = np.full(n_instruments, np.nan)
    for k in range(n_instruments):
        lo = indptr[k]
        hi = indptr[k + 1]
        # first bar with time > t, searched in [lo, hi)
        j = lo + np.searchsorted(price_time[lo:hi], t, side="right")
        if j > lo:
            out[k] = price[j - 1]
    return out


@njit(cache=True, nogil=True)
def first_price_day_nb(price_time, indptr):
    """Per instrument: the UTC day of its first price bar (int64 max when it has none)."""
    n_instruments = indptr.shape[0] - 1
    out = np.full(n_instruments, OPEN_END, dtype=np.int64)
    for k in range(n_instruments):
        if indptr[k + 1] > indptr[k]:
            out[k] = price_time[indptr[k]] // NS_PER_DAY
    return out


@njit(cache=True, nogil=True)
def daily_price_table_nb(price_time, price, indptr, day0, n_days):
    """Per instrument and UTC day `day0 + j`: the last price at or before that day's end.

    Dense over instruments x days (not accounts): NaN before an instrument's first bar.
    """
    n_instruments = indptr.shape[0] - 1
    table = np.full((n_instruments, n_days), np.nan)
    for k in range(n_instruments):
        j = indptr[k]
        hi = indptr[k + 1]
        last = np.nan
        for d in range(n_days):
            # day end = the last nanosecond of the day: bars strictly before the next day
            day_stop = (day0 + d + 1) * NS_PER_DAY
            while j < hi and price_time[j] < day_stop:
                last = price[j]
                j += 1
            table[k, d] = last
    return table


@njit(cache=True, nogil=True, parallel=True)
def book_pnl_nb(
    side, leverage, amount, open_price, close_price, fee, close_time, instrument, marks
):
    """PnL, return, mark flag and exit price of logged positions.

    `marks[instrument]` is the price at the end of the data (NaN: no prices, unmarked).
    Returns (pnl, ret, marked, exit_price) where exit_price is NaN for unmarked positions.
    """
    n = side.shape[0]
    pnl = np.empty(n, dtype=np.float64)
    ret = np.empty(n, dtype=np.float64)
    marked = np.zeros(n, dtype=np.bool_)
    exit_price = np.empty(n, dtype=np.float64)
    for i in prange(n):
        if close_time[i] != OPEN_END:
            px = close_price[i]
        else:
            px = marks[instrument[i]]
            marked[i] = not np.isnan(px)
        exit_price[i] = px
        if np.isnan(px):
            pnl[i] = 0.0
        else:
            pnl[i] = side[i] * leverage[i] * amount[i] * (px / open_price[i] - 1.0) - fee[i]
        ret[i] = pnl[i] / amount[i]
    return pnl, ret, marked, exit_price


@njit(cache=True, nogil=True, parallel=True)
def copy_rates_nb(side, leverage, amount, open_price, fee, exit_price):
    """Per root: whether it has an exit price (`valued`), its gross return
    `side * leverage * (exit / open - 1)` and its PnL per unit of amount net of the fee,
    `gross - fee / amount`, which every copy of it shares (both 0 when not valued).
    """
    n = side.shape[0]
    valued = np.empty(n, dtype=np.bool_)
    gross = np.empty(n, dtype=np.float64)
    rate = np.empty(n, dtype=np.float64)
    for i in prange(n):
        v = not np.isnan(exit_price[i])
        valued[i] = v
        if v:
            g = side[i] * leverage[i] * (exit_price[i] / open_price[i] - 1.0)
            gross[i] = g
            rate[i] = g - fee[i] / amount[i]
        else:
            gross[i] = 0.0
            rate[i] = 0.0
    return valued, gross, rate


@njit(cache=True, nogil=True)
def chain_roots_nb(parent):
    """Root row and hop count of every row of a parent forest (parent = row, -1 = root).

    Walks each chain once: rows whose root is known stop the walk (memoised), so the
    total work is linear in the number of rows.
    """
    n = parent.shape[0]
    root = np.full(n, -1, dtype=np.int64)
    hop = np.full(n, -1, dtype=np.int16)
    stack = np.empty(n, dtype=np.int64)
    for i in range(n):
        if hop[i] >= 0:
            continue
        depth = 0
        j = i
        while parent[j] >= 0 and hop[j] < 0:
            stack[depth] = j
            depth += 1
            j = parent[j]
        if hop[j] < 0:  # j is an original
            root[j] = j
            hop[j] = 0
        r = root[j]
        h = hop[j]
        while depth > 0:
            depth -= 1
            k = stack[depth]
            h += 1
            root[k] = r
            hop[k] = h
    return root, hop
