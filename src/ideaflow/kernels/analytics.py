"""Numba kernels of the social-learning analytics (docs/contract.md §6).

Everything here walks sorted event arrays (trades, follow intervals, sparse daily PnL) in
CSR form, so work and memory grow with the number of events, never with traders x days.
The API layer (`ideaflow.analytics`) sorts, builds the CSR indexes and validates.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.kernels.metrics import lower_bound_nb, upper_bound_nb


@njit(cache=True, nogil=True, parallel=True)
def idea_flow_match_nb(
    trade_trader,
    trade_key,
    trade_time,
    trade_parent,
    sorted_rows,
    trader_indptr,
    follow_leader,
    follow_start,
    follow_end,
    follower_indptr,
    window_ns,
):
    """Flag each trade that matches a recent trade of one of its trader's active leaders.

    trade_key is the (instrument, side) code of each trade; `sorted_rows` orders the trades
    by (trader, key, time) and `trader_indptr` is its CSR index per trader. Follows are
    sorted by follower with CSR index `follower_indptr`. A trade of u at t matches when it
    has a parent (an explicit copy) or a leader L with start <= t < end has a trade with
    the same key opened in [t - window_ns, t]. Returns int8 flags per trade.
    """
    n = trade_trader.shape[0]
    matched = np.zeros(n, dtype=np.int8)
    for j in prange(n):
        if trade_parent[j] >= 0:
            matched[j] = 1
            continue
        u = trade_trader[j]
        t = trade_time[j]
        key = trade_key[j]
        for f in range(follower_indptr[u], follower_indptr[u + 1]):
            if follow_start[f] > t or t >= follow_end[f]:
                continue
            leader = follow_leader[f]
            lo = trader_indptr[leader]
            hi = trader_indptr[leader + 1]
            # sorted_rows maps positions to trade rows; search on the gathered arrays
            a = lo
            b = hi
            while a < b:
                mid = (a + b) >> 1
                r = sorted_rows[mid]
                if trade_key[r] < key or (trade_key[r] == key and trade_time[r] < t - window_ns):
                    a = mid + 1
                else:
                    b = mid
            if a < hi:
                r = sorted_rows[a]
                if trade_key[r] == key and trade_time[r] <= t:
                    matched[j] = 1
                    break
    return matched


@njit(cache=True, nogil=True)
def _pair_corr_nb(n, sx, sy, sxx, syy, sxy):
    """Pearson correlation from sums over n points; NaN when n < 2 or a side is constant."""
    if n < 2:
        return np.nan
    vx = sxx - sx * sx / n
    vy = syy - sy * sy / n
    # relative tolerance: a series constant on the union has (numerically) zero variance
    if vx <= 1e-12 * max(sxx, 1e-300) or vy <= 1e-12 * max(syy, 1e-300):
        return np.nan
    r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
    return min(1.0, max(-1.0, r))


@njit(cache=True, nogil=True, parallel=True)
def leader_correlation_nb(leaders_indptr, leaders, pnl_indptr, pnl_day, pnl_value):
    """Mean pairwise daily-PnL correlation of each trader's leaders.

    `leaders[leaders_indptr[u]:leaders_indptr[u+1]]` are u's leaders (trader codes);
    `pnl_day/pnl_value[pnl_indptr[a]:pnl_indptr[a+1]]` is a's sparse daily PnL sorted by
    day. The correlation of a and b runs over the union of their days (0 where one has no
    entry; days on which neither has one are left out); it is computed from per-account sums plus the sum of
    products over the shared days, found by scattering a's series into a per-trader buffer
    as long as the data's day range (never traders x days). Returns (mean correlation,
    number of pairs with a defined correlation) per trader; NaN when no pair has one.
    """
    n_traders = leaders_indptr.shape[0] - 1
    n_accounts = pnl_indptr.shape[0] - 1
    mean_corr = np.full(n_traders, np.nan)
    n_pairs = np.zeros(n_traders, dtype=np.int64)
    if pnl_day.shape[0] == 0:
        return mean_corr, n_pairs
    first_day = pnl_day.min()
    n_days = pnl_day.max() - first_day + 1
    total_sum = np.zeros(n_accounts)
    total_sq = np.zeros(n_accounts)
    for a in range(n_accounts):
        for i in range(pnl_indptr[a], pnl_indptr[a + 1]):
            total_sum[a] += pnl_value[i]
            total_sq[a] += pnl_value[i] * pnl_value[i]
    for u in prange(n_traders):
        lo = leaders_indptr[u]
        hi = leaders_indptr[u + 1]
        if hi - lo < 2:
            continue
        value = np.zeros(n_days)
        present = np.zeros(n_days, dtype=np.bool_)
        total = 0.0
        count = 0
        for p in range(lo, hi):
            a = leaders[p]
            for i in range(pnl_indptr[a], pnl_indptr[a + 1]):
                value[pnl_day[i] - first_day] = pnl_value[i]
                present[pnl_day[i] - first_day] = True
            n_a = pnl_indptr[a + 1] - pnl_indptr[a]
            for q in range(p + 1, hi):
                b = leaders[q]
                shared = 0
                sxy = 0.0
                for k in range(pnl_indptr[b], pnl_indptr[b + 1]):
                    d = pnl_day[k] - first_day
                    if present[d]:
                        shared += 1
                        sxy += value[d] * pnl_value[k]
                n_union = n_a + (pnl_indptr[b + 1] - pnl_indptr[b]) - shared
                r = _pair_corr_nb(
                    n_union, total_sum[a], total_sum[b], total_sq[a], total_sq[b], sxy
                )
                if not np.isnan(r):
                    total += r
                    count += 1
            for i in range(pnl_indptr[a], pnl_indptr[a + 1]):
                value[pnl_day[i] - first_day] = 0.0
                present[pnl_day[i] - first_day] = False
        n_pairs[u] = count
        if count > 0:
            mean_corr[u] = total / count
    return mean_corr, n_pairs


@njit(cache=True, nogil=True)
def _in_sorted_nb(values, lo, hi, x):
    """Whether the sorted slice values[lo:hi] contains x (binary search)."""
    p = lower_bound_nb(values, lo, hi, x)
    return p < hi and values[p] == x


@njit(cache=True, nogil=True, parallel=True)
def tie_density_nb(member_indptr, member, tie_indptr, tie_target):
    """Density of directed ties among each trader's members (its leaders).

    `member[member_indptr[u]:member_indptr[u+1]]`: u's distinct leaders, sorted;
    `tie_target[tie_indptr[a]:tie_indptr[a+1]]`: the distinct traders a ever followed.
    Density = ties a -> b with a, b both members / (m (m - 1)); NaN when m < 2.
    """
    n_traders = member_indptr.shape[0] - 1
    density = np.full(n_traders, np.nan)
    for u in prange(n_traders):
        lo = member_indptr[u]
        hi = member_indptr[u + 1]
        m = hi - lo
        if m < 2:
            continue
        ties = 0
        for p in range(lo, hi):
            a = member[p]
            for q in range(tie_indptr[a], tie_indptr[a + 1]):
                if _in_sorted_nb(member, lo, hi, tie_target[q]):
                    ties += 1
        density[u] = ties / (m * (m - 1.0))
    return density


@njit(cache=True, nogil=True, parallel=True)
def reciprocity_nb(out_indptr, out_nbr, in_indptr, in_nbr):
    """Share of each trader's ties (in or out) whose reverse tie exists.

    `out_nbr`: distinct leaders per trader, `in_nbr`: distinct followers, both sorted per
    trader. Reciprocity = 2 |leaders & followers| / (|leaders| + |followers|); NaN when the
    trader has no tie.
    """
    n_traders = out_indptr.shape[0] - 1
    reciprocity = np.full(n_traders, np.nan)
    for u in prange(n_traders):
        n_out = out_indptr[u + 1] - out_indptr[u]
        n_in = in_indptr[u + 1] - in_indptr[u]
        if n_out + n_in == 0:
            continue
        mutual = 0
        for p in range(out_indptr[u], out_indptr[u + 1]):
            if _in_sorted_nb(in_nbr, in_indptr[u], in_indptr[u + 1], out_nbr[p]):
                mutual += 1
        reciprocity[u] = 2.0 * mutual / (n_out + n_in)
    return reciprocity


@njit(cache=True, nogil=True)
def cluster_entropy_nb(leaders_indptr, leaders, labels, n_labels):
    """Shannon entropy (natural log) of the style-cluster labels of each trader's leaders.

    Leaders without a label (label < 0) are left out; NaN when no leader has a label.
    """
    n_traders = leaders_indptr.shape[0] - 1
    entropy = np.full(n_traders, np.nan)
    counts = np.zeros(max(n_labels, 1), dtype=np.int64)
    for u in range(n_traders):
        total = 0
        for p in range(leaders_indptr[u], leaders_indptr[u + 1]):
            c = labels[leaders[p]]
            if c >= 0:
                counts[c] += 1
                total += 1
        if total == 0:
            continue
        h = 0.0
        for p in range(leaders_indptr[u], leaders_indptr[u + 1]):
            c = labels[leaders[p]]
            if c >= 0 and counts[c] > 0:
                share = counts[c] / total
                h -= share * np.log(share)
                counts[c] = 0  # each label counted once
        entropy[u] = h
    return entropy


@njit(cache=True, nogil=True, parallel=True)
def active_count_nb(indptr, starts_sorted, ends_sorted, query_group, query_time):
    """Number of intervals of a group active at a time (start <= t < end), per query.

    Within each group's CSR slice, `starts_sorted` and `ends_sorted` are each sorted
    ascending (independently): active = #(start <= t) - #(end <= t).
    """
    n = query_group.shape[0]
    out = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        g = query_group[i]
        lo = indptr[g]
        hi = indptr[g + 1]
        t = query_time[i]
        # started at or before t, minus ended at or before t (both counted from lo)
        out[i] = upper_bound_nb(starts_sorted, lo, hi, t) - upper_bound_nb(ends_sorted, lo, hi, t)
    return out
