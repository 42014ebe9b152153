"""Seeded bootstrap intervals used by the analytics (percentile and m-out-of-n).

The analytics resample *units* (trades or traders) with replacement. On large samples a
replicate draws only `max_sample` units (an m-out-of-n bootstrap) and the interval is
rescaled by sqrt(m / n) around the point estimate (the "basic" interval), which is valid
for root-n statistics such as means, medians and correlations and keeps `ideaflow analyze`
linear in the data. Everything is driven by `numpy.random.default_rng(seed)`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DEFAULT_N_BOOT = 1000
DEFAULT_MAX_SAMPLE = 50_000
CI_LEVEL = 0.95


def bootstrap_interval(
    stat: Callable[[np.ndarray], np.ndarray | float],
    n: int,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    ci: float = CI_LEVEL,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point estimate and interval of `stat(indices)` over bootstrap resamples of n units.

    `stat` receives an int64 index array into the n units (all of them, in order, for the
    point estimate) and returns a float or a 1-d array. Returns (point, lo, hi) as float
    arrays (NaN where a replicate could not compute the statistic often enough).
    """
    rng = np.random.default_rng(seed)
    point = np.atleast_1d(np.asarray(stat(np.arange(n, dtype=np.int64)), dtype=np.float64))
    if n < 2 or n_boot < 1:
        nan = np.full_like(point, np.nan)
        return point, nan, nan.copy()
    m = min(n, max_sample)
    reps = np.empty((n_boot, point.shape[0]))
    for b in range(n_boot):
        idx = rng.integers(0, n, size=m)
        reps[b] = np.asarray(stat(idx), dtype=np.float64)
    alpha = (1.0 - ci) / 2.0
    lo = np.full_like(point, np.nan)
    hi = np.full_like(point, np.nan)
    for k in range(point.shape[0]):
        col = reps[:, k]
        col = col[np.isfinite(col)]
        # too few finite replicates (e.g. an empty bin in most resamples): no interval
        if col.shape[0] < max(10, n_boot // 2) or not np.isfinite(point[k]):
            continue
        q_lo, q_hi = np.quantile(col, [alpha, 1.0 - alpha])
        if m == n:
            lo[k], hi[k] = q_lo, q_hi
        else:
            # m-out-of-n: spread of the m-sample statistic shrunk to an n-sample one
            scale = np.sqrt(m / n)
            centre = np.median(col)
            lo[k] = point[k] + scale * (q_lo - centre)
            hi[k] = point[k] + scale * (q_hi - centre)
    return point, lo, hi


def mean_median_interval(
    values: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    ci: float = CI_LEVEL,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> dict[str, float]:
    """Mean and median of `values` with bootstrap intervals (keys mean, mean_lo, ...)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = values.shape[0]
    if n == 0:
        nan = float("nan")
        return {
            "n": 0,
            "mean": nan,
            "mean_lo": nan,
            "mean_hi": nan,
            "median": nan,
            "median_lo": nan,
            "median_hi": nan,
        }

    def stat(idx: np.ndarray) -> np.ndarray:
        sample = values[idx]
        return np.array([sample.mean(), np.median(sample)])

    point, lo, hi = bootstrap_interval(
        stat, n, n_boot=n_boot, seed=seed, ci=ci, max_sample=max_sample
    )
    return {
        "n": int(n),
        "mean": float(point[0]),
        "mean_lo": float(lo[0]),
        "mean_hi": float(hi[0]),
        "median": float(point[1]),
        "median_lo": float(lo[1]),
        "median_hi": float(hi[1]),
    }
