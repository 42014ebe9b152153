"""Numba kernels of the docs/contract.md §5 strategies: seeded draws, copy fan-out, evaluator picks.

Randomness is counter-based (splitmix64 of the seed and the integer keys of a draw), so a
draw depends only on its own keys — a subject's random leaders at rebalance j or a
placebo rejection never shift when anything else in the data changes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def splitmix64_nb(x):
    """One splitmix64 step of a uint64 (a good 64-bit mixer)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def hash_uniform_nb(seed, a, b, c):
    """A uniform number in [0, 1) determined by (seed, a, b, c) only."""
    h = splitmix64_nb(np.uint64(seed))
    h = splitmix64_nb(h ^ np.uint64(a))
    h = splitmix64_nb(h ^ np.uint64(b))
    h = splitmix64_nb(h ^ np.uint64(c))
    return (h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, parallel=True)
def random_leaders_nb(seed, period, subjects, pool, k):
    """k distinct leaders per subject drawn from `pool` (sorted trader codes), never the
    subject.

    Returns (n_subjects, k) int32 padded with -1 when the pool is too small. Floyd's
    sampling over the pool without the subject, one counter-based uniform per
    (period, subject, step): O(k^2) per subject.
    """
    n = subjects.shape[0]
    out = np.full((n, k), -1, dtype=np.int32)
    m = pool.shape[0]
    for s in prange(n):
        picked_local = np.empty(k, dtype=np.int64)
        subject = subjects[s]
        own = np.searchsorted(pool, subject)
        has_self = own < m and pool[own] == subject
        size = m - 1 if has_self else m
        need = min(k, size)
        for q in range(need):
            j = size - need + q
            u = hash_uniform_nb(seed, period, subject, q)
            t = int(u * (j + 1))
            if t > j:
                t = j
            for r in range(q):
                if picked_local[r] == t:
                    t = j
                    break
            picked_local[q] = t
        for q in range(need):
            index = picked_local[q]
            if has_self and index >= own:
                index += 1
            out[s, q] = pool[index]
    return out


@njit(cache=True, nogil=True)
def exclude_self_nb(ranked, subjects, k):
    """First k entries of `ranked` (trader codes, best first) other than each subject."""
    n = subjects.shape[0]
    out = np.full((n, k), -1, dtype=np.int32)
    for s in range(n):
        chosen = 0
        for p in range(ranked.shape[0]):
            if chosen >= k:
                break
            if ranked[p] != subjects[s]:
                out[s, chosen] = ranked[p]
                chosen += 1
    return out


@njit(cache=True, nogil=True, parallel=True)
def round_robin_pick_nb(cluster_order, cluster_indptr, cluster_members, subjects, k):
    """Evaluators per subject: best of each cluster in the subject's preferred order, then
    the second best of each, ... until k (never the subject itself).

    cluster_order: (n_subjects, C) cluster ids, preferred first; cluster_members: trader
    codes grouped by cluster (CSR cluster_indptr), best performer first within a cluster.
    """
    n = subjects.shape[0]
    n_clusters = cluster_order.shape[1]
    out = np.full((n, k), -1, dtype=np.int32)
    for s in prange(n):
        chosen = 0
        depth = 0
        progress = True
        while chosen < k and progress:
            progress = False
            for c in range(n_clusters):
                if chosen >= k:
                    break
                cluster = cluster_order[s, c]
                a = cluster_indptr[cluster]
                b = cluster_indptr[cluster + 1]
                # depth-th member of this cluster that is not the subject
                seen = 0
                for p in range(a, b):
                    if cluster_members[p] == subjects[s]:
                        continue
                    if seen == depth:
                        out[s, chosen] = cluster_members[p]
                        chosen += 1
                        progress = True
                        break
                    seen += 1
            depth += 1
    return out


@njit(cache=True, nogil=True)
def copy_count_nb(leader_sets, period_start, trader_indptr, idea_open):
    """Number of copies per (subject, period): ideas of its leaders opened in the period.

    leader_sets: (n_subjects, n_periods, k) trader codes (-1 padding); ideas grouped by
    trader (CSR trader_indptr) and sorted by open time within a trader; period_start has
    n_periods + 1 entries (the last is past the end of the data).
    """
    n_subjects, n_periods, k = leader_sets.shape
    counts = np.zeros(n_subjects * n_periods, dtype=np.int64)
    for s in range(n_subjects):
        for j in range(n_periods):
            total = 0
            for m in range(k):
                leader = leader_sets[s, j, m]
                if leader < 0:
                    continue
                a = trader_indptr[leader]
                b = trader_indptr[leader + 1]
                lo = np.searchsorted(idea_open[a:b], period_start[j])
                hi = np.searchsorted(idea_open[a:b], period_start[j + 1])
                total += hi - lo
            counts[s * n_periods + j] = total
    return counts


@njit(cache=True, nogil=True, parallel=True)
def copy_fill_nb(leader_sets, period_start, trader_indptr, idea_open, idea_rows, offsets):
    """Fill (subject, period, idea row) of every copy; offsets from `copy_count_nb`."""
    n_subjects, n_periods, k = leader_sets.shape
    total = offsets[-1]
    out_subject = np.empty(total, dtype=np.int32)
    out_period = np.empty(total, dtype=np.int32)
    out_row = np.empty(total, dtype=np.int64)
    for s in prange(n_subjects):
        for j in range(n_periods):
            pos = offsets[s * n_periods + j]
            for m in range(k):
                leader = leader_sets[s, j, m]
                if leader < 0:
                    continue
                a = trader_indptr[leader]
                b = trader_indptr[leader + 1]
                lo = a + np.searchsorted(idea_open[a:b], period_start[j])
                hi = a + np.searchsorted(idea_open[a:b], period_start[j + 1])
                for q in range(lo, hi):
                    out_subject[pos] = s
                    out_period[pos] = j
                    out_row[pos] = idea_rows[q]
                    pos += 1
    return out_subject, out_period, out_row


@njit(cache=True, nogil=True)
def placebo_reject_nb(seed, subject_of_idea, idea_key, n_reject, subject_indptr):
    """Reject, per subject, the n_reject[s] ideas with the smallest seeded uniform.

    Ideas are grouped by subject (CSR subject_indptr); idea_key (the trade id) keys the
    uniform, so the choice does not depend on the order or number of other ideas.
    Returns a bool `taken` per idea (in the grouped order).
    """
    n = idea_key.shape[0]
    taken = np.ones(n, dtype=np.bool_)
    for s in range(subject_indptr.shape[0] - 1):
        a = subject_indptr[s]
        b = subject_indptr[s + 1]
        r = min(n_reject[s], b - a)
        if r <= 0:
            continue
        u = np.empty(b - a, dtype=np.float64)
        for p in range(a, b):
            u[p - a] = hash_uniform_nb(seed, 7, subject_of_idea[p], idea_key[p])
        order = np.argsort(u, kind="mergesort")
        for q in range(r):
            taken[a + order[q]] = False
    return taken


@njit(cache=True, nogil=True, parallel=True)
def probed_nearest_nb(
    subject_vectors,
    subject_codes,
    subject_cell,
    probes,
    probe_dist,
    cell_indptr,
    cell_radius,
    member_columns,
    member_codes,
    k,
    max_scan,
):
    """k nearest candidates per subject among the members of its probed cells.

    probes: (n_subjects, n_probe) cell ids, nearest cell first, and probe_dist the distance
    from the subject to each probed cell's centre; members: candidates grouped by cell
    (CSR cell_indptr), ascending code within a cell, their vectors stored by dimension
    (member_columns: (dims, n_candidates)); cell_radius: the largest distance of a cell's
    members from its centre; subject_cell: the cell holding the subject itself (-1 when it
    is not a candidate).

    Members are examined in probe order, at most `max_scan` of them per subject (crowded
    cells of near-identical styles would otherwise make the search quadratic); once k
    exact duplicates (distance 0) are found, no later member can beat them (identical
    vectors share a cell, codes ascend). The subject itself is skipped and not counted;
    ties go to the lowest code. A cell whose members are all farther than the current
    k-th best (its centre distance less its radius, with a margin for rounding) is counted
    as examined without being read: that does not change the result. The distances to a
    cell's examined members are computed together, one dimension at a time (each summed in
    dimension order, as one at a time would be). Returns (n_subjects, k) trader codes
    padded with -1.
    """
    n = subject_vectors.shape[0]
    dims = subject_vectors.shape[1]
    out = np.full((n, k), -1, dtype=np.int32)
    last = k - 1
    widest = 0
    for c in range(cell_indptr.shape[0] - 1):
        widest = max(widest, cell_indptr[c + 1] - cell_indptr[c])
    for s in prange(n):
        best_d = np.full(k, np.inf)
        best_c = np.full(k, -1, dtype=np.int64)
        dist = np.empty(widest)
        own = subject_codes[s]
        scanned = 0
        for p in range(probes.shape[1]):
            if scanned >= max_scan or best_d[last] == 0.0:
                break
            cell = probes[s, p]
            a = cell_indptr[cell]
            b = cell_indptr[cell + 1]
            has_own = subject_cell[s] == cell
            if best_d[last] < np.inf:
                gap = probe_dist[s, p] - cell_radius[cell]
                if gap > 0.0 and gap * gap > best_d[last] * (1.0 + 1e-6) + 1e-12:
                    # every member is farther than the k-th best: only the budget moves
                    scanned += b - a - (1 if has_own else 0)
                    continue
            # the members within the budget (the subject itself is not counted)
            room = max_scan - scanned
            end = b
            if b - a - (1 if has_own else 0) > room:
                end = a + room
                if has_own:
                    for q in range(a, a + room):
                        if member_codes[q] == own:
                            end += 1
                            break
            width = end - a
            for q in range(width):
                dist[q] = 0.0
            for m in range(dims):
                x = subject_vectors[s, m]
                column = member_columns[m]
                for q in range(width):
                    diff = x - column[a + q]
                    dist[q] += diff * diff
            for q in range(a, end):
                if best_d[last] == 0.0:
                    break
                code = member_codes[q]
                if code == own:
                    continue
                scanned += 1
                d = dist[q - a]
                # insert into the sorted top-k (distance, then code)
                if d > best_d[last] or (d == best_d[last] and code >= best_c[last] >= 0):
                    continue
                i = last
                while i > 0 and (
                    best_d[i - 1] > d or (best_d[i - 1] == d and best_c[i - 1] > code)
                ):
                    best_d[i] = best_d[i - 1]
                    best_c[i] = best_c[i - 1]
                    i -= 1
                best_d[i] = d
                best_c[i] = code
        for i in range(k):
            out[s, i] = best_c[i]
    return out


@njit(cache=True, nogil=True, parallel=True)
def random_member_pick_nb(
    cluster_order, cluster_indptr, cluster_members, subjects, k, seed, period
):
    """Evaluators per subject: a random member of each cluster in the subject's preferred
    order, then another random member of each, ... until k (never the subject itself).

    cluster_members: trader codes grouped by cluster (CSR cluster_indptr), ascending within
    a cluster. For (subject, cluster) a counter-based uniform keyed by (seed, period,
    subject, cluster) picks a start among the members other than the subject; later
    rounds take the next members cyclically, so the picks are distinct.
    """
    n = subjects.shape[0]
    n_clusters = cluster_order.shape[1]
    out = np.full((n, k), -1, dtype=np.int32)
    # keys apart from random_leaders_nb's (period, subject, step)
    stream = (np.int64(1) << np.int64(40)) + np.int64(period)
    for s in prange(n):
        subject = subjects[s]
        starts = np.empty(n_clusters, dtype=np.int64)
        sizes = np.empty(n_clusters, dtype=np.int64)
        selves = np.empty(n_clusters, dtype=np.int64)
        for c in range(n_clusters):
            cluster = cluster_order[s, c]
            a = cluster_indptr[cluster]
            b = cluster_indptr[cluster + 1]
            own = a + np.searchsorted(cluster_members[a:b], subject)
            has_self = own < b and cluster_members[own] == subject
            selves[c] = own - a if has_self else -1
            sizes[c] = b - a - (1 if has_self else 0)
            u = hash_uniform_nb(seed, stream, subject, cluster)
            starts[c] = min(int(u * sizes[c]), sizes[c] - 1) if sizes[c] > 0 else 0
        chosen = 0
        depth = 0
        progress = True
        while chosen < k and progress:
            progress = False
            for c in range(n_clusters):
                if chosen >= k:
                    break
                if depth >= sizes[c]:
                    continue
                index = (starts[c] + depth) % sizes[c]
                if selves[c] >= 0 and index >= selves[c]:
                    index += 1
                out[s, chosen] = cluster_members[cluster_indptr[cluster_order[s, c]] + index]
                chosen += 1
                progress = True
            depth += 1
    return out
