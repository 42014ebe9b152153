"""Stylized facts of a social-trading platform, with intervals, beside the published values.

`facts(ds)` measures, on any dataset that follows the data contract (a real log or a
generated one), from the engine's `actual` replay:

- `losing_share`: share of accounts with trades whose total PnL (after fees) is < 0;
  Wilson 95% interval (scipy's binomial test). Published: 74-89% of retail CFD accounts.
- `roi`: the ROI distribution of those accounts (quantiles, mean with a bootstrap
  interval over accounts, share below -50%).
- `copy_share`: copies (trades with a parent) / all trades; interval by a bootstrap that
  resamples traders (a trader's trades together).
- `in_degree_tail`: the tail exponent alpha of the distinct-follower counts, a discrete
  power law p(k) = k^-alpha / zeta(alpha, k_min) for k >= k_min fitted by maximum
  likelihood (Clauset, Shalizi & Newman 2009) with k_min chosen to minimise the
  Kolmogorov-Smirnov distance among candidates leaving at least `min_tail` traders; the
  fitted range [k_min, k_max] and the KS distance are reported; the interval is a
  bootstrap of the tail with k_min held fixed.
- `leader_concentration`: the share of copies and of follows that go to the top 1% of
  traders by copies (by follows), and the Gini coefficient of follower counts among
  traders with followers; bootstrap intervals over leaders.
- `holding_hours`: holding time of closed original trades (median and quantiles; the
  median's interval resamples traders).
- `leverage`: leverage of original trades (quantiles, mean, share at 10x or more).
- `trading_frequency`: original trades per trader per month active (months of 30.4375
  days from the trader's first to last event, at least 1).
- `popularity_vs_performance`: the per-trader correlation of follower count and
  trailing ROI and the pooled Spearman (as `analyze` computes them). Published: 0.11.
- `mirror_choice`: whom people start to mirror. For every (trader, period end t_k) of the
  popularity panel whose next period ends inside the data, the follows the trader gains in
  (t_k, t_k + period] are regressed (Poisson GLM, statsmodels, errors clustered by
  trader) on the standardised log(1 + followers at t_k) and the standardised rank of its
  trailing ROI; `value` = popularity coefficient / performance coefficient (how many
  times more popularity weighs, per standard deviation; NaN when the performance
  coefficient's interval includes 0) and `ratio_lower_bound` = popularity coefficient /
  the largest performance coefficient its interval allows. Published: 46x (a different
  specification, not confirmed).
- `exploration_slope`: 100 x ROI on ln(exploration rate) with the study's procedure
  (`binned_fit(..., procedure="study")`). Published: 2.06.

Every fact carries `value`, `lo`, `hi` (NaN when there is none), `n`, a `method` string and,
where a published value exists, `published` (docs/published.md).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats as sps

from ideaflow.analytics._accounting import ledger
from ideaflow.analytics._bootstrap import DEFAULT_MAX_SAMPLE, bootstrap_interval
from ideaflow.analytics._graph import follower_sets
from ideaflow.analytics.exploration import exploration_columns, exploration_finding
from ideaflow.analytics.popularity import popularity_panel, popularity_performance
from ideaflow.analytics.published import cite
from ideaflow.analytics.tails import power_law_tail
from ideaflow.data import NS_PER_DAY, OPEN_END, Dataset
from ideaflow.errors import ParameterError
from ideaflow.io.write import json_ready, write_json_atomic
from ideaflow.results import FigureWriter

NS_PER_HOUR = NS_PER_DAY // 24
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
FACT_KEYS = (
    "losing_share",
    "roi",
    "copy_share",
    "in_degree_tail",
    "leader_concentration",
    "holding_hours",
    "leverage",
    "trading_frequency",
    "popularity_vs_performance",
    "mirror_choice",
    "exploration_slope",
)


@dataclass(frozen=True)
class FactsParams:
    """Parameters of `facts` (validated by `check`)."""

    n_boot: int = 200
    seed: int = 0
    min_tail: int = 50
    period_days: float = 30.0
    bins: int = 10
    max_boot_sample: int = DEFAULT_MAX_SAMPLE

    def check(self) -> None:
        for name, minimum in (
            ("n_boot", 0),
            ("seed", 0),
            ("min_tail", 5),
            ("bins", 3),
            ("max_boot_sample", 10),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or value < minimum
            ):
                raise ParameterError(f"{name}: expected an integer >= {minimum}; found {value!r}")
        if not (
            isinstance(self.period_days, int | float)
            and math.isfinite(self.period_days)
            and self.period_days > 0
        ):
            raise ParameterError(f"period_days: expected a number > 0; found {self.period_days!r}")


@dataclass(eq=False)
class FactsResult:
    """`facts`: one JSON-ready dict per fact (see the module), plus the arrays the plots
    draw (`roi`, `in_degree`, `holding_hours`, `leverage`)."""

    facts: dict[str, Any]
    params: FactsParams
    arrays: dict[str, np.ndarray]

    def write(self, out_dir: str | Path, *, figures: FigureWriter | None = None) -> Path:
        """Write facts.json and the figures `figures(self, out_dir)` draws, atomically."""
        out = Path(out_dir)
        write_json_atomic(json_ready(self.facts), out / "facts.json")
        if figures is not None:
            figures(self, out)
        return out


def _nan() -> float:
    return float("nan")


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {f"q{int(q * 100):02d}": _nan() for q in QUANTILES}
    qs = np.quantile(values, QUANTILES)
    return {f"q{int(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs)}


def _groups(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by group and the CSR index (for bootstraps that resample groups)."""
    order = np.argsort(codes, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_groups), out=indptr[1:])
    return order, indptr


# ------------------------------------------------------------------------- the facts


def _gini(values: np.ndarray) -> float:
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = v.shape[0]
    if n == 0 or v.sum() <= 0:
        return _nan()
    ranks = np.arange(1, n + 1)
    return float((2.0 * np.sum(ranks * v) / (n * v.sum())) - (n + 1.0) / n)


def _top_share(values: np.ndarray, share: float = 0.01) -> float:
    v = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    if v.size == 0 or v.sum() <= 0:
        return _nan()
    top = max(1, int(math.ceil(share * v.size)))
    return float(v[:top].sum() / v.sum())


def facts(ds: Dataset, *, n_boot: int = 200, seed: int = 0, **options: Any) -> FactsResult:
    """The stylized facts of `ds` (see the module docstring). Options: min_tail (50),
    period_days (30), bins (10), max_boot_sample (50,000)."""
    unknown = sorted(set(options) - set(FactsParams.__dataclass_fields__))
    if unknown:
        raise ParameterError(
            f"{unknown[0]}: not an option of facts; expected one of "
            f"{', '.join(sorted(FactsParams.__dataclass_fields__))}"
        )
    p = FactsParams(n_boot=n_boot, seed=seed, **options)
    p.check()
    if len(ds.trades) == 0:
        raise ParameterError("trades: expected at least one trade to measure; found 0 rows")
    led = ledger(ds)
    tr = ds.trades
    n = ds.n_traders
    common = {"n_boot": p.n_boot, "max_sample": p.max_boot_sample}
    n_trades = np.bincount(tr.trader, minlength=n)
    active = np.flatnonzero(n_trades > 0)
    out: dict[str, Any] = {}

    # losing share and ROI
    pnl = led.total_pnl[active]
    losing = int(np.sum(pnl < 0))
    ci = sps.binomtest(losing, int(active.size)).proportion_ci(0.95, method="wilson")
    out["losing_share"] = {
        "value": losing / active.size,
        "lo": float(ci.low),
        "hi": float(ci.high),
        "n": int(active.size),
        "n_losing": losing,
        "method": "accounts with trades whose total PnL after fees (actual replay) is < 0; "
        "Wilson interval",
        "published": cite("losing_share"),
    }
    roi = led.roi[active]
    roi = roi[np.isfinite(roi)]
    point, lo, hi = bootstrap_interval(
        lambda idx: float(roi[idx].mean()), int(roi.size), seed=p.seed + 1, **common
    )
    out["roi"] = {
        "value": float(np.median(roi)) if roi.size else _nan(),
        "lo": _nan(),
        "hi": _nan(),
        "n": int(roi.size),
        "mean": float(point[0]),
        "mean_lo": float(lo[0]),
        "mean_hi": float(hi[0]),
        "share_below_minus_50pct": float(np.mean(roi < -0.5)) if roi.size else _nan(),
        **_quantiles(roi),
        "method": "ROI (E_end - E_0) / E_0 of accounts with trades (actual replay); value = "
        "median; mean with a bootstrap interval over accounts",
    }

    # copy share, resampling traders
    is_copy = tr.parent >= 0
    copies = np.bincount(tr.trader, weights=is_copy, minlength=n)[active]
    totals = n_trades[active].astype(np.float64)
    point, lo, hi = bootstrap_interval(
        lambda idx: float(copies[idx].sum() / totals[idx].sum()),
        int(active.size),
        seed=p.seed + 2,
        **common,
    )
    out["copy_share"] = {
        "value": float(point[0]),
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "n": int(len(tr)),
        "n_copies": int(is_copy.sum()),
        "method": "trades with a parent / all trades; bootstrap resampling traders",
    }

    # follower in-degree tail
    fol_indptr, _ = follower_sets(ds)
    in_degree = np.diff(fol_indptr).astype(np.int64)
    out["in_degree_tail"] = power_law_tail(
        in_degree, min_tail=p.min_tail, n_boot=p.n_boot, seed=p.seed + 3
    )

    # leader concentration
    copied_from = tr.trader[tr.parent[is_copy]] if is_copy.any() else np.zeros(0, np.int32)
    copies_per_leader = np.bincount(copied_from, minlength=n).astype(np.float64)
    follows_per_leader = np.bincount(ds.follows.leader, minlength=n).astype(np.float64)
    leaders = np.flatnonzero((copies_per_leader > 0) | (in_degree > 0))
    cpl = copies_per_leader[leaders]
    fpl = follows_per_leader[leaders]
    deg = in_degree[leaders].astype(np.float64)

    def conc(idx: np.ndarray) -> np.ndarray:
        return np.array([_top_share(cpl[idx]), _top_share(fpl[idx]), _gini(deg[idx])])

    if leaders.size:
        point, lo, hi = bootstrap_interval(conc, int(leaders.size), seed=p.seed + 4, **common)
    else:
        point = lo = hi = np.full(3, np.nan)
    out["leader_concentration"] = {
        "value": float(point[0]),
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "n": int(leaders.size),
        "top1pct_follows_share": {"value": float(point[1]), "lo": float(lo[1]), "hi": float(hi[1])},
        "follower_gini": {"value": float(point[2]), "lo": float(lo[2]), "hi": float(hi[2])},
        "method": "value = share of copies that copy the top 1% of leaders by copies; also "
        "the top 1%'s share of follows and the Gini of follower counts; leaders = traders "
        "copied or followed; bootstrap over leaders",
    }

    # holding times of closed originals, median resampling traders
    closed_orig = (tr.close_time != OPEN_END) & ~is_copy
    hours = (tr.close_time[closed_orig] - tr.open_time[closed_orig]) / NS_PER_HOUR
    owner = tr.trader[closed_orig]
    out["holding_hours"] = _median_by_trader(hours, owner, n, p, seed=p.seed + 5)
    out["holding_hours"]["method"] = (
        "close - open of closed original trades, hours; median with a bootstrap resampling traders"
    )

    # leverage of originals
    lev = tr.leverage[~is_copy]
    out["leverage"] = {
        **_median_by_trader(lev, tr.trader[~is_copy], n, p, seed=p.seed + 6),
        "mean": float(lev.mean()) if lev.size else _nan(),
        "share_10x_or_more": float(np.mean(lev >= 10)) if lev.size else _nan(),
        "method": "leverage of original trades; median with a bootstrap resampling traders",
    }

    # trading frequency: originals per month active
    expl = exploration_columns(ds)
    months = expl["months_active"]
    originals = np.bincount(tr.trader[~is_copy], minlength=n).astype(np.float64)
    ok = np.isfinite(months) & (originals > 0)
    per_month = originals[ok] / months[ok]
    point, lo, hi = bootstrap_interval(
        lambda idx: float(np.median(per_month[idx])),
        int(per_month.size),
        seed=p.seed + 7,
        **common,
    )
    out["trading_frequency"] = {
        "value": float(point[0]),
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "n": int(per_month.size),
        **_quantiles(per_month),
        "method": "original trades per month active (first to last event, at least one "
        "month) of traders with originals; median with a bootstrap over traders",
    }

    # popularity vs performance
    panel = popularity_panel(ds, led, period_days=p.period_days)
    pop = popularity_performance(panel, seed=p.seed + 8, **common)
    per_trader = pop["per_trader"]
    out["popularity_vs_performance"] = {
        "value": per_trader["mean"],
        "lo": per_trader["mean_lo"],
        "hi": per_trader["mean_hi"],
        "n": per_trader["n"],
        "pooled_spearman": pop["spearman_trailing"],
        "method": "mean per-trader Spearman of follower count and trailing ROI across "
        f"{p.period_days:g}-day periods (as analyze); pooled Spearman with a trader bootstrap",
        "published": cite("popularity_per_trader_corr"),
    }

    out["mirror_choice"] = mirror_choice(ds, panel, p.period_days)

    # exploration slope, the study's procedure
    ex = exploration_finding(
        expl["exploration_rate"], led.roi, bins=p.bins, seed=p.seed + 9, **common
    )
    study = ex.get("study", {})
    out["exploration_slope"] = {
        "value": study.get("slope", _nan()),
        "lo": _nan(),
        "hi": _nan(),
        "n": study.get("n", 0),
        "r2": study.get("r2", _nan()),
        "sign": int(np.sign(study["slope"])) if "slope" in study else 0,
        "slope_points": ex.get("slope", _nan()),
        "slope_points_lo": ex.get("slope_lo", _nan()),
        "slope_points_hi": ex.get("slope_hi", _nan()),
        "method": "binned_fit(rate, 100 * roi, procedure='study') over traders who ever "
        "followed (rate > 0); slope_points: OLS on the points with its t-interval",
        "published": cite("exploration_slope"),
    }
    if "study_error" in ex:
        out["exploration_slope"]["error"] = ex["study_error"]

    out["dataset"] = {
        "source": str(ds.meta.get("source", "")),
        "n_traders": int(n),
        "n_active": int(active.size),
        "n_trades": int(len(tr)),
        "n_follows": int(len(ds.follows)),
    }
    out["params"] = {k: getattr(p, k) for k in FactsParams.__dataclass_fields__}
    arrays = {
        "roi": roi,
        "in_degree": in_degree,
        "holding_hours": hours,
        "leverage": lev,
    }
    return FactsResult(out, p, arrays)


def _median_by_trader(
    values: np.ndarray, owner: np.ndarray, n_traders: int, p: FactsParams, *, seed: int
) -> dict[str, Any]:
    """Median of `values` with a bootstrap that resamples their owners (traders)."""
    if values.size == 0:
        return {"value": _nan(), "lo": _nan(), "hi": _nan(), "n": 0, **_quantiles(values)}
    order, indptr = _groups(owner, n_traders)
    sorted_values = values[order]
    owners = np.flatnonzero(np.diff(indptr))
    starts = indptr[owners]
    lengths = indptr[owners + 1] - starts

    def stat(idx: np.ndarray) -> float:
        lens = lengths[idx]
        offsets = np.repeat(starts[idx] - np.cumsum(lens) + lens, lens)
        rows = offsets + np.arange(int(lens.sum()))
        return float(np.median(sorted_values[rows]))

    per_trader = values.size / max(owners.size, 1)
    max_traders = max(10, int(p.max_boot_sample / max(per_trader, 1.0)))
    _, lo, hi = bootstrap_interval(
        stat, int(owners.size), n_boot=p.n_boot, seed=seed, max_sample=max_traders
    )
    return {
        "value": float(np.median(values)),
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "n": int(values.size),
        **_quantiles(values),
    }


def new_follows(
    ds: Dataset, traders: np.ndarray, t_from: np.ndarray, t_to: np.ndarray
) -> np.ndarray:
    """Follows on each trader starting in (t_from, t_to] (pairwise arrays)."""
    f = ds.follows
    m = traders.shape[0]
    leader = np.concatenate([f.leader.astype(np.int64), traders, traders]).astype(np.int64)
    times = np.concatenate([f.start_time, t_from, t_to])
    # at equal times a follow sorts before a query, so a start at t_from is left out and a
    # start at t_to is counted
    kind = np.concatenate([np.zeros(len(f), np.int8), np.ones(m, np.int8), np.ones(m, np.int8)])
    order = np.lexsort((kind, times, leader))
    cum = np.cumsum(kind[order] == 0)
    pos = np.empty(order.shape[0], dtype=np.int64)
    pos[order] = np.arange(order.shape[0])
    start = cum[pos[len(f) : len(f) + m]]
    end = cum[pos[len(f) + m :]]
    return (end - start).astype(np.int64)


def mirror_choice(ds: Dataset, panel: Any, period_days: float) -> dict[str, Any]:
    """Poisson regression of follows gained on popularity and trailing performance."""
    step = int(round(period_days * NS_PER_DAY))
    sub = panel[panel["time"].to_numpy() + step <= int(ds.data_end)]
    out: dict[str, Any] = {
        "method": "follows gained in (t_k, t_k + period] ~ Poisson(exp(b0 + b_pop * "
        "z(log(1 + followers at t_k)) + b_perf * z(rank of trailing ROI))), statsmodels GLM "
        "with errors clustered by trader; value = b_pop / b_perf when b_perf's interval "
        "excludes 0 (else NaN); ratio_lower_bound = b_pop / the largest |b_perf| in its interval",
        "published": cite("popularity_weight_ratio"),
        "lo": _nan(),
        "hi": _nan(),
    }
    if len(sub) < 10:
        out.update({"value": _nan(), "n": int(len(sub)), "error": "fewer than 10 observations"})
        return out
    traders = sub["trader"].to_numpy().astype(np.int64)
    times = sub["time"].to_numpy().astype(np.int64)
    y = new_follows(ds, traders, times, times + step).astype(np.float64)
    pop = np.log1p(sub["followers"].to_numpy().astype(np.float64))
    perf = sps.rankdata(sub["trailing_roi"].to_numpy())

    def z(v: np.ndarray) -> np.ndarray:
        sd = v.std()
        return (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)

    design = np.column_stack([np.ones_like(pop), z(pop), z(perf)])
    if y.sum() == 0 or pop.std() == 0:
        out.update(
            {
                "value": _nan(),
                "n": int(len(sub)),
                "error": "no follows gained or no variation in popularity",
            }
        )
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y, design, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": traders}
        )
    coef = np.asarray(res.params, dtype=np.float64)
    ci = np.asarray(res.conf_int(0.05), dtype=np.float64)
    b_pop, b_perf = float(coef[1]), float(coef[2])
    out.update(
        {
            # the ratio only where performance matters at all; the lower bound always:
            # popularity weighs at least this many times more than the largest
            # performance weight the interval allows
            "value": b_pop / b_perf if (ci[2, 0] > 0 or ci[2, 1] < 0) else _nan(),
            "ratio_lower_bound": b_pop / max(abs(float(ci[2, 0])), abs(float(ci[2, 1]))),
            "n": int(len(sub)),
            "n_new_follows": int(y.sum()),
            "b_popularity": {"value": b_pop, "lo": float(ci[1, 0]), "hi": float(ci[1, 1])},
            "b_performance": {"value": b_perf, "lo": float(ci[2, 0]), "hi": float(ci[2, 1])},
            "performance_significant": bool(ci[2, 0] > 0 or ci[2, 1] < 0),
        }
    )
    return out
