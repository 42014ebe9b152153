"""Numba kernel of per-subject metrics over shared position records (exposure matching).

Subjects that share an account (copy strategies) hold its positions times a factor of
their own. Metrics of an account whose positions are all multiplied by `c` equal the
metrics of the unscaled account started with `initial_equity / c`, money amounts then
multiplied by `c` (the equity path is `c` times the unscaled one: drawdowns and daily
returns are ratios). So each subject's metrics come from the account's records, with no
copy of them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ideaflow.kernels.metrics import account_metrics_nb


@njit(cache=True, nogil=True)
def ranged_account_metrics_nb(starts, ends, records, initial_equity, annualization, marks):
    """`account_metrics_nb` of the records `[starts[i], ends[i])` for each i (ranges may
    repeat), with initial equity `initial_equity[i]`. Same 11 outputs."""
    n = starts.shape[0]
    final = np.empty(n, dtype=np.float64)
    pnl = np.empty(n, dtype=np.float64)
    n_trades = np.zeros(n, dtype=np.int64)
    n_social = np.zeros(n, dtype=np.int64)
    n_closed = np.zeros(n, dtype=np.int64)
    n_open = np.zeros(n, dtype=np.int64)
    win = np.full(n, np.nan)
    mdd = np.zeros(n, dtype=np.float64)
    sharpe = np.full(n, np.nan)
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    indptr = np.zeros(2, dtype=np.int64)
    equity = np.zeros(1, dtype=np.float64)
    for i in range(n):
        indptr[0] = starts[i]
        indptr[1] = ends[i]
        equity[0] = initial_equity[i]
        out = account_metrics_nb(indptr, records, equity, annualization, marks)
        final[i] = out[0][0]
        pnl[i] = out[1][0]
        n_trades[i] = out[2][0]
        n_social[i] = out[3][0]
        n_closed[i] = out[4][0]
        n_open[i] = out[5][0]
        win[i] = out[6][0]
        mdd[i] = out[7][0]
        sharpe[i] = out[8][0]
        first[i] = out[9][0]
        last[i] = out[10][0]
    return final, pnl, n_trades, n_social, n_closed, n_open, win, mdd, sharpe, first, last
