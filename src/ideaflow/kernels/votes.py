"""Numba kernel of the evaluator vote on an idea (docs/contract.md §5, `diverse` / `echo`).

Positions of every trader are sorted by (trader, instrument, open_time, trade_id), with a
CSR index per trader and, per row, the running maximum of close_time within its
(trader, instrument) run. For an idea (instrument i, side s, time t) and one evaluator:

1. binary-search the evaluator's rows for instrument i, then for open_time < t
   ("before t" is strict, so a copy of the idea opened at t itself never votes);
2. walk back from the latest such position to the first that *counts*: it was opened
   within the window (`open_time >= t - window`) or is still held at t
   (`close_time > t`: a position closed exactly at t is gone, as closes come first at
   equal timestamps, docs/contract.md §3). The most recent counting position decides the vote:
   +1 for the same side, -1 for the opposite side; none counts -> 0.

The walk stops as soon as the running maximum of close times shows that no earlier
position is still held, so a query costs two binary searches plus a few steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.kernels.metrics import lower_bound_nb


@njit(cache=True, nogil=True)
def single_vote_nb(
    evaluator,
    instrument,
    side,
    time,
    window_ns,
    trader_indptr,
    pos_instrument,
    pos_open,
    pos_close,
    pos_side,
    pos_close_max,
):
    """Vote (+1, -1 or 0) of one evaluator on one idea."""
    start = trader_indptr[evaluator]
    stop = trader_indptr[evaluator + 1]
    lo = lower_bound_nb(pos_instrument, start, stop, instrument)
    hi = lower_bound_nb(pos_instrument, lo, stop, instrument + 1)
    j = lower_bound_nb(pos_open, lo, hi, time) - 1
    since = time - window_ns
    while j >= lo:
        if pos_open[j] >= since or pos_close[j] > time:
            return 1 if pos_side[j] == side else -1
        if pos_close_max[j] <= time:
            return 0
        j -= 1
    return 0


@njit(cache=True, nogil=True, parallel=True)
def idea_votes_nb(
    idea_instrument,
    idea_side,
    idea_time,
    idea_set,
    sets,
    window_ns,
    trader_indptr,
    pos_instrument,
    pos_open,
    pos_close,
    pos_side,
    pos_close_max,
):
    """Support (sum of votes) and number of evaluators of each idea.

    `sets` is (n_sets, k) int32 of evaluator trader codes padded with -1; `idea_set[n]` is
    the row of `sets` in force for idea n (-1 = no evaluators).
    """
    n = idea_time.shape[0]
    support = np.zeros(n, dtype=np.int32)
    n_evaluators = np.zeros(n, dtype=np.int32)
    width = sets.shape[1]
    for i in prange(n):
        row = idea_set[i]
        if row < 0:
            continue
        total = 0
        count = 0
        for m in range(width):
            evaluator = sets[row, m]
            if evaluator < 0:
                continue
            count += 1
            total += single_vote_nb(
                evaluator,
                idea_instrument[i],
                idea_side[i],
                idea_time[i],
                window_ns,
                trader_indptr,
                pos_instrument,
                pos_open,
                pos_close,
                pos_side,
                pos_close_max,
            )
        support[i] = total
        n_evaluators[i] = count
    return support, n_evaluators


@njit(cache=True, nogil=True)
def running_close_max_nb(trader, instrument, close_time):
    """Running max of close_time within each (trader, instrument) run of sorted positions."""
    n = close_time.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        if i > 0 and trader[i] == trader[i - 1] and instrument[i] == instrument[i - 1]:
            out[i] = max(out[i - 1], close_time[i])
        else:
            out[i] = close_time[i]
    return out
