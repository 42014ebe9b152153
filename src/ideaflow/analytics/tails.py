"""The tail exponent of a degree distribution by maximum likelihood.

A discrete power law p(k) = k^-alpha / zeta(alpha, k_min) for k >= k_min (Clauset,
Shalizi & Newman 2009): alpha maximises the likelihood (scipy's bounded scalar
minimiser on the negative log-likelihood, Hurwitz zeta from scipy.special), k_min is the
candidate with the smallest Kolmogorov-Smirnov distance between the tail and the fit among
those leaving at least `min_tail` points, and the interval is a seeded bootstrap of the
tail with k_min held fixed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special


def _nan() -> float:
    return float("nan")


def discrete_power_law_alpha(k: np.ndarray, k_min: int) -> float:
    """MLE of alpha for p(k) = k^-alpha / zeta(alpha, k_min), k >= k_min (k integers)."""
    tail = k[k >= k_min].astype(np.float64)
    n = tail.shape[0]
    if n < 2:
        return _nan()
    sum_log = float(np.log(tail).sum())

    def nll(alpha: float) -> float:
        return n * math.log(special.zeta(alpha, k_min)) + alpha * sum_log

    res = optimize.minimize_scalar(
        nll, bounds=(1.0001, 10.0), method="bounded", options={"xatol": 1e-8}
    )
    return float(res.x)


def _ks_distance(tail: np.ndarray, alpha: float, k_min: int) -> float:
    """Largest gap between the empirical and the fitted CDF over the tail's support."""
    values, counts = np.unique(tail, return_counts=True)
    emp = np.cumsum(counts) / tail.shape[0]
    # fitted CDF at each observed value: 1 - zeta(alpha, v + 1) / zeta(alpha, k_min)
    fit = 1.0 - special.zeta(alpha, values + 1.0) / special.zeta(alpha, k_min)
    return float(np.max(np.abs(emp - fit)))


def power_law_tail(
    degrees: np.ndarray, *, min_tail: int = 50, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Discrete power-law fit of the positive `degrees` (see the module docstring)."""
    k = np.asarray(degrees)
    k = k[k > 0].astype(np.int64)
    out: dict[str, Any] = {
        "n_with_followers": int(k.size),
        "method": (
            "discrete power law k^-alpha / zeta(alpha, k_min), maximum likelihood (scipy); "
            "k_min minimises the KS distance among values leaving >= "
            f"{min_tail} traders in the tail; interval: bootstrap of the tail, k_min fixed"
        ),
    }
    candidates = np.unique(k)
    best: tuple[float, int, float] | None = None
    for k_min in candidates:
        tail = k[k >= k_min]
        if tail.shape[0] < min_tail or np.unique(tail).shape[0] < 2:
            continue
        alpha = discrete_power_law_alpha(tail, int(k_min))
        if not np.isfinite(alpha):
            continue
        d = _ks_distance(tail, alpha, int(k_min))
        if best is None or d < best[0]:
            best = (d, int(k_min), alpha)
    if best is None:
        out.update({"value": _nan(), "lo": _nan(), "hi": _nan(), "n": 0})
        out["error"] = (
            f"fewer than {min_tail} traders with followers in any tail with two distinct values"
        )
        return out
    d, k_min, alpha = best
    tail = k[k >= k_min]
    rng = np.random.default_rng(seed)
    reps = np.array(
        [discrete_power_law_alpha(rng.choice(tail, tail.shape[0]), k_min) for _ in range(n_boot)]
    )
    reps = reps[np.isfinite(reps)]
    lo, hi = np.quantile(reps, [0.025, 0.975]) if reps.size >= 10 else (_nan(), _nan())
    out.update(
        {
            "value": alpha,
            "lo": float(lo),
            "hi": float(hi),
            "n": int(tail.shape[0]),
            "k_min": k_min,
            "k_max": int(tail.max()),
            "ks_distance": d,
        }
    )
    return out
