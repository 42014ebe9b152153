"""Ordering kernels for the replay's inputs: the closes of the event loop in time order.

`close_order_nb` replaces a stable `argsort` of close times (timsort on int64, the
largest part of preparing a replay): a stable bucket sort on the close time, where the
buckets are ranges of time, followed by a short stable sort inside each bucket, both in
parallel. Positions are distinct, so the result equals the stable argsort exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.data import OPEN_END
from ideaflow.kernels.metrics import insertion_sort_pairs_nb, merge_sort_nb

# average positions per bucket; larger buckets (bursts of closes) are merge-sorted
_PER_BUCKET = 32
_INSERTION_MAX = 64


@njit(cache=True, nogil=True, parallel=True)
def close_order_nb(active, open_time, close_time):
    """Positions j in `active` of the roots that close strictly after they open (not at
    OPEN_END), stably sorted by close time (ties keep ascending j)."""
    n_active = active.shape[0]
    m = 0
    lo_t = OPEN_END
    hi_t = 0
    for j in range(n_active):
        r = active[j]
        c = close_time[r]
        if c != OPEN_END and c > open_time[r]:
            m += 1
            lo_t = min(lo_t, c)
            hi_t = max(hi_t, c)
    keys = np.empty(m, dtype=np.int64)
    pos = np.empty(m, dtype=np.int64)
    k = 0
    for j in range(n_active):
        r = active[j]
        c = close_time[r]
        if c != OPEN_END and c > open_time[r]:
            keys[k] = c
            pos[k] = j
            k += 1
    if m <= 1:
        return pos
    # buckets: equal ranges of time, (key - lo) >> shift, about _PER_BUCKET keys each
    span = hi_t - lo_t
    n_target = max(1, m // _PER_BUCKET)
    shift = 0
    while (span >> shift) >= n_target:
        shift += 1
    n_buckets = (span >> shift) + 1
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(m):
        start[((keys[i] - lo_t) >> shift) + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    out_keys = np.empty(m, dtype=np.int64)
    out_pos = np.empty(m, dtype=np.int64)
    for i in range(m):
        b = (keys[i] - lo_t) >> shift
        p = fill[b]
        fill[b] = p + 1
        out_keys[p] = keys[i]
        out_pos[p] = pos[i]
    for b in prange(n_buckets):
        lo = start[b]
        size = start[b + 1] - lo
        if size <= 1:
            continue
        if size <= _INSERTION_MAX:
            insertion_sort_pairs_nb(out_keys[lo:], out_pos[lo:], size)
        else:
            merge_sort_nb(out_keys[lo : lo + size], out_pos[lo : lo + size])
    return out_pos
