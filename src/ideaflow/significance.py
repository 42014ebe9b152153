"""Tests and wording for strategy comparisons: bootstrap p-values, Holm's adjustment,
uplift only against a base clearly away from zero, and a one-line verdict.

- `bootstrap_p_values`: two-sided p-value of "the total is 0" from moving-block bootstrap
  replicates (`ideaflow.stats.moving_block_bootstrap`): the replicates' deviations from
  their mean stand for the estimate's deviations under the null, and p is the share
  (with the usual +1 correction) of deviations at least as far from 0 as the estimate.
- `holm`: Holm's step-down adjustment (family-wise error) of a family of p-values.
- `uplift_or_points`: relative uplift in percent only when the base's interval excludes
  0; otherwise the caller reports the difference in points.
- `verdict`: "at matched exposure, diverse beats isolation by X points [lo, hi]".
"""

from __future__ import annotations

import numpy as np

from ideaflow.errors import ParameterError


def bootstrap_p_values(estimate: np.ndarray, boot: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-values of `estimate` (shape (m,)) against 0.

    `boot` holds replicates (shape (n_boot, m)); p = (1 + #{|boot - mean(boot)| >=
    |estimate|}) / (n_boot + 1). NaN where the estimate is NaN.
    """
    est = np.atleast_1d(np.asarray(estimate, dtype=np.float64))
    reps = np.asarray(boot, dtype=np.float64)
    if reps.ndim == 1:
        reps = reps[:, None]
    if reps.shape[1] != est.shape[0]:
        raise ParameterError(
            f"boot: expected {est.shape[0]} columns (one per estimate); found {reps.shape[1]}"
        )
    deviation = np.abs(reps - reps.mean(axis=0))
    extreme = (deviation >= np.abs(est)[None, :]).sum(axis=0)
    p = (1.0 + extreme) / (reps.shape[0] + 1.0)
    return np.where(np.isfinite(est), p, np.nan)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: sorted ascending, the i-th (from 0) of m is multiplied by
    `m - i`, made non-decreasing, capped at 1; NaNs are left out of the family."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.shape[0]
    if m == 0:
        return out
    if (p[valid] < 0).any() or (p[valid] > 1).any():
        raise ParameterError("p_values: expected numbers in [0, 1]; found others")
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def clearly_nonzero(low: float, high: float) -> bool:
    """Whether an interval lies wholly on one side of 0."""
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def uplift_or_points(value: float, base: float, base_low: float, base_high: float) -> float:
    """`(value - base) / |base| * 100` when the base's interval [base_low, base_high]
    excludes 0, else NaN (report the difference in points instead)."""
    if not clearly_nonzero(base_low, base_high) or not np.isfinite(value):
        return float("nan")
    return float((value - base) / abs(base) * 100.0)


def points(value: float) -> str:
    """A difference of ROIs (fractions) in percentage points, signed."""
    return "-" if not np.isfinite(value) else f"{100.0 * value:+.2f}"


def verdict(
    exposure: str,
    a: str,
    b: str,
    diff: float,
    low: float,
    high: float,
    p_holm: float | None = None,
    metric: str = "mean ROI",
) -> str:
    """One line in words: "at matched exposure, diverse beats isolation by +0.45 points
    [+0.10, +0.80] of mean ROI (Holm p = 0.012)"."""
    where = f"at {exposure} exposure"
    span = f"[{points(low)}, {points(high)}]"
    p_text = "" if p_holm is None or not np.isfinite(p_holm) else f" (Holm p = {p_holm:.3g})"
    if np.isfinite(low) and low > 0:
        return f"{where}, {a} beats {b} by {100.0 * diff:.2f} points {span} of {metric}{p_text}"
    if np.isfinite(high) and high < 0:
        return f"{where}, {a} trails {b}: {points(diff)} points {span} of {metric}{p_text}"
    return (
        f"{where}, {a} is indistinguishable from {b}: {points(diff)} points {span} "
        f"of {metric}{p_text}"
    )
