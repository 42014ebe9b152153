"""Numba kernels of the per-subject bootstrap (docs/contract.md §5 "Comparing strategies").

A replicate's mean is summed in the same order as numpy's `mean` of a contiguous row
(pairwise summation: eight interleaved partial sums on blocks of at most 128 values,
halves of longer runs summed separately, the split kept a multiple of eight), so a
replicate computed here is bit for bit the one `values[idx].mean(axis=1)` gives, while
the resampled values are never held as a (replicates x subjects) array.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(cache=True, nogil=True)
def _block_sum_nb(a, lo, n):
    """numpy's sum of a run of at most 128 values: eight interleaved partial sums."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += a[i]
        return total
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    i = 8
    limit = n - (n % 8)
    while i < limit:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[lo + i]
        i += 1
    return total


@njit(cache=True, nogil=True)
def pairwise_sum_nb(a, lo, n):
    """Sum of a[lo:lo + n] in numpy's pairwise order (`np.add.reduce` of a contiguous
    float64 array): runs longer than 128 are split in two halves (the first a multiple of
    eight long), each summed the same way, and the two sums added. Written with an explicit
    stack (Numba's on-disk cache does not handle recursive functions)."""
    if n <= _BLOCK:
        return _block_sum_nb(a, lo, n)
    depth = 64  # halving 2**63 values reaches a block in fewer steps
    frame_lo = np.empty(depth, dtype=np.int64)
    frame_n = np.empty(depth, dtype=np.int64)
    frame_stage = np.empty(depth, dtype=np.int64)
    sums = np.empty(depth, dtype=np.float64)
    top = 0
    frame_lo[0] = lo
    frame_n[0] = n
    frame_stage[0] = 0
    n_sums = 0
    while top >= 0:
        run = frame_n[top]
        start = frame_lo[top]
        if run <= _BLOCK:
            sums[n_sums] = _block_sum_nb(a, start, run)
            n_sums += 1
            top -= 1
            continue
        half = run // 2
        half -= half % 8
        stage = frame_stage[top]
        if stage == 2:  # both halves summed: combine them
            sums[n_sums - 2] = sums[n_sums - 2] + sums[n_sums - 1]
            n_sums -= 1
            top -= 1
            continue
        frame_stage[top] = stage + 1
        top += 1
        frame_stage[top] = 0
        if stage == 0:
            frame_lo[top] = start
            frame_n[top] = half
        else:
            frame_lo[top] = start + half
            frame_n[top] = run - half
    return sums[0]


@njit(cache=True, nogil=True, parallel=True)
def resampled_means_nb(values, idx):
    """Replicate means of every column: out[r, c] = mean of values[c, idx[r, :]].

    values: (m, n) float64, one row per column of values (each contiguous); idx: (rows, n)
    int64 resampled subjects. Returns (rows, m), each entry equal to numpy's
    `values[c][idx[r]].mean()`.
    """
    m, n = values.shape
    rows = idx.shape[0]
    out = np.empty((rows, m), dtype=np.float64)
    for r in prange(rows):
        buffer = np.empty(n, dtype=np.float64)
        for c in range(m):
            for j in range(n):
                buffer[j] = values[c, idx[r, j]]
            out[r, c] = pairwise_sum_nb(buffer, 0, n) / n
    return out
