"""The social layer: who mirrors whom over time, and the sides of the ideas.

Time is cut into revision epochs of `revision_days`. At each epoch boundary (see
`simulate_platform_nb` for the exact order):

1. every trader's trailing performance (PnL of its ideas closed within
   `performance_window_days`, over its initial equity) is updated;
2. a visible trader `j` (one that has opened an idea before the boundary) gets the
   choice weight `exp(w_popularity * log(1 + followers_j) + w_performance * z(perf_j)
   + w_charisma * z(log charisma_j))`, fixed for the epoch;
3. social traders who have joined revise: at their joining epoch they pick their
   `target_leaders`; afterwards, with their own exploration rate, they drop the worst
   trailing performers among their leaders (`drop_share`) and refill (with
   `shortlist > 1`, keeping the best trailing performer of one weighted and
   `shortlist - 1` uniform draws), each draw made inside their own style cluster with
   probability `homophily`, else platform-wide;
4. the ideas opened during the epoch take their side (module `ideas`), including the
   mean view of the trader's current leaders weighted by `social_learning`.

Follows start at the revision time (the boundary plus a jitter of up to an hour) and end
when the leader is dropped (or never).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ideaflow.data import NS_PER_DAY, NS_PER_HOUR, OPEN_END
from ideaflow.kernels.synth import simulate_platform_nb
from ideaflow.synth.ideas import Ideas
from ideaflow.synth.params import SynthParams
from ideaflow.synth.traders import Traders


@dataclass(frozen=True, eq=False)
class SocialOutcome:
    side: np.ndarray  # int8 per idea
    follower: np.ndarray  # int32 trader codes
    leader: np.ndarray  # int32
    start_time: np.ndarray  # int64 ns
    end_time: np.ndarray  # int64 ns, OPEN_END when never ended
    allocation: np.ndarray  # float64


def epoch_ns(params: SynthParams) -> int:
    return max(int(params.revision_days * NS_PER_DAY), 2 * NS_PER_HOUR)


def n_epochs(params: SynthParams, start_ns: int, last_ns: int) -> int:
    """Number of revision epochs whose boundary lies in [start, last)."""
    return max(1, int(-(-(last_ns - start_ns) // epoch_ns(params))))


def _indptr(keys: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(keys, minlength=n_bins)[:n_bins]
    out = np.zeros(n_bins + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _ordered_by_epoch(
    epoch: np.ndarray, eligible: np.ndarray, n_ep: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(eligible & (epoch < n_ep))
    order = rows[np.argsort(epoch[rows], kind="stable")]
    return order.astype(np.int64), _indptr(epoch[order], n_ep)


def simulate_social(
    params: SynthParams,
    traders: Traders,
    ideas: Ideas,
    signal: np.ndarray,
    cluster_err: np.ndarray,
    herd: np.ndarray,
    start_ns: int,
    n_ep: int,
    seed: int,
) -> SocialOutcome:
    """Run the social kernel over all epochs."""
    step = epoch_ns(params)
    open_epoch = (ideas.open_time - start_ns) // step
    epoch_indptr = np.searchsorted(open_epoch, np.arange(n_ep + 1)).astype(np.int64)
    epoch_indptr[-1] = len(ideas)

    closed = ideas.close_time != OPEN_END
    close = np.where(closed, ideas.close_time, start_ns)
    # the first boundary t_k = start + k*step with t_k >= close sees the closed idea
    add_epoch = -(-(close - start_ns) // step)
    window = int(params.performance_window_days * NS_PER_DAY)
    remove_epoch = -(-(close + window - start_ns) // step)
    add_order, add_indptr = _ordered_by_epoch(add_epoch, closed, n_ep)
    remove_order, remove_indptr = _ordered_by_epoch(remove_epoch, closed, n_ep)

    never = np.int32(n_ep + 1)
    visible = np.full(traders.n, never, dtype=np.int32)
    # ideas are sorted by time, so the first occurrence of a trader is its first idea;
    # it becomes visible at the next boundary
    first_rows = np.unique(ideas.trader, return_index=True)
    visible[first_rows[0]] = (open_epoch[first_rows[1]] + 1).astype(np.int32)

    by_cluster = np.argsort(traders.cluster, kind="stable").astype(np.int64)
    cluster_indptr = _indptr(traders.cluster, params.n_clusters)

    side, follower, leader, start, end = simulate_platform_nb(
        ideas.trader,
        ideas.instrument,
        ideas.open_bar,
        ideas.noise,
        ideas.move,
        ideas.fee,
        epoch_indptr,
        add_order,
        add_indptr,
        remove_order,
        remove_indptr,
        signal,
        cluster_err,
        herd,
        traders.skill,
        traders.cluster,
        traders.herd_load,
        traders.charisma_z,
        traders.exploration_rate,
        traders.target_leaders,
        traders.join_epoch,
        visible,
        traders.initial_equity,
        by_cluster,
        cluster_indptr,
        float(params.w_popularity),
        float(params.w_performance),
        float(params.w_charisma),
        float(params.homophily),
        float(params.drop_share),
        float(params.social_learning),
        float(params.cluster_error),
        float(params.idio_noise),
        float(params.herd_popularity),
        int(params.shortlist),
        int(params.max_leaders),
        np.int64(start_ns),
        np.int64(step),
        np.int64(min(NS_PER_HOUR, step // 2)),
        np.uint64(seed),
    )
    allocation = (
        traders.initial_equity[follower]
        * params.allocation_share
        / np.maximum(traders.target_leaders[follower], 1)
    )
    allocation = np.maximum(np.round(allocation, 2), 0.01)
    return SocialOutcome(side, follower, leader, start, end, allocation)
