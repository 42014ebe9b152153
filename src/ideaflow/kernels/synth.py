"""Numba kernels of the synthetic platform generator (`ideaflow.synth`).

- `ar1_paths_nb`, `garch_log_prices_nb`: the market's latent series and prices;
- `simulate_platform_nb`: the social layer and the sides of the ideas, walked epoch by
  epoch (an epoch is one revision period). At each epoch boundary the trailing
  performance of every trader is updated from its closed ideas, the choice weights are
  rebuilt (popularity, performance, charisma), social traders revise whom they mirror, and
  then the ideas opened during the epoch take their side from the trader's own view plus
  the mean view of its current leaders.

Randomness comes from an explicit splitmix64 state seeded by the caller, so the kernel is
deterministic and independent of numpy's global state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ideaflow.data import OPEN_END


@njit(cache=True, nogil=True)
def ar1_paths_nb(shocks, phi):
    """Unit-variance AR(1) paths driven by `shocks` (n_paths, n_bars), started stationary."""
    n_paths, n_bars = shocks.shape
    out = np.empty((n_paths, n_bars), dtype=np.float64)
    scale = np.sqrt(1.0 - phi * phi)
    for p in range(n_paths):
        x = shocks[p, 0]
        out[p, 0] = x
        for t in range(1, n_bars):
            x = phi * x + scale * shocks[p, t]
            out[p, t] = x
    return out


@njit(cache=True, nogil=True)
def garch_log_prices_nb(shocks, signal, log_start, bar_var, alpha, beta, strength):
    """Prices whose bar returns are `strength*sigma*signal + sigma*shock`, sigma from GARCH(1,1).

    `price[:, 0]` is the start price; bar t's return moves the price from t-1 to t.
    """
    n_inst, n_bars = shocks.shape
    price = np.empty((n_inst, n_bars), dtype=np.float64)
    omega = bar_var * (1.0 - alpha - beta)
    for i in range(n_inst):
        var = bar_var
        log_p = log_start[i]
        price[i, 0] = np.exp(log_p)
        last_shock = 0.0
        for t in range(1, n_bars):
            var = omega + alpha * last_shock * last_shock + beta * var
            sigma = np.sqrt(var)
            last_shock = sigma * shocks[i, t]
            log_p += strength * sigma * signal[i, t - 1] + last_shock
            price[i, t] = np.exp(log_p)
    return price


@njit(cache=True, nogil=True)
def _next_uniform(state):
    """splitmix64 step: a uniform float in [0, 1) from the uint64 state array."""
    state[0] = state[0] + np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _sample_cumulative(cum, lo, hi, u):
    """Index in [lo, hi) drawn with probability proportional to the increments of `cum`."""
    base = cum[lo - 1] if lo > 0 else 0.0
    total = cum[hi - 1] - base
    if total <= 0.0:
        return -1
    target = base + u * total
    pos = np.searchsorted(cum[lo:hi], target, side="right") + lo
    if pos >= hi:
        pos = hi - 1
    return pos


@njit(cache=True, nogil=True)
def _draw_uniform(own_cluster, homophily, by_cluster, cluster_indptr, state):
    """One trader drawn uniformly: within the own cluster w.p. `homophily`."""
    if _next_uniform(state) < homophily:
        lo = cluster_indptr[own_cluster]
        hi = cluster_indptr[own_cluster + 1]
        return by_cluster[min(lo + int(_next_uniform(state) * (hi - lo)), hi - 1)]
    n = by_cluster.shape[0]
    return min(int(_next_uniform(state) * n), n - 1)


@njit(cache=True, nogil=True)
def _draw_candidate(
    own_cluster, homophily, weight_cluster, weight_global, by_cluster, cluster_indptr, state
):
    """One candidate leader by choice weight: within the own cluster w.p. `homophily`."""
    if _next_uniform(state) < homophily:
        pos = _sample_cumulative(
            weight_cluster,
            cluster_indptr[own_cluster],
            cluster_indptr[own_cluster + 1],
            _next_uniform(state),
        )
        return by_cluster[pos] if pos >= 0 else -1
    return _sample_cumulative(weight_global, 0, weight_global.shape[0], _next_uniform(state))


@njit(cache=True, nogil=True)
def _is_current(cand, own_slots, n_own, dropped, n_drop):
    """Whether `cand` is already a leader, or was dropped at this very revision."""
    for s in range(n_own):
        if own_slots[s] == cand:
            return True
    for d in range(n_drop):  # noqa: SIM110 - an explicit loop for numba
        if dropped[d] == cand:
            return True
    return False


@njit(cache=True, nogil=True)
def simulate_platform_nb(
    # ideas, sorted by open time; epoch_indptr[k]:epoch_indptr[k+1] open during epoch k
    idea_trader,
    idea_instrument,
    idea_open_bar,
    idea_noise,
    idea_move,  # side-free PnL: leverage*amount*(close/open - 1); 0 when still open
    idea_fee,
    epoch_indptr,
    add_order,  # closed ideas ordered by the epoch whose boundary first sees their close
    add_indptr,
    remove_order,  # ... and by the epoch whose boundary drops them from the trailing window
    remove_indptr,
    # latent series
    signal,  # (n_inst, n_bars)
    cluster_err,  # (n_clusters, n_inst, n_bars)
    herd,  # (n_inst, n_bars)
    # traders
    skill,
    cluster,
    herd_load,
    charisma_z,
    explore,
    target_leaders,  # 0 = never mirrors anybody
    join_epoch,
    visible_epoch,  # first epoch at which the trader can be chosen (after its first idea)
    equity,
    by_cluster,  # trader codes sorted by cluster
    cluster_indptr,
    # parameters
    w_popularity,
    w_performance,
    w_charisma,
    homophily,
    drop_share,
    social_learning,
    cluster_error,
    idio_noise,
    herd_popularity,
    shortlist,
    max_leaders,
    start_ns,
    epoch_ns,
    jitter_ns,
    seed,
):
    n_traders = skill.shape[0]
    n_ideas = idea_trader.shape[0]
    n_epochs = epoch_indptr.shape[0] - 1
    n_inst = signal.shape[0]
    n_clusters = cluster_indptr.shape[0] - 1
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)

    side = np.zeros(n_ideas, dtype=np.int8)
    followers = np.zeros(n_traders, dtype=np.int64)
    perf = np.zeros(n_traders, dtype=np.float64)
    slots = np.full((n_traders, max_leaders), -1, dtype=np.int32)
    slot_row = np.full((n_traders, max_leaders), -1, dtype=np.int64)
    n_slots = np.zeros(n_traders, dtype=np.int32)

    cap = 1024
    f_follower = np.empty(cap, dtype=np.int32)
    f_leader = np.empty(cap, dtype=np.int32)
    f_start = np.empty(cap, dtype=np.int64)
    f_end = np.empty(cap, dtype=np.int64)
    n_rows = 0

    weight_global = np.empty(n_traders, dtype=np.float64)
    weight_cluster = np.empty(n_traders, dtype=np.float64)
    logit = np.empty(n_traders, dtype=np.float64)
    dropped = np.empty(max_leaders, dtype=np.int32)
    signal_v = np.empty(n_inst, dtype=np.float64)
    herd_v = np.empty(n_inst, dtype=np.float64)

    for k in range(n_epochs):
        t_k = start_ns + k * epoch_ns
        # 1. trailing performance (PnL of closed ideas over the window, / initial equity)
        for p in range(add_indptr[k], add_indptr[k + 1]):
            i = add_order[p]
            perf[idea_trader[i]] += (side[i] * idea_move[i] - idea_fee[i]) / equity[idea_trader[i]]
        for p in range(remove_indptr[k], remove_indptr[k + 1]):
            i = remove_order[p]
            perf[idea_trader[i]] -= (side[i] * idea_move[i] - idea_fee[i]) / equity[idea_trader[i]]

        # 2. choice weights of the visible traders, fixed for the epoch
        n_vis = 0
        mean = 0.0
        for j in range(n_traders):
            if visible_epoch[j] <= k:
                n_vis += 1
                mean += perf[j]
        if n_vis > 0:
            mean /= n_vis
        var = 0.0
        for j in range(n_traders):
            if visible_epoch[j] <= k:
                var += (perf[j] - mean) ** 2
        sd = np.sqrt(var / n_vis) if n_vis > 1 else 0.0
        top = -np.inf
        for j in range(n_traders):
            if visible_epoch[j] <= k:
                z = (perf[j] - mean) / sd if sd > 0 else 0.0
                v = w_popularity * np.log1p(followers[j]) + w_performance * z
                v += w_charisma * charisma_z[j]
                logit[j] = v
                if v > top:
                    top = v
        acc = 0.0
        for j in range(n_traders):
            if visible_epoch[j] <= k:
                acc += np.exp(logit[j] - top)
            weight_global[j] = acc
        for c in range(n_clusters):
            acc = 0.0
            for p in range(cluster_indptr[c], cluster_indptr[c + 1]):
                j = by_cluster[p]
                if visible_epoch[j] <= k:
                    acc += np.exp(logit[j] - top)
                weight_cluster[p] = acc
        # cumulative sums per cluster restart at 0; _sample_cumulative needs a running
        # total, so shift each cluster's block by the previous block's end
        offset = 0.0
        for c in range(n_clusters):
            lo = cluster_indptr[c]
            hi = cluster_indptr[c + 1]
            for p in range(lo, hi):
                weight_cluster[p] += offset
            if hi > lo:
                offset = weight_cluster[hi - 1]

        # 3. revisions of whom to mirror
        if n_vis > 0:
            for u in range(n_traders):
                if target_leaders[u] == 0 or join_epoch[u] > k:
                    continue
                rev_time = t_k + np.int64(_next_uniform(state) * jitter_ns)
                n_drop = 0
                if join_epoch[u] < k and n_slots[u] > 0 and _next_uniform(state) < explore[u]:
                    n_drop = int(np.floor(drop_share * n_slots[u] + 0.5))
                    if n_drop < 1:
                        n_drop = 1
                    for d in range(n_drop):
                        worst = -1
                        for s in range(n_slots[u]):
                            if worst < 0 or perf[slots[u, s]] < perf[slots[u, worst]]:
                                worst = s
                        leader = slots[u, worst]
                        f_end[slot_row[u, worst]] = rev_time
                        followers[leader] -= 1
                        dropped[d] = leader
                        last = n_slots[u] - 1
                        slots[u, worst] = slots[u, last]
                        slot_row[u, worst] = slot_row[u, last]
                        slots[u, last] = -1
                        n_slots[u] = last
                want = target_leaders[u]
                # an explorer at a revision compares a shortlist and keeps the best trailing
                # performer: one candidate drawn by the choice weights (the social default)
                # and shortlist - 1 drawn uniformly (looking beyond the popular); first
                # picks take the weighted draw
                n_look = shortlist if n_drop > 0 else 1
                attempts = 0
                while n_slots[u] < want and attempts < 40:
                    attempts += 1
                    cand = -1
                    n_seen = 0
                    tries = 0
                    while n_seen < n_look and tries < 4 * n_look + 8:
                        tries += 1
                        if n_seen == 0:
                            other = _draw_candidate(
                                cluster[u], homophily, weight_cluster, weight_global,
                                by_cluster, cluster_indptr, state,
                            )  # fmt: skip
                        else:
                            other = _draw_uniform(
                                cluster[u], homophily, by_cluster, cluster_indptr, state
                            )
                        if other < 0 or visible_epoch[other] > k:
                            continue
                        if other == u or other == cand:  # noqa: SIM109 - plain compares for numba
                            continue
                        if _is_current(other, slots[u], n_slots[u], dropped, n_drop):
                            continue
                        n_seen += 1
                        if cand < 0 or perf[other] > perf[cand]:
                            cand = other
                    if cand < 0:
                        continue
                    if n_rows == cap:
                        cap *= 2
                        f_follower = _grow_i4(f_follower, n_rows, cap)
                        f_leader = _grow_i4(f_leader, n_rows, cap)
                        f_start = _grow_i8(f_start, n_rows, cap)
                        f_end = _grow_i8(f_end, n_rows, cap)
                    f_follower[n_rows] = u
                    f_leader[n_rows] = cand
                    f_start[n_rows] = rev_time
                    f_end[n_rows] = OPEN_END
                    slots[u, n_slots[u]] = cand
                    slot_row[u, n_slots[u]] = n_rows
                    n_slots[u] += 1
                    followers[cand] += 1
                    n_rows += 1

        # 4. the sides of the ideas opened in this epoch
        for i in range(epoch_indptr[k], epoch_indptr[k + 1]):
            u = idea_trader[i]
            inst = idea_instrument[i]
            b = idea_open_bar[i]
            for q in range(n_inst):
                signal_v[q] = signal[q, b]
                herd_v[q] = herd[q, b]
            own = skill[u] * signal_v[inst] + cluster_error * cluster_err[cluster[u], inst, b]
            # popular traders play to the crowd: their weight on the platform-wide
            # sentiment grows with their audience
            crowd = 1.0 + herd_popularity * np.log1p(followers[u])
            own += crowd * herd_load[u] * herd_v[inst] + idio_noise * idea_noise[i]
            if n_slots[u] > 0 and social_learning > 0:
                view = 0.0
                for s in range(n_slots[u]):
                    leader = slots[u, s]
                    view += skill[leader] * signal_v[inst]
                    view += cluster_error * cluster_err[cluster[leader], inst, b]
                    crowd = 1.0 + herd_popularity * np.log1p(followers[leader])
                    view += crowd * herd_load[leader] * herd_v[inst]
                own += social_learning * view / n_slots[u]
            side[i] = 1 if own >= 0 else -1

    return (
        side,
        f_follower[:n_rows].copy(),
        f_leader[:n_rows].copy(),
        f_start[:n_rows].copy(),
        f_end[:n_rows].copy(),
    )


@njit(cache=True, nogil=True)
def _grow_i4(a, n_used, cap):
    b = np.empty(cap, dtype=np.int32)
    b[:n_used] = a[:n_used]
    return b


@njit(cache=True, nogil=True)
def _grow_i8(a, n_used, cap):
    b = np.empty(cap, dtype=np.int64)
    b[:n_used] = a[:n_used]
    return b
