"""CSR views of the follower graph used by the analytics (distinct neighbours per trader).

All built with numpy sorts, so memory grows with the number of follows, not traders^2.
"""

from __future__ import annotations

import numpy as np

from ideaflow.data import Dataset


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and the index of each value in them.

    A sort-based `np.unique(values, return_inverse=True)`: numpy 2's hash-based unique is
    many times slower on millions of int64 keys.
    """
    values = np.asarray(values)
    if values.shape[0] == 0:
        return values.copy(), np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(ordered.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(values.shape[0], dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort-based, see `unique_inverse`)."""
    ordered = np.sort(np.asarray(values))
    if ordered.shape[0] == 0:
        return ordered
    keep = np.empty(ordered.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def csr_from_pairs(
    group: np.ndarray, member: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct members per group as (indptr int64, members int32 sorted within group)."""
    group = np.asarray(group, dtype=np.int64)
    member = np.asarray(member, dtype=np.int64)
    if group.shape[0] == 0:
        return np.zeros(n_groups + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    key = unique_sorted(group * np.int64(max(n_groups, 1)) + member)
    g = key // max(n_groups, 1)
    m = key - g * max(n_groups, 1)
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=n_groups), out=indptr[1:])
    return indptr, m.astype(np.int32)


def leader_sets(ds: Dataset, which: str = "ever") -> tuple[np.ndarray, np.ndarray]:
    """Each trader's distinct leaders: everyone it ever followed ("ever"), or the follows
    active at the end of the data ("end": start <= data_end < end)."""
    f = ds.follows
    mask = np.ones(len(f), dtype=bool)
    if which == "end":
        mask = (f.start_time <= ds.data_end) & (ds.data_end < f.end_time)
    return csr_from_pairs(f.follower[mask], f.leader[mask], ds.n_traders)


def follower_sets(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Each trader's distinct followers over the whole data."""
    f = ds.follows
    return csr_from_pairs(f.leader, f.follower, ds.n_traders)


def follows_by_follower(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Order of the follow rows sorted by (follower, start_time) and its CSR index."""
    f = ds.follows
    order = np.lexsort((f.start_time, f.follower)).astype(np.int64)
    indptr = np.zeros(ds.n_traders + 1, dtype=np.int64)
    np.cumsum(np.bincount(f.follower, minlength=ds.n_traders), out=indptr[1:])
    return order, indptr


def cap_per_group(
    indptr: np.ndarray, members: np.ndarray, score: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most `cap` members per group: those with the highest `score[member]`
    (ties by lower member code), members still sorted within each group."""
    sizes = np.diff(indptr)
    if sizes.shape[0] == 0 or sizes.max(initial=0) <= cap:
        return indptr, members
    group = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
    order = np.lexsort((members, -score[members], group))
    pos = np.arange(members.shape[0]) - indptr[group[order]]
    kept = order[pos < cap]
    kept_group = group[kept]
    kept_members = members[kept]
    resort = np.lexsort((kept_members, kept_group))
    new_indptr = np.zeros_like(indptr)
    np.cumsum(np.minimum(sizes, cap), out=new_indptr[1:])
    return new_indptr, kept_members[resort]
