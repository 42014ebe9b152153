"""Who is in force for each subject in each period: leaders (herd/top/random) and
evaluators (diverse/echo), chosen walk-forward at every rebalance time r.

All selections return an int32 array (n_subjects, n_periods, k) of trader codes padded
with -1 (fewer than k available), and never contain the subject itself. Evaluators are
chosen only for (subject, period) pairs with at least one idea to vote on.

- herd: the k traders with the most active followers at r (follows with
  `start <= r < end`), ties by lowest id; traders without followers are never leaders.
- top: the k best trailing ROIs over [r - lookback, r): realised PnL of positions closed
  in the window / realised equity just before the window, among traders with
  >= min_history closed positions there and positive equity; ties by lowest id.
- random: k traders drawn (seeded, counter-based per (period, subject)) from the traders
  with at least one position opened before r.
- diverse: candidates = traders with >= min_history positions closed in the lookback;
  style vectors (`ideaflow.styles`) scaled and clustered (KMeans, `n_clusters` clusters);
  clusters ordered by the distance of their centre from the subject's own style vector,
  farthest first; the subject takes the best trailing performer of each cluster in that
  order, then the second best of each, ... until k. A subject without closed positions in
  the window has no style vector: its clusters are ordered by their best performer.
- echo: the k candidates nearest to the subject in the scaled style space (ties by lowest
  id); a subject without a style vector in the window gets no evaluators (support 0).
- popular: herd's k traders (most active followers at r), as evaluators.
- expert: top's k traders (best trailing ROI), as evaluators.
- diverse-random: diverse's clusters in diverse's order, but a random member of each
  (seeded, counter-based per (period, subject, cluster)) instead of its best performer.
"""

from __future__ import annotations

import numpy as np

from ideaflow.kernels.strategy import (
    exclude_self_nb,
    probed_nearest_nb,
    random_leaders_nb,
    random_member_pick_nb,
    round_robin_pick_nb,
)
from ideaflow.strategies.rebalance import Frame, subject_ideas
from ideaflow.styles import StyleFeatures, fit_style_clusters, style_features


def _empty_sets(frame: Frame) -> np.ndarray:
    return np.full((frame.n_subjects, frame.n_periods, frame.params.k), -1, dtype=np.int32)


def _ranked(score: np.ndarray, eligible: np.ndarray, limit: int) -> np.ndarray:
    """Trader codes of the eligible, best score first, ties by lowest code."""
    codes = np.flatnonzero(eligible)
    order = np.lexsort((codes, -score[codes]))
    return codes[order][:limit].astype(np.int32)


def herd_sets(frame: Frame) -> np.ndarray:
    sets = _empty_sets(frame)
    follows = frame.ds.follows
    k = frame.params.k
    for j, r in enumerate(frame.times):
        active = (follows.start_time <= r) & (r < follows.end_time)
        counts = np.bincount(follows.leader[active], minlength=frame.ds.n_traders)
        ranked = _ranked(counts.astype(np.float64), counts > 0, k + 1)
        sets[:, j, :] = exclude_self_nb(ranked, frame.subjects, k)
    return sets


def trailing_roi(frame: Frame, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Per trader code: trailing ROI over [r - lookback, r) and eligibility."""
    start = int(r) - frame.params.lookback_ns
    counts, pnl = frame.closed_counts_pnl(start, int(r))
    equity = frame.equity_before(start)
    eligible = (counts >= frame.params.min_history) & (equity > 0)
    roi = np.where(equity > 0, pnl / np.where(equity > 0, equity, 1.0), -np.inf)
    return roi, eligible


def top_sets(frame: Frame) -> np.ndarray:
    sets = _empty_sets(frame)
    k = frame.params.k
    for j, r in enumerate(frame.times):
        roi, eligible = trailing_roi(frame, int(r))
        ranked = _ranked(roi, eligible, k + 1)
        sets[:, j, :] = exclude_self_nb(ranked, frame.subjects, k)
    return sets


def random_sets(frame: Frame) -> np.ndarray:
    sets = _empty_sets(frame)
    trades = frame.ds.trades
    first_open = np.full(frame.ds.n_traders, np.iinfo(np.int64).max, dtype=np.int64)
    traders, first_row = np.unique(trades.trader, return_index=True)
    first_open[traders] = trades.open_time[first_row]
    for j, r in enumerate(frame.times):
        pool = np.flatnonzero(first_open < r).astype(np.int32)
        sets[:, j, :] = random_leaders_nb(
            frame.params.seed, j, frame.subjects, pool, frame.params.k
        )
    return sets


EXACT_NEAREST_MAX = 50_000  # above this many candidates, echo searches probed cells
N_PROBE = 16
MAX_SCAN = 4096  # candidates examined per subject at most in the probed search


def _nearest_probed(
    subject_vectors: np.ndarray,
    subject_codes: np.ndarray,
    cand_vectors: np.ndarray,
    cand_codes: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """Approximate k nearest for very large candidate sets: candidates are bucketed into
    ~sqrt(n) KMeans cells (fitted on a seeded subsample); each subject searches its
    N_PROBE nearest cells, nearest first, examining at most MAX_SCAN candidates (an
    inverted-file index)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    n_cand = cand_codes.shape[0]
    n_cells = int(min(1024, max(16, np.sqrt(n_cand))))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n_cand, min(n_cand, 50 * n_cells), replace=False))
    with threadpool_limits(1):
        model = KMeans(n_clusters=n_cells, n_init=1, max_iter=25, random_state=seed)
        model.fit(cand_vectors[pick])
        cells = model.predict(cand_vectors)
    members = np.argsort(cells, kind="stable")  # by cell, ascending code within a cell
    indptr = np.zeros(n_cells + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(cells, minlength=n_cells))
    centers = model.cluster_centers_
    # each cell's radius: the largest distance of a member from its centre
    radius = np.zeros(n_cells)
    np.maximum.at(radius, cells, np.sqrt(((cand_vectors - centers[cells]) ** 2).sum(axis=1)))
    # the cell holding the subject itself, when the subject is a candidate
    pos = np.minimum(np.searchsorted(cand_codes, subject_codes), n_cand - 1)
    subject_cell = np.where(cand_codes[pos] == subject_codes, cells[pos], -1)
    n_probe = min(N_PROBE, n_cells)
    probes = np.empty((subject_vectors.shape[0], n_probe), dtype=np.int64)
    probe_dist = np.empty((subject_vectors.shape[0], n_probe))
    # small steps: the (step x cells) temporaries stay in reused memory instead of fresh
    # pages on every step (which cost more than the arithmetic)
    step = 1024
    squared = (centers**2).sum(axis=1)[None, :]
    for a in range(0, subject_vectors.shape[0], step):
        chunk = subject_vectors[a : a + step]
        d2 = squared - 2.0 * chunk @ centers.T
        near = np.argpartition(d2, n_probe - 1, axis=1)[:, :n_probe]
        # nearest cell first, so the scan budget goes to the closest candidates
        order = np.argsort(np.take_along_axis(d2, near, axis=1), axis=1, kind="stable")
        probes[a : a + step] = np.take_along_axis(near, order, axis=1)
        # the distances themselves, from differences (no cancellation), for the cell bound
        diff = chunk[:, None, :] - centers[probes[a : a + step]]
        probe_dist[a : a + step] = np.sqrt((diff**2).sum(axis=2))
    # subjects searched in the order of their nearest cell, so that consecutive searches
    # read the same cells from the cache (each subject's result does not depend on it)
    by_cell = np.argsort(probes[:, 0], kind="stable")
    found = probed_nearest_nb(
        np.ascontiguousarray(subject_vectors[by_cell]),
        subject_codes[by_cell].astype(np.int64),
        subject_cell[by_cell].astype(np.int64),
        probes[by_cell],
        probe_dist[by_cell],
        indptr,
        radius,
        np.ascontiguousarray(cand_vectors[members].T),
        cand_codes[members].astype(np.int64),
        k,
        MAX_SCAN,
    )
    out = np.empty_like(found)
    out[by_cell] = found
    return out


def _nearest(
    subject_vectors: np.ndarray,
    subject_codes: np.ndarray,
    cand_vectors: np.ndarray,
    cand_codes: np.ndarray,
    k: int,
) -> np.ndarray:
    """k nearest candidates (not the subject itself) per subject (scikit-learn, brute force:
    faster than trees for ~10 dimensions)."""
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    n = subject_vectors.shape[0]
    out = np.full((n, k), -1, dtype=np.int32)
    take = min(k + 1, cand_codes.shape[0])
    if take == 0 or n == 0:
        return out
    with threadpool_limits(1):  # small queries: threads cost more than they give
        tree = NearestNeighbors(n_neighbors=take, algorithm="brute").fit(cand_vectors)
        _, index = tree.kneighbors(subject_vectors)
    codes = cand_codes[index]
    # drop the subject itself, keep the first k others in distance order
    others = codes != subject_codes[:, None]
    rank = np.cumsum(others, axis=1)
    keep = others & (rank <= k)
    rows, cols = np.nonzero(keep)
    out[rows, rank[rows, cols] - 1] = codes[rows, cols]
    return out


def _kept_rows(frame: Frame, feats: StyleFeatures) -> StyleFeatures:
    """Only the rows evaluator selection reads: candidates and subjects. Each row depends on
    its own trader's positions and platform-wide totals only, so dropping the others
    changes nothing, and the features cached for every period take far less memory."""
    keep = (feats.n_closed >= frame.params.min_history) | (frame.subject_of[feats.traders] >= 0)
    if keep.all():
        return feats
    return StyleFeatures(
        feats.traders[keep],
        feats.matrix[keep],
        feats.names,
        feats.n_closed[keep],
        feats.pnl[keep],
    )


def evaluator_sets(
    frame: Frame, name: str, *, every_period: bool = False, rows: slice | None = None
) -> np.ndarray:
    """Evaluators of `diverse`, `diverse-random` or `echo` for every subject and period
    (with `every_period`, also the periods without an idea of the subject: leaders to copy).

    `rows`: only the subjects of this slice (the others stay -1). Each subject's row
    depends on the shared per-period state (candidates, clusters) and its own style
    only, so the rows of a slice equal those of a whole run (`strategies.partition`).
    """
    sets = _empty_sets(frame)
    params = frame.params
    k = params.k
    # evaluators matter only for the subjects with ideas in the period
    ideas = subject_ideas(frame)
    needed = np.full((frame.n_subjects, frame.n_periods), every_period, dtype=bool)
    needed[ideas.subject, ideas.period] = True
    if rows is not None:
        inside = np.zeros(frame.n_subjects, dtype=bool)
        inside[rows] = True
        needed &= inside[:, None]
    for j, r in enumerate(frame.times):
        if not needed[:, j].any():
            continue
        start = int(r) - params.lookback_ns
        key = ("styles", j)
        if key not in frame.cache:
            frame.cache[key] = _kept_rows(
                frame,
                style_features(frame.ds, start, int(r), min_history=1, columns=frame.cols),
            )
        feats = frame.cache[key]
        if len(feats) == 0:
            continue
        is_cand = feats.n_closed >= params.min_history
        cand = feats.traders[is_cand]
        if cand.shape[0] == 0:
            continue
        # echo only needs the scaled space, not the clusters
        n_clusters = 1 if name == "echo" else params.clusters
        fitted = fit_style_clusters(feats.matrix[is_cand], n_clusters, seed=params.seed)
        pos = np.searchsorted(feats.traders, frame.subjects)
        pos_ok = np.minimum(pos, len(feats) - 1)
        has_style = (pos < len(feats)) & (feats.traders[pos_ok] == frame.subjects)
        styled = np.flatnonzero(has_style & needed[:, j])
        subject_vectors = fitted.transform(feats.matrix[pos_ok[styled]])
        if name == "echo" and cand.shape[0] > EXACT_NEAREST_MAX:
            sets[styled, j, :] = _nearest_probed(
                subject_vectors, frame.subjects[styled], fitted.scaled, cand, k, params.seed
            )
            continue
        if name == "echo":
            sets[styled, j, :] = _nearest(
                subject_vectors, frame.subjects[styled], fitted.scaled, cand, k
            )
            continue
        equity = frame.equity_before(start)[cand]
        perf = np.where(equity > 0, feats.pnl[is_cand] / np.where(equity > 0, equity, 1.0), -np.inf)
        labels = fitted.labels
        n_clusters = fitted.centers.shape[0]
        members = np.lexsort((cand, -perf, labels))
        cluster_indptr = np.zeros(n_clusters + 1, dtype=np.int64)
        cluster_indptr[1:] = np.cumsum(np.bincount(labels, minlength=n_clusters))
        best = np.full(n_clusters, -np.inf)
        np.maximum.at(best, labels, perf)
        default_order = np.lexsort((np.arange(n_clusters), -best)).astype(np.int32)
        chosen = np.flatnonzero(needed[:, j])
        order = np.tile(default_order, (frame.n_subjects, 1))
        if styled.shape[0]:
            dist = ((subject_vectors[:, None, :] - fitted.centers[None, :, :]) ** 2).sum(axis=2)
            order[styled] = np.argsort(-np.round(dist, 12), axis=1, kind="stable")
        if name == "diverse-random":
            # the same clusters in the same order, a random member of each
            by_code = np.lexsort((cand, labels))
            sets[chosen, j, :] = random_member_pick_nb(
                order[chosen].astype(np.int32),
                cluster_indptr,
                cand[by_code].astype(np.int32),
                frame.subjects[chosen],
                k,
                np.int64(params.seed),
                np.int64(j),
            )
            continue
        sets[chosen, j, :] = round_robin_pick_nb(
            order[chosen].astype(np.int32),
            cluster_indptr,
            cand[members].astype(np.int32),
            frame.subjects[chosen],
            k,
        )
    return sets


def selection_sets(frame: Frame, name: str) -> np.ndarray:
    # popular and expert vote with the traders herd and top would copy
    if name in ("herd", "popular"):
        return herd_sets(frame)
    if name in ("top", "expert"):
        return top_sets(frame)
    if name == "random":
        return random_sets(frame)
    return evaluator_sets(frame, name)
