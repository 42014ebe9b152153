"""Exploration (docs/contract.md §6; Joseph et al. 2025): how often traders revise whom they mirror.

Definitions used here:
- *Follow events* of u: starts of u's follows, plus ends of u's follows that end at or
  before the end of the data (a follow that never ends has no end event).
- *Months active* of u: from u's first to its last event (trade opens and closes, follow
  starts and ends), in months of 30.4375 days, at least 1 (so a trader seen for a day is
  not credited with an enormous rate).
- *Exploration rate* = follow events / months active. Only traders who ever followed
  someone enter the exploration finding (for the others it is not a choice they made).
- The finding fits ROI on log(rate) with `binned_fit` (traders with rate > 0; the slope
  is reported in ROI per log unit and in basis points, 1 bp = 1e-4) and compares the ROI
  of explorers (top third by rate) and static traders (bottom third; thirds by rank,
  ties broken by trader id).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ideaflow.analytics._bootstrap import DEFAULT_MAX_SAMPLE, DEFAULT_N_BOOT, mean_median_interval
from ideaflow.analytics.fit import binned_fit
from ideaflow.analytics.published import cite
from ideaflow.data import NS_PER_DAY, OPEN_END, Dataset

NS_PER_MONTH = 30.4375 * NS_PER_DAY


def activity_span(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """First and last event time (int64 ns) per trader; first > last when it has none."""
    n = ds.n_traders
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    tr = ds.trades
    np.minimum.at(first, tr.trader, tr.open_time)
    closed = tr.close_time != OPEN_END
    np.maximum.at(last, tr.trader, np.where(closed, tr.close_time, tr.open_time))
    f = ds.follows
    np.minimum.at(first, f.follower, f.start_time)
    ended = f.end_time <= ds.data_end
    np.maximum.at(last, f.follower, np.where(ended, f.end_time, f.start_time))
    return first, last


def exploration_columns(ds: Dataset) -> dict[str, np.ndarray]:
    """Per-trader follow_starts, follow_ends, months_active, exploration_rate (NaN for
    traders who never followed anyone) and mean_active_leaders (time-average number of
    active leaders over the trader's active span)."""
    n = ds.n_traders
    f = ds.follows
    starts = np.bincount(f.follower, minlength=n)
    ended = f.end_time <= ds.data_end
    ends = np.bincount(f.follower[ended], minlength=n)
    first, last = activity_span(ds)
    has_events = first <= last
    span = np.where(has_events, last - first, 0).astype(np.float64)
    months = np.where(has_events, np.maximum(span / NS_PER_MONTH, 1.0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(starts > 0, (starts + ends) / months, np.nan)
    # overlap of each follow with its follower's active span, for the time-average
    lo = np.maximum(f.start_time, first[f.follower])
    hi = np.minimum(f.end_time, last[f.follower])
    overlap = np.maximum(hi - lo, 0).astype(np.float64)
    total = np.bincount(f.follower, weights=overlap, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_active = np.where(span > 0, total / np.where(span > 0, span, 1.0), np.nan)
    # a trader seen at one instant: its active leaders at that instant
    point = has_events & (span == 0)
    if point.any():
        at = first[f.follower]
        active_at = (f.start_time <= at) & (at < f.end_time)
        counts = np.bincount(f.follower[active_at], minlength=n)
        mean_active = np.where(point, counts, mean_active)
    return {
        "follow_starts": starts.astype(np.int64),
        "follow_ends": ends.astype(np.int64),
        "months_active": months,
        "exploration_rate": rate,
        "mean_active_leaders": mean_active,
    }


def exploration_finding(
    rate: np.ndarray,
    roi: np.ndarray,
    *,
    bins: int = 10,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> dict[str, Any]:
    """Binned fit of ROI on log(rate) and explorers vs static traders (see module)."""
    ok = np.isfinite(rate) & np.isfinite(roi)
    out: dict[str, Any] = {
        "n_traders": int(ok.sum()),
        "published": {"slope_x100_per_log_unit": 2.06, **cite("exploration_slope")},
        "method": (
            "rate = (follow starts + ends) per month active, traders who ever followed; "
            "OLS of ROI on ln(rate) over traders with rate > 0 (quantile bins for the "
            "table); explorers = top third by rate, static = bottom third"
        ),
    }
    positive = ok & (rate > 0)
    try:
        fit = binned_fit(
            rate[positive],
            roi[positive],
            bins=bins,
            transform="log",
            fit="linear",
            n_boot=n_boot,
            seed=seed,
            max_sample=max_sample,
        )
    except ValueError as exc:
        out["fit_error"] = str(exc)
        fit = None
    if fit is not None:
        out["fit"] = fit.to_dict()
        out["slope"] = fit.slope
        out["slope_lo"] = fit.slope - 1.959964 * float(fit.stderr[1])
        out["slope_hi"] = fit.slope + 1.959964 * float(fit.stderr[1])
        out["slope_bps"] = fit.slope * 1e4
        out["slope_p"] = float(fit.pvalues[1])
        out["r2"] = fit.r2
    # the study's own procedure (deciles, ln of bin mean rate, unweighted line of
    # 100 x mean ROI over the bins): the number to set beside the published slope
    try:
        study = binned_fit(
            rate[positive], 100.0 * roi[positive], bins=bins, procedure="study", n_boot=0
        )
    except ValueError as exc:
        out["study_error"] = str(exc)
        study = None
    if study is not None:
        out["study"] = {
            "slope": study.slope,
            "intercept": float(study.coef[0]),
            "r2": study.r2,
            "n_bins": int(len(study.table)),
            "n": study.n,
            "method": (
                "binned_fit(rate, 100 * roi, procedure='study'): equal-count bins of the "
                "rate, unweighted least squares of 100 x mean ROI on ln(mean rate) over bins"
            ),
        }
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((idx, rate[idx]))]
    third = order.shape[0] // 3
    if third >= 1:
        static = mean_median_interval(
            roi[order[:third]], n_boot=n_boot, seed=seed + 1, max_sample=max_sample
        )
        explorers = mean_median_interval(
            roi[order[-third:]], n_boot=n_boot, seed=seed + 2, max_sample=max_sample
        )
        out["static"] = static
        out["explorers"] = explorers
        out["explorers_minus_static"] = explorers["mean"] - static["mean"]
    return out
