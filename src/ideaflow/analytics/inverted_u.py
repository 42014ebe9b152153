"""The inverted U of return against idea flow (docs/contract.md §6; Pentland 2013), and social vs
single trades (Pan et al. 2012).

Inverted U: `binned_fit(idea_flow, roi, bins, transform="linear", fit="quadratic")` over
traders with trades. Reported: the bin table (mean ROI per bin with bootstrap intervals),
the curvature (t^2 coefficient), its sign and two-sided p-value, the vertex -b / (2a) and
whether it lies inside the observed idea-flow range, and the uplift of the best bin (the
highest mean ROI) over the lowest-flow bin and over the highest-flow bin, both relative,
(best - other) / |other| * 100, and in ROI points, best - other. The relative uplift is
unstable when the other bin's mean is near 0 (it can flip sign or explode), which is why
both are reported. Intervals resample traders (seeded bootstrap) with the bins and the
choice of the best bin held fixed.

A planted inverted U is `found` when the curvature is negative with p < 0.05 and the
vertex lies inside the observed range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ideaflow.analytics._bootstrap import (
    DEFAULT_MAX_SAMPLE,
    DEFAULT_N_BOOT,
    bootstrap_interval,
    mean_median_interval,
)
from ideaflow.analytics.fit import BinnedFit, binned_fit
from ideaflow.analytics.published import cite


def _uplifts(best: float, other: float) -> tuple[float, float]:
    rel = (best - other) / abs(other) * 100.0 if other != 0 else float("nan")
    return rel, best - other


def inverted_u_finding(
    flow: np.ndarray,
    roi: np.ndarray,
    *,
    bins: int = 10,
    binning: str = "quantile",
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
    alpha: float = 0.05,
) -> tuple[dict[str, Any], BinnedFit | None]:
    """The inverted-U finding and its BinnedFit (None when there are too few traders)."""
    out: dict[str, Any] = {
        "published": {"uplift_pct": 30.0, **cite("idea_flow_uplift_pct")},
        "method": (
            f"traders binned by idea flow ({binning} bins); mean ROI per bin with trader "
            "bootstrap intervals; OLS of ROI on flow and flow^2 over traders; "
            "uplift = (best bin - other) / |other| * 100 and best - other in ROI points"
        ),
    }
    ok = np.isfinite(flow) & np.isfinite(roi)
    try:
        fit = binned_fit(
            flow[ok],
            roi[ok],
            bins=bins,
            transform="linear",
            fit="quadratic",
            binning=binning,
            n_boot=n_boot,
            seed=seed,
            max_sample=max_sample,
        )
    except ValueError as exc:
        out["error"] = str(exc)
        out["found"] = False
        return out, None
    out["fit"] = fit.to_dict()
    out["curvature"] = fit.curvature
    out["curvature_p"] = float(fit.pvalues[2])
    out["curvature_sign"] = int(np.sign(fit.curvature)) if np.isfinite(fit.curvature) else 0
    out["peak_x"] = fit.peak_x
    out["peak_inside"] = fit.peak_inside
    out["r2"] = fit.r2
    out["n_traders"] = fit.n
    out["found"] = bool(fit.curvature < 0 and float(fit.pvalues[2]) < alpha and fit.peak_inside)
    means = fit.table["y_mean"].to_numpy()
    n_bins = means.shape[0]
    best = int(np.nanargmax(means))
    out["best_bin"] = best
    # docs/contract.md §6 compares with "the isolated": the lowest-flow bin is exactly them when the
    # traders at idea flow 0 fill at least one bin (quantile bins keep ties together)
    out["lowest_bin_is_isolated"] = bool(fit.table["x_hi"].iloc[0] == 0.0)
    out["n_bins"] = n_bins
    labels = fit.bin_of_point[fit.bin_of_point >= 0]
    y = roi[ok]

    def stat(idx: np.ndarray) -> np.ndarray:
        c = np.bincount(labels[idx], minlength=n_bins)
        s = np.bincount(labels[idx], weights=y[idx], minlength=n_bins)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        low_rel, low_pts = _uplifts(m[best], m[0])
        high_rel, high_pts = _uplifts(m[best], m[-1])
        return np.array([low_rel, low_pts, high_rel, high_pts])

    point, lo, hi = bootstrap_interval(
        stat, int(labels.shape[0]), n_boot=n_boot, seed=seed + 7, max_sample=max_sample
    )
    names = [
        "uplift_vs_lowest_pct",
        "uplift_vs_lowest_pts",
        "uplift_vs_highest_pct",
        "uplift_vs_highest_pts",
    ]
    for k, name in enumerate(names):
        out[name] = {"value": float(point[k]), "lo": float(lo[k]), "hi": float(hi[k])}
    return out, fit


def social_vs_single(
    ret: np.ndarray,
    is_copy: np.ndarray,
    closed: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> dict[str, Any]:
    """Mean and median return of copied (social) vs original (single) closed trades."""
    ok = closed & np.isfinite(ret)
    social = mean_median_interval(
        ret[ok & is_copy], n_boot=n_boot, seed=seed, max_sample=max_sample
    )
    single = mean_median_interval(
        ret[ok & ~is_copy], n_boot=n_boot, seed=seed + 1, max_sample=max_sample
    )
    return {
        "social": social,
        "single": single,
        "mean_difference": social["mean"] - single["mean"],
        "median_difference": social["median"] - single["median"],
        "published": {
            "claim": "social trades outperform single trades on average",
            **cite("social_vs_single"),
        },
        "method": (
            "return = pnl / amount of closed positions in the actual replay; social = has a "
            "parent; mean and median with trade bootstrap intervals"
        ),
    }
