"""Source diversity (docs/contract.md §6): how different the traders one listens to are.

Definitions used here:
- u's *leaders* are the distinct traders u ever followed (`leaders="ever"`, default) or
  those u follows at the end of the data (`leaders="end"`).
- *Pairwise correlation* of leaders a and b: Pearson correlation of their daily PnL (the
  engine's `daily_pnl` of the `actual` replay, sparse per account) over the union of the
  days on which either has a PnL entry; on a day only one of them has an entry the other
  counts as 0. Days on which neither is active are left out, so long joint idleness does
  not inflate the correlation. Pairs with fewer than 2 such days, or where either series
  is constant on them, have no correlation and are skipped.
- `diversity = 1 - mean pairwise correlation` (range 0..2): NaN with fewer than 2 leaders
  or no defined pair. Two leaders trading identically give 0.
- To bound the quadratic cost for traders with very many leaders, at most `max_leaders`
  leaders per trader enter (those with the most active days; ties by lower id), and the
  table reports how many were used.
- *Cluster entropy*: Shannon entropy in nats (natural log) of the style-cluster labels
  (`ideaflow.styles.cluster_styles`) of u's leaders; leaders without a style (too little
  history) are left out; NaN when none has one. 0 = all in one cluster; ln(k) = spread
  evenly over k clusters.
"""

from __future__ import annotations

import numpy as np

from ideaflow.analytics._graph import cap_per_group, leader_sets
from ideaflow.data import Dataset
from ideaflow.kernels.analytics import cluster_entropy_nb, leader_correlation_nb
from ideaflow.styles import cluster_styles, style_features


def daily_csr(
    account: np.ndarray, day: np.ndarray, pnl: np.ndarray, n_accounts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse daily PnL as CSR: (indptr, day, pnl), sorted by (account, day)."""
    account = np.asarray(account, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    pnl = np.asarray(pnl, dtype=np.float64)
    # the engine's daily PnL is already sorted by (account, day): sort only when it is not
    if account.shape[0] > 1:
        step_account = np.diff(account)
        in_order = bool(np.all((step_account > 0) | ((step_account == 0) & (np.diff(day) >= 0))))
        if not in_order:
            order = np.lexsort((day, account))
            account, day, pnl = account[order], day[order], pnl[order]
    # one entry per (account, day): the kernel scatters days into a buffer
    new_entry = np.ones(account.shape[0], dtype=bool)
    new_entry[1:] = (account[1:] != account[:-1]) | (day[1:] != day[:-1])
    if not new_entry.all():
        starts = np.flatnonzero(new_entry)
        pnl = np.add.reduceat(pnl, starts)
        account, day = account[starts], day[starts]
    indptr = np.zeros(n_accounts + 1, dtype=np.int64)
    np.cumsum(np.bincount(account, minlength=n_accounts), out=indptr[1:])
    return indptr, np.ascontiguousarray(day), np.ascontiguousarray(pnl)


def leader_correlation(
    leaders_indptr: np.ndarray,
    leaders: np.ndarray,
    daily: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    max_leaders: int = 64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean pairwise daily-PnL correlation of each trader's leaders.

    Returns (mean correlation, number of defined pairs, number of leaders used).
    """
    pnl_indptr, pnl_day, pnl_value = daily
    active_days = np.diff(pnl_indptr).astype(np.float64)
    indptr, members = cap_per_group(leaders_indptr, leaders, active_days, max_leaders)
    mean_corr, n_pairs = leader_correlation_nb(
        indptr, members.astype(np.int64), pnl_indptr, pnl_day, pnl_value
    )
    return mean_corr, n_pairs, np.diff(indptr)


def source_diversity(
    ds: Dataset,
    daily: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    leaders: str = "ever",
    labels: np.ndarray | None = None,
    max_leaders: int = 64,
) -> dict[str, np.ndarray]:
    """Per-trader diversity columns: leader_corr, diversity, n_leader_pairs,
    n_leaders_used, cluster_entropy (NaN everywhere when `labels` is None)."""
    indptr, members = leader_sets(ds, leaders)
    mean_corr, n_pairs, n_used = leader_correlation(indptr, members, daily, max_leaders=max_leaders)
    if labels is None:
        entropy = np.full(ds.n_traders, np.nan)
    else:
        labels = np.asarray(labels, dtype=np.int64)
        entropy = cluster_entropy_nb(
            indptr, members.astype(np.int64), labels, int(labels.max(initial=-1)) + 1
        )
    return {
        "leader_corr": mean_corr,
        "diversity": 1.0 - mean_corr,
        "n_leader_pairs": n_pairs,
        "n_leaders_used": n_used,
        "cluster_entropy": entropy,
    }


def style_labels(
    ds: Dataset, *, n_clusters: int = 8, seed: int = 0, book=None
) -> np.ndarray | None:
    """Style-cluster label per trader code (-1 = no style), from `ideaflow.styles` over the
    whole data; None when too few traders qualify."""
    start = int(ds.trades.open_time.min()) if len(ds.trades) else 0
    features = style_features(ds, start, int(ds.data_end) + 1, book=book)
    n = int(np.asarray(features.traders).shape[0])
    if n < 2:
        return None
    k = max(1, min(n_clusters, n))
    labels = np.full(ds.n_traders, -1, dtype=np.int64)
    labels[np.asarray(features.traders)] = cluster_styles(features, k, seed=seed)
    return labels
