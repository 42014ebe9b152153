"""Numba kernels over the copy graph (parent chains) and the follower graph (intervals).

Used by `ideaflow.io` to validate and quarantine in linear time:
- `parent_chains_nb`: depth of every trade's parent chain, and which trades sit on a cycle;
- `taint_descendants_nb`: which trades descend (transitively) from a flagged trade;
- `overlapping_intervals_nb`: which intervals overlap another one of the same group.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def parent_chains_nb(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resolve every parent chain once (memoised walk, O(n) total).

    `parent[i]` is the row of the parent of row i, or -1 for an original. Returns
    `depth` (hops from row i up to its original; -1 when the chain never reaches an
    original because it runs into a cycle) and `on_cycle` (row i belongs to a cycle).
    """
    n = parent.shape[0]
    depth = np.full(n, -2, dtype=np.int64)  # -2 = not visited yet
    on_path = np.zeros(n, dtype=np.bool_)
    on_cycle = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for start in range(n):
        if depth[start] != -2:
            continue
        top = 0
        node = start
        # walk up until an original, an already resolved row, or a row of this walk
        while node >= 0 and depth[node] == -2 and not on_path[node]:
            on_path[node] = True
            stack[top] = node
            top += 1
            node = parent[node]
        if node >= 0 and on_path[node]:
            # the walk came back to itself: rows from `node` to the top form a cycle
            k = top - 1
            while True:
                member = stack[k]
                on_cycle[member] = True
                depth[member] = -1
                on_path[member] = False
                if member == node:
                    break
                k -= 1
            top = k
        # unwind the rest of the walk, nearest to the resolved end first
        for k in range(top - 1, -1, -1):
            member = stack[k]
            up = parent[member]
            if up < 0:
                depth[member] = 0
            elif depth[up] < 0:
                depth[member] = -1
            else:
                depth[member] = depth[up] + 1
            on_path[member] = False
    return depth, on_cycle


@njit(cache=True, nogil=True)
def taint_descendants_nb(parent: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Rows that are not flagged themselves but have a flagged ancestor.

    The caller flags cycle members; a cycle without a flagged row is treated as flagged
    (a walk that meets its own path stops there), so the kernel always terminates.
    """
    n = parent.shape[0]
    state = np.zeros(n, dtype=np.int8)  # 0 unknown, 1 clean, 2 tainted or flagged, 3 on path
    for i in range(n):
        if flagged[i]:
            state[i] = 2
    stack = np.empty(n, dtype=np.int64)
    for start in range(n):
        if state[start] != 0:
            continue
        top = 0
        node = start
        while node >= 0 and state[node] == 0:
            state[node] = 3
            stack[top] = node
            top += 1
            node = parent[node]
        if node < 0:
            value = np.int8(1)
        elif state[node] == 3:
            value = np.int8(2)
        else:
            value = state[node]
        for k in range(top - 1, -1, -1):
            state[stack[k]] = value
    tainted = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        tainted[i] = state[i] == 2 and not flagged[i]
    return tainted


@njit(cache=True, nogil=True)
def overlapping_intervals_nb(
    new_group: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Rows whose half-open interval [start, end) overlaps another row of its group.

    Rows must be sorted by (group, start); `new_group[i]` is True where a group begins.
    Keeps the running maximum end of the group and the row holding it: a row starting
    before that end overlaps it, and both are marked. This marks every row that takes
    part in at least one overlap.
    """
    n = start.shape[0]
    overlaps = np.zeros(n, dtype=np.bool_)
    max_end = np.int64(0)
    holder = -1
    for i in range(n):
        if new_group[i] or holder < 0:
            max_end = end[i]
            holder = i
            continue
        if start[i] < max_end:
            overlaps[i] = True
            overlaps[holder] = True
        if end[i] > max_end:
            max_end = end[i]
            holder = i
    return overlaps
