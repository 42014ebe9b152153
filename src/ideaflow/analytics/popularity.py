"""Popularity vs performance (docs/contract.md §6; Joseph et al. 2025).

Definitions used here:
- Period ends t_k = t_0 + k * period (default 30 days; t_0 = the UTC midnight before the
  first trade; every t_k <= end of the data).
- *Follower count* of a trader at t_k: follows on it active at t_k (start <= t_k < end).
- *Trailing ROI* of a trader at t_k: realised PnL of its positions (from the `actual`
  replay) closed in (t_{k-1}, t_k], divided by its realised equity at t_{k-1}.
  *Next-period ROI*: the same over (t_k, t_{k+1}] divided by the equity at t_k.
- An observation (trader, t_k) exists when the trader closed at least one position in
  (t_{k-1}, t_k] and its equity at t_{k-1} is > 0; the next-period ROI is defined only
  when it also closed a position in (t_k, t_{k+1}] (an inactive trader's ROI is not 0,
  it is unknown).
- *Pooled Spearman*: rank correlation over all observations (scipy's average ranks);
  95% interval by a bootstrap that resamples traders (all of a trader's observations
  together, since they are not independent). Also reported: the mean of the per-period
  cross-sectional Spearman correlations.
- *Per-trader correlations over time*: for each trader with at least `min_periods`
  observations, the Spearman correlation of its follower count and its trailing ROI
  across its periods (undefined, and left out, when either is constant — e.g. a trader
  who never had a follower); reported as mean (with bootstrap interval), median, quartiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ideaflow.analytics._accounting import Ledger
from ideaflow.analytics._bootstrap import (
    DEFAULT_MAX_SAMPLE,
    DEFAULT_N_BOOT,
    bootstrap_interval,
    mean_median_interval,
)
from ideaflow.analytics._graph import unique_inverse
from ideaflow.analytics.published import cite
from ideaflow.data import NS_PER_DAY, Dataset
from ideaflow.kernels.analytics import active_count_nb


def period_ends(ds: Dataset, period_days: float) -> np.ndarray:
    """t_0, t_1, ..., t_K (int64 ns) with t_K <= data_end."""
    if len(ds.trades) == 0:
        return np.zeros(1, dtype=np.int64)
    t0 = (int(ds.trades.open_time.min()) // NS_PER_DAY) * NS_PER_DAY
    step = int(round(period_days * NS_PER_DAY))
    k_max = max(0, (int(ds.data_end) - t0) // step)
    return t0 + step * np.arange(k_max + 1, dtype=np.int64)


def follower_counts(ds: Dataset, traders: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Active follows on each trader at each time (pairwise arrays)."""
    f = ds.follows
    n = ds.n_traders
    order_s = np.lexsort((f.start_time, f.leader))
    order_e = np.lexsort((f.end_time, f.leader))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(f.leader, minlength=n), out=indptr[1:])
    return active_count_nb(
        indptr,
        f.start_time[order_s],
        f.end_time[order_e],
        np.asarray(traders, dtype=np.int64),
        np.asarray(times, dtype=np.int64),
    )


def popularity_panel(ds: Dataset, led: Ledger, *, period_days: float = 30.0) -> pd.DataFrame:
    """One row per observation (trader, period end): trader, k, time, followers,
    trailing_roi, next_roi (NaN when the trader was inactive in the next period)."""
    ends = period_ends(ds, period_days)
    n_periods = ends.shape[0] - 1
    empty = pd.DataFrame(
        {
            "trader": np.zeros(0, np.int32),
            "k": np.zeros(0, np.int64),
            "time": np.zeros(0, np.int64),
            "followers": np.zeros(0, np.int64),
            "trailing_roi": np.zeros(0),
            "next_roi": np.zeros(0),
        }
    )
    closed = led.closed
    if n_periods < 1 or not closed.any():
        return empty
    acc = led.account[closed].astype(np.int64)
    # period p holds closes in (t_{p-1}, t_p]; p = 0 before t_0, K + 1 after t_K
    p = np.searchsorted(ends, led.close_time[closed], side="left").astype(np.int64)
    width = n_periods + 2
    keys, inverse = unique_inverse(acc * width + p)
    pnl = np.bincount(inverse, weights=led.pnl[closed])
    account = keys // width
    period = keys - account * width
    # realised PnL of the account before each period: cumulative within the account
    cum = np.cumsum(pnl)
    first_row = np.searchsorted(account, account, side="left")
    before = cum - pnl - np.where(first_row > 0, cum[np.maximum(first_row - 1, 0)], 0.0)
    equity_before = led.initial_equity[account] + before
    has_next = np.zeros(account.shape[0], dtype=bool)
    has_next[:-1] = (account[1:] == account[:-1]) & (period[1:] == period[:-1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(equity_before > 0, pnl / equity_before, np.nan)
    next_roi = np.full(account.shape[0], np.nan)
    next_roi[:-1] = np.where(has_next[:-1] & (period[:-1] + 1 <= n_periods), roi[1:], np.nan)
    keep = (period >= 1) & (period <= n_periods) & np.isfinite(roi)
    account, period, roi, next_roi = account[keep], period[keep], roi[keep], next_roi[keep]
    times = ends[period]
    return pd.DataFrame(
        {
            "trader": account.astype(np.int32),
            "k": period,
            "time": times,
            "followers": follower_counts(ds, account, times),
            "trailing_roi": roi,
            "next_roi": next_roi,
        }
    )


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman correlation (average ranks); NaN when either side is constant or n < 3."""
    if x.shape[0] < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(sps.spearmanr(x, y).statistic)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape[0] < 3:
        return float("nan")
    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float((dx * dx).sum())
    syy = float((dy * dy).sum())
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float((dx * dy).sum()) / np.sqrt(sxx * syy)


def _pooled(
    panel: pd.DataFrame, column: str, *, n_boot: int, seed: int, max_sample: int
) -> dict[str, Any]:
    sub = panel[np.isfinite(panel[column].to_numpy())]
    x = sub["followers"].to_numpy(dtype=np.float64)
    y = sub[column].to_numpy()
    trader = sub["trader"].to_numpy()
    # observations are sorted by trader: CSR over traders for the cluster bootstrap
    starts = np.flatnonzero(np.r_[True, trader[1:] != trader[:-1]]) if trader.size else trader
    lengths = np.diff(np.r_[starts, trader.shape[0]])

    # rank once; a replicate correlates the ranks of its rows (Pearson on ranks), which
    # is the resample's Spearman up to O(1/n) tie/rank shifts and keeps replicates O(m)
    rx = sps.rankdata(x) if x.size else x
    ry = sps.rankdata(y) if y.size else y

    def stat(idx: np.ndarray) -> float:
        lens = lengths[idx]
        offsets = np.repeat(starts[idx] - np.cumsum(lens) + lens, lens)
        rows = offsets + np.arange(int(lens.sum()))
        return _pearson(rx[rows], ry[rows])

    # the m-out-of-n cap counts observations, not traders: a replicate draws about
    # max_sample rows whatever the number of periods per trader
    n_traders = int(starts.shape[0])
    per_trader = x.shape[0] / max(n_traders, 1)
    max_traders = max(10, int(max_sample / max(per_trader, 1.0)))
    _, lo, hi = bootstrap_interval(
        stat, n_traders, n_boot=n_boot, seed=seed, max_sample=max_traders
    )
    value = spearman(x, y)
    per_period = [
        spearman(g["followers"].to_numpy(dtype=np.float64), g[column].to_numpy())
        for _, g in sub.groupby("k", sort=True)
    ]
    per_period_arr = np.array([r for r in per_period if np.isfinite(r)])
    return {
        "value": value,
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "n_obs": int(x.shape[0]),
        "n_traders": int(starts.shape[0]),
        "per_period_mean": float(per_period_arr.mean()) if per_period_arr.size else float("nan"),
        "n_periods": int(per_period_arr.size),
    }


def per_trader_correlations(panel: pd.DataFrame, *, min_periods: int = 3) -> pd.Series:
    """Spearman of followers vs trailing ROI across each trader's periods (defined ones)."""
    counts = panel.groupby("trader")["k"].transform("size")
    sub = panel[counts >= min_periods]
    if sub.empty:
        return pd.Series(dtype=np.float64)
    g = sub.groupby("trader")
    rx = g["followers"].rank(method="average").to_numpy()
    ry = g["trailing_roi"].rank(method="average").to_numpy()
    codes, trader = unique_inverse(sub["trader"].to_numpy())
    n = np.bincount(trader).astype(np.float64)
    mx = np.bincount(trader, weights=rx) / n
    my = np.bincount(trader, weights=ry) / n
    dx = rx - mx[trader]
    dy = ry - my[trader]
    sxy = np.bincount(trader, weights=dx * dy)
    sxx = np.bincount(trader, weights=dx * dx)
    syy = np.bincount(trader, weights=dy * dy)
    ok = (sxx > 1e-12) & (syy > 1e-12)
    r = sxy[ok] / np.sqrt(sxx[ok] * syy[ok])
    return pd.Series(np.clip(r, -1.0, 1.0), index=pd.Index(codes[ok], name="trader"))


def popularity_performance(
    panel: pd.DataFrame,
    *,
    min_periods: int = 3,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> dict[str, Any]:
    """The popularity-vs-performance finding (see module docstring)."""
    per_trader = per_trader_correlations(panel, min_periods=min_periods).to_numpy()
    dist = mean_median_interval(per_trader, n_boot=n_boot, seed=seed + 2, max_sample=max_sample)
    quartiles = (
        np.quantile(per_trader, [0.25, 0.75]) if per_trader.size else np.array([np.nan, np.nan])
    )
    return {
        "spearman_trailing": _pooled(
            panel, "trailing_roi", n_boot=n_boot, seed=seed, max_sample=max_sample
        ),
        "spearman_next": _pooled(
            panel, "next_roi", n_boot=n_boot, seed=seed + 1, max_sample=max_sample
        ),
        "per_trader": {
            "n": int(per_trader.size),
            "mean": dist["mean"],
            "mean_lo": dist["mean_lo"],
            "mean_hi": dist["mean_hi"],
            "median": dist["median"],
            "q25": float(quartiles[0]),
            "q75": float(quartiles[1]),
            "min_periods": int(min_periods),
        },
        "published": {"per_trader_mean": 0.11, **cite("popularity_per_trader_corr")},
        "method": (
            "follower count at each period end vs ROI of positions closed in the trailing "
            "(or next) period over equity at its start; Spearman pooled over (trader, "
            "period) with a trader-cluster bootstrap; per-trader Spearman across periods"
        ),
    }
