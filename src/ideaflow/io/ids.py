"""Fast id lookups for validation and conversion: uniqueness, positions, dense codes.

Ids are usually compact (1..n) or at least sorted, so a direct-address table or a binary
search beats hashing 10 million keys; pandas' hash table is the general fallback.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# a direct-address table is used when the id range is at most this many times the count
_DENSE_FACTOR = 4
_DENSE_SLACK = 1 << 16


def _dense_span(ids: np.ndarray, n_total: int) -> tuple[int, int] | None:
    if ids.size == 0:
        return None
    lo, hi = int(ids.min()), int(ids.max())
    span = hi - lo + 1
    if span <= _DENSE_FACTOR * n_total + _DENSE_SLACK:
        return lo, span
    return None


class IdIndex:
    """Positions of int64 ids; `duplicated` marks every id occurring more than once."""

    def __init__(self, ids: np.ndarray):
        self.ids = ids
        self.duplicated: np.ndarray | None = None
        self._table: np.ndarray | None = None
        self._lo = 0
        self._sorted = False
        self._contiguous = False
        self._hash: pd.Index | None = None
        self._hash_rows: np.ndarray | None = None
        n = ids.shape[0]
        if n < 2 or bool((ids[1:] > ids[:-1]).all()):
            # strictly increasing (the usual layout): unique, binary search or arithmetic
            self._sorted = True
            self._contiguous = n > 0 and int(ids[-1]) - int(ids[0]) == n - 1
            self._lo = int(ids[0]) if n else 0
            return
        dense = _dense_span(ids, n)
        if dense is not None:
            self._lo, span = dense
            offsets = ids - self._lo
            counts = np.bincount(offsets, minlength=span)
            if (counts > 1).any():
                self.duplicated = counts[offsets] > 1
            else:
                self._table = np.full(span, -1, dtype=np.int64)
                self._table[offsets] = np.arange(n, dtype=np.int64)
                return
        index = pd.Index(ids)
        if index.is_unique:
            self._hash = index
            return
        if self.duplicated is None:
            self.duplicated = np.asarray(index.duplicated(keep=False), dtype=bool)
        first = ~np.asarray(index.duplicated(keep="first"), dtype=bool)
        self._hash_rows = np.flatnonzero(first)
        self._hash = pd.Index(ids[first])

    def id_order(self) -> np.ndarray | None:
        """Rows in ascending id order when cheap to get (unique ids), else None."""
        if self.duplicated is not None:
            return None
        if self._sorted:
            return np.arange(self.ids.shape[0], dtype=np.int64)
        if self._table is not None:
            return self._table[self._table >= 0]
        return None

    def positions(self, queries: np.ndarray) -> np.ndarray:
        """Row of each query id (the first occurrence), -1 where absent."""
        queries = np.asarray(queries, dtype=np.int64)
        if self._table is not None:
            out = np.full(queries.shape[0], -1, dtype=np.int64)
            # compare before subtracting: a far-away query must not wrap into range
            high = self._lo + self._table.shape[0] - 1
            inside = (queries >= self._lo) & (queries <= high)
            out[inside] = self._table[queries[inside] - self._lo]
            return out
        if self._contiguous:
            out = np.full(queries.shape[0], -1, dtype=np.int64)
            high = self._lo + self.ids.shape[0] - 1
            inside = (queries >= self._lo) & (queries <= high)
            out[inside] = queries[inside] - self._lo
            return out
        if self._sorted:
            if self.ids.size == 0:
                return np.full(queries.shape[0], -1, dtype=np.int64)
            pos = np.searchsorted(self.ids, queries)
            pos_clipped = np.minimum(pos, self.ids.shape[0] - 1)
            return np.where(self.ids[pos_clipped] == queries, pos_clipped, -1).astype(np.int64)
        assert self._hash is not None
        pos = np.asarray(self._hash.get_indexer(pd.Index(queries)), dtype=np.int64)
        if self._hash_rows is not None:
            pos = np.where(pos >= 0, self._hash_rows[np.maximum(pos, 0)], -1)
        return pos


def dense_codes(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(sorted unique ids over all parts, int32 codes of every part) — codes follow id order.

    The parts are coded where they are, not concatenated: on 10 million trades the
    concatenation, the offsets and an int64 code array would each take ~100 MB of fresh
    memory, and touching fresh memory is what such passes cost. When the ids are
    non-negative and a table from 0 fits the dense budget, ids index it directly (no
    offsets at all).
    """
    n_total = sum(part.shape[0] for part in parts)
    filled = [part for part in parts if part.size]
    if filled:
        lo = min(int(part.min()) for part in filled)
        hi = max(int(part.max()) for part in filled)
        budget = _DENSE_FACTOR * n_total + _DENSE_SLACK
        if hi - lo + 1 <= budget:
            base = 0 if 0 <= lo and hi < budget else lo
            present = np.zeros(hi - base + 1, dtype=bool)
            for part in filled:
                present[part if base == 0 else part - base] = True
            rank = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
            uniques = np.flatnonzero(present).astype(np.int64) + base
            codes = [rank[part if base == 0 else part - base] for part in parts]
            return uniques, codes
    codes_all, uniques = pd.factorize(np.concatenate(parts), sort=True)
    bounds = np.cumsum([0] + [part.shape[0] for part in parts])
    codes_all = codes_all.astype(np.int32)
    return np.asarray(uniques, dtype=np.int64), [
        codes_all[bounds[i] : bounds[i + 1]] for i in range(len(parts))
    ]
