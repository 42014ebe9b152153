"""`binned_fit`: bin y by x, and fit y on (transformed) x by least squares.

A public utility that works on any two arrays, so researchers can apply the same method
to data they bring from elsewhere (the inverted U and the exploration slope use it):

- `transform="log"` uses the natural log of x (points with x <= 0 are dropped and
  counted); `"linear"` uses x as it is. Non-finite points are dropped and counted.
- Bins: `binning="quantile"` (default) gives every *point mass* — a value held by more
  than n / bins points, such as the isolated traders at idea flow 0 or the pure copiers
  at 1 — a bin of its own, and splits the other points into the remaining bins by
  midrank, `floor((midrank - 0.5) / n_rest * (bins - n_masses))`: equal counts, and tied
  values always in one bin. Bins are numbered in the order of their mean x; empty bins are
  dropped, so fewer than `bins` may come back. `binning="uniform"` uses equal-width bins
  of the transformed x.
- The fit is least squares (statsmodels) of y on [1, t, t^2] (t = transformed x; the t^2
  term only for `fit="quadratic"`), on the individual points (`fit_on="points"`, default)
  or on the bin means weighted by bin size (`fit_on="bins"`). Standard errors are the
  classical OLS ones (`cov_type="nonrobust"`, default) or heteroskedasticity-robust
  (`cov_type="HC3"`); p-values two-sided from Student's t with n - p degrees of freedom.
- Each bin's mean comes with a seeded bootstrap 95% interval.

`procedure="study"` is the exploration study's exact procedure (Joseph, Riedl, Pentland
& Moro 2025, arXiv:2507.01817, the binned exploration-vs-performance figure): equal-count
bins of x as `pandas.qcut(x, bins)` draws them (quantile edges, right-closed; duplicate
edges merged), each bin summarised by its mean x and mean y, and an *unweighted* least
squares line of the bin mean y on the transform of the bin mean x (ln(mean x), not the
mean of ln x) over the bins; R^2 is then the R^2 of that line over the bins. It is a
linear fit on bins by construction (`fit_on` and `binning` are ignored; `fit` must be
"linear").
To reproduce the published figure, pass y = 100 x performance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from ideaflow.analytics._bootstrap import DEFAULT_MAX_SAMPLE, bootstrap_interval
from ideaflow.analytics._graph import unique_inverse
from ideaflow.errors import ParameterError

TRANSFORMS = ("log", "linear")
FITS = ("linear", "quadratic")
BINNINGS = ("quantile", "uniform")
FIT_ON = ("points", "bins")
PROCEDURES = ("default", "study")
COV_TYPES = ("nonrobust", "HC3")


@dataclass(frozen=True, eq=False)
class BinnedFit:
    """Result of `binned_fit`.

    `table` has one row per non-empty bin: bin, n, x_lo, x_hi, x_mean, t_mean (mean of the
    transformed x), y_mean, y_lo, y_hi (bootstrap interval of the mean), y_median.
    `coef`, `stderr`, `tvalues`, `pvalues` are ordered (intercept, slope[, curvature]) in
    the transformed x. `bin_of_point` is the bin of each kept point (-1 for dropped ones).
    `procedure` is "default" or "study" (see the module docstring); `cov_type` the kind of
    standard errors.
    """

    table: pd.DataFrame
    transform: str
    fit: str
    fit_on: str
    coef: np.ndarray
    stderr: np.ndarray
    tvalues: np.ndarray
    pvalues: np.ndarray
    r2: float
    n: int
    n_dropped: int
    df_resid: int
    t_range: tuple[float, float]
    bin_of_point: np.ndarray = field(repr=False)
    procedure: str = "default"
    cov_type: str = "nonrobust"

    @property
    def slope(self) -> float:
        return float(self.coef[1])

    @property
    def curvature(self) -> float:
        """The t^2 coefficient (NaN for a linear fit)."""
        return float(self.coef[2]) if self.coef.shape[0] > 2 else float("nan")

    @property
    def peak_t(self) -> float:
        """Vertex -b / (2a) of the quadratic, in transformed x (NaN for a linear fit)."""
        if self.coef.shape[0] < 3 or self.coef[2] == 0 or not np.isfinite(self.coef[2]):
            return float("nan")
        return float(-self.coef[1] / (2.0 * self.coef[2]))

    @property
    def peak_x(self) -> float:
        """The vertex in the original units of x."""
        t = self.peak_t
        return float(np.exp(t)) if self.transform == "log" and np.isfinite(t) else t

    @property
    def peak_inside(self) -> bool:
        """Whether the vertex lies inside the observed range of (transformed) x."""
        t = self.peak_t
        return bool(np.isfinite(t) and self.t_range[0] <= t <= self.t_range[1])

    def to_dict(self) -> dict[str, Any]:
        names = ["intercept", "slope", "curvature"][: self.coef.shape[0]]
        out: dict[str, Any] = {
            "transform": self.transform,
            "fit": self.fit,
            "fit_on": self.fit_on,
            "procedure": self.procedure,
            "cov_type": self.cov_type,
            "n": self.n,
            "n_dropped": self.n_dropped,
            "r2": self.r2,
            "coef": {k: float(v) for k, v in zip(names, self.coef)},
            "stderr": {k: float(v) for k, v in zip(names, self.stderr)},
            "pvalues": {k: float(v) for k, v in zip(names, self.pvalues)},
            "t_range": [float(self.t_range[0]), float(self.t_range[1])],
            "bins": _records(self.table),
        }
        if self.fit == "quadratic":
            out["peak_t"] = self.peak_t
            out["peak_x"] = self.peak_x
            out["peak_inside"] = self.peak_inside
        return out


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rec in table.to_dict(orient="records"):
        rows.append({str(k): (int(v) if k in ("bin", "n") else float(v)) for k, v in rec.items()})
    return rows


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ParameterError(f"{name}: expected one of {', '.join(allowed)}; found {value!r}")
    return value


def _quantile_bins(t: np.ndarray, bins: int) -> np.ndarray:
    """Bin ids (not yet ordered) for quantile binning with point masses set apart."""
    n = t.shape[0]
    values, inverse = unique_inverse(t)
    counts = np.bincount(inverse, minlength=values.shape[0])
    # a value holding more than one bin's share is a point mass: a bin of its own, and the
    # remaining bins split the other points in equal counts
    mass = counts > n / bins
    n_mass = int(mass.sum())
    labels = np.empty(n, dtype=np.int64)
    is_mass = mass[inverse]
    labels[is_mass] = np.cumsum(mass)[inverse[is_mass]] - 1
    rest = ~is_mass
    n_rest = int(rest.sum())
    if n_rest:
        k_rest = max(bins - n_mass, 1)
        mid = sps.rankdata(t[rest], method="average")
        labels[rest] = n_mass + np.clip(np.floor((mid - 0.5) / n_rest * k_rest), 0, k_rest - 1)
    return labels


def _assign_bins(t: np.ndarray, bins: int, binning: str) -> np.ndarray:
    if binning == "quantile":
        raw = _quantile_bins(t, bins)
    else:
        lo, hi = float(t.min()), float(t.max())
        width = (hi - lo) / bins if hi > lo else 1.0
        raw = np.clip(np.floor((t - lo) / width).astype(np.int64), 0, bins - 1)
    # renumber the non-empty bins 0..k-1 in the order of their mean x (ties by id)
    n_raw = int(raw.max()) + 1
    counts = np.bincount(raw, minlength=n_raw)
    used = np.flatnonzero(counts)
    centre = np.bincount(raw, weights=t, minlength=n_raw)[used] / counts[used]
    order = used[np.lexsort((used, centre))]
    dense = np.full(n_raw, -1, dtype=np.int64)
    dense[order] = np.arange(order.shape[0])
    return dense[raw]


def ols(
    design: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    cov_type: str = "nonrobust",
) -> dict[str, Any]:
    """(Weighted) least squares by statsmodels, with classical or HC3 standard errors and
    two-sided Student-t p-values on n - p degrees of freedom."""
    n, p = design.shape
    model = sm.OLS(y, design) if weights is None else sm.WLS(y, design, weights=weights)
    df = n - p
    with warnings.catch_warnings():
        # a degenerate design (one distinct x, a tiny log) is solved by the pseudo-inverse,
        # as numpy's lstsq would: statsmodels' notices about it are not the user's concern
        warnings.simplefilter("ignore")
        return _ols_fit(model, p, df, cov_type)


def _ols_fit(model: Any, p: int, df: int, cov_type: str) -> dict[str, Any]:
    if df <= 0:
        res = model.fit()
        nan = np.full(p, np.nan)
        return {
            "coef": np.asarray(res.params, dtype=np.float64),
            "stderr": nan,
            "tvalues": nan.copy(),
            "pvalues": nan.copy(),
            "r2": float("nan"),
            "df": df,
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        res = model.fit(cov_type=cov_type, use_t=True)
        se = np.asarray(res.bse, dtype=np.float64)
        coef = np.asarray(res.params, dtype=np.float64)
        tv = np.where(se > 0, coef / np.where(se > 0, se, 1.0), np.nan)
    pv = 2.0 * sps.t.sf(np.abs(tv), df)
    centered_tss = float(res.centered_tss)
    r2 = float(res.rsquared) if centered_tss > 0 else float("nan")
    return {"coef": coef, "stderr": se, "tvalues": tv, "pvalues": pv, "r2": r2, "df": df}


def binned_fit(
    x: np.ndarray,
    y: np.ndarray,
    bins: int = 10,
    transform: str = "log",
    fit: str = "linear",
    *,
    binning: str = "quantile",
    fit_on: str = "points",
    n_boot: int = 1000,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
    procedure: str = "default",
    cov_type: str = "nonrobust",
) -> BinnedFit:
    """Bin y by x and fit y on transformed x (see the module docstring for the method).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(1, 100, 500)
    >>> r = binned_fit(x, 2 + 3 * np.log(x), bins=5, transform="log", n_boot=0)
    >>> round(r.slope, 6)
    3.0
    """
    transform = _check_choice("transform", transform, TRANSFORMS)
    fit = _check_choice("fit", fit, FITS)
    binning = _check_choice("binning", binning, BINNINGS)
    fit_on = _check_choice("fit_on", fit_on, FIT_ON)
    procedure = _check_choice("procedure", procedure, PROCEDURES)
    cov_type = _check_choice("cov_type", cov_type, COV_TYPES)
    if procedure == "study":
        if fit != "linear":
            raise ParameterError(
                f"fit: procedure 'study' is a linear fit on bin means; found fit={fit!r}"
            )
        fit_on = "bins"
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ParameterError(f"bins: expected an integer >= 1; found {bins!r}")
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ParameterError(
            f"x, y: expected arrays of the same length; found {x.shape[0]} and {y.shape[0]}"
        )
    keep = np.isfinite(x) & np.isfinite(y)
    if transform == "log":
        keep &= x > 0
    n_keep = int(keep.sum())
    n_params = 3 if fit == "quadratic" else 2
    if n_keep < n_params + 1:
        raise ParameterError(
            f"x, y: expected at least {n_params + 1} usable points (finite"
            f"{', x > 0' if transform == 'log' else ''}); found {n_keep}"
        )
    xk = x[keep]
    yk = y[keep]
    t = np.log(xk) if transform == "log" else xk
    if procedure == "study":
        labels = _qcut_bins(xk, int(bins))
    else:
        labels = _assign_bins(t, int(bins), binning)
    n_bins = int(labels.max()) + 1

    counts = np.bincount(labels, minlength=n_bins)

    def bin_means(idx: np.ndarray) -> np.ndarray:
        c = np.bincount(labels[idx], minlength=n_bins)
        s = np.bincount(labels[idx], weights=yk[idx], minlength=n_bins)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, s / np.maximum(c, 1), np.nan)

    point, lo, hi = bootstrap_interval(
        bin_means, n_keep, n_boot=n_boot, seed=seed, max_sample=max_sample
    )
    table = pd.DataFrame(
        {
            "bin": np.arange(n_bins, dtype=np.int64),
            "n": counts.astype(np.int64),
            "x_lo": _group_reduce(xk, labels, n_bins, np.minimum, np.inf),
            "x_hi": _group_reduce(xk, labels, n_bins, np.maximum, -np.inf),
            "x_mean": np.bincount(labels, weights=xk, minlength=n_bins) / counts,
            "t_mean": np.bincount(labels, weights=t, minlength=n_bins) / counts,
            "y_mean": point,
            "y_lo": lo,
            "y_hi": hi,
            "y_median": np.array([np.median(yk[labels == b]) for b in range(n_bins)]),
        }
    )

    if fit_on == "points":
        tt, yy, ww = t, yk, None
    else:
        if n_bins < n_params + 1:
            raise ParameterError(
                f"fit_on: a {fit} fit on bin means needs at least {n_params + 1} non-empty "
                f"bins; found {n_bins}"
            )
        yy = table["y_mean"].to_numpy()
        if procedure == "study":
            # the study: x of a bin = the transform of its mean x; every bin counts once
            x_mean = table["x_mean"].to_numpy()
            tt = np.log(x_mean) if transform == "log" else x_mean
            ww = None
        else:
            tt = table["t_mean"].to_numpy()
            # bins are the observations (weighted by size, normalised so that the degrees
            # of freedom are n_bins - p)
            ww = counts / counts.mean()
    design = np.column_stack([np.ones_like(tt), tt] + ([tt * tt] if fit == "quadratic" else []))
    res = ols(design, yy, ww, cov_type=cov_type)
    bin_of_point = np.full(x.shape[0], -1, dtype=np.int64)
    bin_of_point[keep] = labels
    return BinnedFit(
        table=table,
        transform=transform,
        fit=fit,
        fit_on=fit_on,
        coef=np.asarray(res["coef"], dtype=np.float64),
        stderr=np.asarray(res["stderr"], dtype=np.float64),
        tvalues=np.asarray(res["tvalues"], dtype=np.float64),
        pvalues=np.asarray(res["pvalues"], dtype=np.float64),
        r2=float(res["r2"]),
        n=n_keep,
        n_dropped=int(x.shape[0] - n_keep),
        df_resid=int(res["df"]),
        t_range=(float(t.min()), float(t.max())),
        bin_of_point=bin_of_point,
        procedure=procedure,
        cov_type=cov_type,
    )


def _qcut_bins(x: np.ndarray, bins: int) -> np.ndarray:
    """Equal-count bins as `pandas.qcut(x, bins)` draws them, numbered 0..k-1 by x."""
    if np.all(x == x[0]):
        # one value: a single bin (qcut would leave it unlabelled)
        return np.zeros(x.shape[0], dtype=np.int64)
    codes = np.asarray(pd.qcut(x, bins, labels=False, duplicates="drop"), dtype=np.int64)
    # merged (duplicate) edges leave gaps in the numbering: close them
    _, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.int64)


def _group_reduce(
    values: np.ndarray, labels: np.ndarray, n_groups: int, ufunc: np.ufunc, init: float
) -> np.ndarray:
    out = np.full(n_groups, init)
    ufunc.at(out, labels, values)
    return out
