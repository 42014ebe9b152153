"""Null models and honest intervals for the analytics findings.

- **Idea flow over chance** (`idea_flow_null`). A copy is matched by definition, so the
  informative part of idea flow is the share of *original* trades that echo an active
  leader's recent trade. The chance baseline runs the same matching against leader
  trades whose timing has been destroyed, in one of two ways (stated in the result):
  `"shift"` (default) moves every trader's trades, as a leader, by its own random offset,
  circularly within the span of the data (uniform between 5% and 95% of the span), so a
  leader keeps its instruments, sides and rhythm but loses its timing; `"shuffle"` gives
  every follow a leader drawn uniformly among the other traders with trades, over the same
  interval. Replicates are seeded; the baseline is their mean, its range their 2.5-97.5%
  quantiles, and the one-sided p-value (1 + #{null >= observed}) / (1 + replicates).
  On big logs a replicate queries a seeded random subset of at most `max_queries`
  original trades (the observed share is measured on the same subset).
- **Inverted U, robust** (`inverted_u_tests`). OLS of ROI on idea flow and its square
  (statsmodels) with HC3 heteroskedasticity-robust errors; the Lind-Mehlum U test (the
  slope is positive at the lowest observed flow and negative at the highest, each tested
  with the HC3 covariance; the test statistic is the smaller of the two t-values, the
  p-value one-sided); and for the best bin, chosen after the fact as the one with the
  highest mean ROI, a *selection-aware* p-value: ROI is permuted across traders (bins
  fixed) and the best bin is chosen again in every permutation, so the null distribution
  of "best bin minus lowest-flow bin" includes the choice. Its bootstrap interval also
  re-chooses the best bin in every replicate.
- **Social vs single by root** (`social_vs_single_by_root`). Every copy of a root trade
  has the root's return, so trades are not independent units: the bootstrap resamples
  *roots* (an original trade together with all its copies) and recomputes the mean return
  of social and single trades and their difference.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats as sps

from ideaflow.analytics._bootstrap import DEFAULT_MAX_SAMPLE, DEFAULT_N_BOOT, bootstrap_interval
from ideaflow.analytics._graph import follows_by_follower, unique_inverse
from ideaflow.analytics.fit import binned_fit
from ideaflow.data import Dataset
from ideaflow.errors import ParameterError
from ideaflow.kernels.analytics import idea_flow_match_nb

NS_PER_HOUR = 3_600 * 1_000_000_000
NULLS = ("shift", "shuffle")
DEFAULT_N_NULL = 20
DEFAULT_MAX_QUERIES = 200_000


# ----------------------------------------------------------------- idea flow over chance


class _Matcher:
    """The idea-flow matching of a fixed set of query trades (real times, real follows)
    against leader trades whose times or follows a null model changes.

    The kernel searches one array sorted by (trader, key, time): the queries under their
    own trader codes, then the leader trades under phantom codes (trader + n_traders) that
    have no follows of their own. Queries and leader trades are sorted once; a circular
    time shift per trader only rotates each (trader, key) run of leader trades (the
    wrapped suffix moves to the front), so a replicate re-sorts a nearly sorted key.
    """

    def __init__(self, ds: Dataset, query: np.ndarray, leader_rows: np.ndarray, window_ns: int):
        tr = ds.trades
        n = ds.n_traders
        key = tr.instrument.astype(np.int64) * 2 + (tr.side > 0)
        trader = tr.trader.astype(np.int64)
        lead_order = np.lexsort((tr.open_time[leader_rows], key[leader_rows], trader[leader_rows]))
        self.lead = leader_rows[lead_order]
        self.lead_trader = trader[self.lead]
        self.base_times = tr.open_time[self.lead]
        group = self.lead_trader * (2 * max(ds.n_instruments, 1)) + key[self.lead]
        new = np.ones(group.shape[0], dtype=bool)
        np.not_equal(group[1:], group[:-1], out=new[1:])
        self.group = np.cumsum(new) - 1
        self.m = int(query.shape[0])
        self.q_times = tr.open_time[query]
        self.q_order = np.lexsort((self.q_times, key[query], trader[query])).astype(np.int64)
        self.trader = np.concatenate([trader[query], self.lead_trader + n])
        self.keys = np.concatenate([key[query], key[self.lead]])
        self.parent = np.full(self.trader.shape[0], -1, dtype=np.int64)
        self.trader_indptr = np.zeros(2 * n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.trader, minlength=2 * n), out=self.trader_indptr[1:])
        f_order, f_indptr = follows_by_follower(ds)
        self.f_order = f_order
        self.follower_indptr = np.concatenate([f_indptr, np.full(n, f_indptr[-1])])
        self.start = ds.follows.start_time[f_order]
        self.end = ds.follows.end_time[f_order]
        self.n = n
        self.window_ns = np.int64(window_ns)

    def run(
        self, lead_times: np.ndarray, lead_order: np.ndarray, follow_leader: np.ndarray
    ) -> np.ndarray:
        """Match flags of the queries; `lead_times` in `self.lead` order, `lead_order` the
        positions that sort them within each (trader, key) run."""
        times = np.concatenate([self.q_times, lead_times])
        rows = np.concatenate([self.q_order, self.m + lead_order])
        flags = idea_flow_match_nb(
            self.trader,
            self.keys,
            times,
            self.parent,
            rows,
            self.trader_indptr,
            follow_leader[self.f_order].astype(np.int64) + self.n,
            self.start,
            self.end,
            self.follower_indptr,
            self.window_ns,
        )
        return flags[: self.m]

    def observed(self, follow_leader: np.ndarray) -> np.ndarray:
        return self.run(self.base_times, np.arange(self.lead.shape[0]), follow_leader)

    def shifted(
        self, ds: Dataset, rng: np.random.Generator, follow_leader: np.ndarray
    ) -> np.ndarray:
        """Each trader's trades, as a leader, moved circularly by its own random offset
        of 5-95% of the span from the first trade to the end of the data."""
        start = int(ds.trades.open_time.min())
        span = max(int(ds.data_end) - start, 1)
        lo = int(0.05 * span)
        offsets = rng.integers(lo, max(int(0.95 * span), lo + 1), ds.n_traders)
        rel = self.base_times - start + offsets[self.lead_trader]
        wrapped = rel >= span
        times = start + rel - span * wrapped
        # within a run the wrapped trades are a suffix of the old order and now come first
        order = np.argsort(self.group * 2 + ~wrapped, kind="stable")
        return self.run(times, order, follow_leader)


def _shuffled_leaders(ds: Dataset, rng: np.random.Generator) -> np.ndarray:
    f = ds.follows
    traders_with_trades = np.flatnonzero(np.bincount(ds.trades.trader, minlength=ds.n_traders))
    k = traders_with_trades.shape[0]
    if k < 2:
        return f.leader.copy()
    draw = traders_with_trades[rng.integers(0, k, len(f))]
    # never oneself: redraw the follower's own code from the others (shift by one slot)
    own = draw == f.follower
    if own.any():
        pos = np.searchsorted(traders_with_trades, draw[own])
        draw[own] = traders_with_trades[(pos + 1 + rng.integers(0, k - 1, int(own.sum()))) % k]
    return draw


def idea_flow_null(
    ds: Dataset,
    *,
    window_hours: float = 24.0,
    null: str = "shift",
    n_null: int = DEFAULT_N_NULL,
    seed: int = 0,
    max_queries: int = DEFAULT_MAX_QUERIES,
) -> dict[str, Any]:
    """Observed idea flow of original trades against a chance baseline (see module)."""
    if null not in NULLS:
        raise ParameterError(f"null: expected one of {', '.join(NULLS)}; found {null!r}")
    if isinstance(n_null, bool) or not isinstance(n_null, int | np.integer) or n_null < 1:
        raise ParameterError(f"n_null: expected an integer >= 1; found {n_null!r}")
    if not np.isfinite(window_hours) or window_hours < 0:
        raise ParameterError(f"window_hours: expected a finite number >= 0; found {window_hours!r}")
    tr = ds.trades
    window_ns = int(round(window_hours * NS_PER_HOUR))
    is_copy = tr.parent >= 0
    n_trades = len(tr)
    originals = np.flatnonzero(~is_copy)
    rng = np.random.default_rng(seed)
    if originals.shape[0] > max_queries:
        query = np.sort(rng.choice(originals, size=max_queries, replace=False))
    else:
        query = originals
    out: dict[str, Any] = {
        "null": null,
        "n_null": int(n_null),
        "window_hours": float(window_hours),
        "n_trades": int(n_trades),
        "n_original_trades": int(originals.shape[0]),
        "n_queried": int(query.shape[0]),
        "copy_share": float(is_copy.mean()) if n_trades else float("nan"),
        "method": (
            "share of original trades opened within the window after a same-instrument, "
            "same-side trade of a leader followed at the time, against the same matching "
            + (
                "with each trader's trades (as a leader) shifted circularly by its own "
                "random offset of 5-95% of the data span"
                if null == "shift"
                else "with each follow's leader replaced by a random other trader with trades"
            )
            + f"; {n_null} seeded replicates; p = (1 + #null >= observed) / (1 + replicates)"
        ),
    }
    if query.shape[0] == 0 or len(ds.follows) == 0:
        out["error"] = "no original trades or no follows: nothing to match"
        return out
    f = ds.follows
    # only the trades of traders somebody follows can be matched (all traders with trades
    # for the shuffled-leader null)
    if null == "shift":
        is_leader = np.zeros(ds.n_traders, dtype=bool)
        is_leader[f.leader] = True
        leader_rows = np.flatnonzero(is_leader[tr.trader])
    else:
        leader_rows = np.arange(n_trades, dtype=np.int64)
    matcher = _Matcher(ds, query, leader_rows, window_ns)
    obs_share = float(matcher.observed(f.leader).mean())
    null_shares = np.empty(n_null)
    for r in range(n_null):
        if null == "shift":
            flags = matcher.shifted(ds, rng, f.leader)
        else:
            flags = matcher.observed(_shuffled_leaders(ds, rng))
        null_shares[r] = flags.mean()
    lo, hi = np.quantile(null_shares, [0.025, 0.975])
    mean_null = float(null_shares.mean())
    copy_share = out["copy_share"]
    out.update(
        {
            "observed_original_share": obs_share,
            "null_original_share": mean_null,
            "null_lo": float(lo),
            "null_hi": float(hi),
            "excess": obs_share - mean_null,
            "excess_lo": obs_share - float(hi),
            "excess_hi": obs_share - float(lo),
            "p_value": float((1 + np.sum(null_shares >= obs_share)) / (1 + n_null)),
            # idea flow of all trades = copies + matched originals
            "observed_all_share": copy_share + (1 - copy_share) * obs_share,
            "null_all_share": copy_share + (1 - copy_share) * mean_null,
        }
    )
    return out


# ------------------------------------------------------------------- inverted U, robust


def _fit_quadratic_hc3(x: np.ndarray, y: np.ndarray) -> Any:
    design = np.column_stack([np.ones_like(x), x, x * x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.OLS(y, design).fit(cov_type="HC3", use_t=True)


def lind_mehlum(res: Any, x_lo: float, x_hi: float) -> dict[str, Any]:
    """Lind-Mehlum test of an inverted U on [x_lo, x_hi] from a fitted quadratic `res`
    (statsmodels results with coefficients (a, b, c) and its covariance)."""
    t_lo = res.t_test(np.array([[0.0, 1.0, 2.0 * x_lo]]))
    t_hi = res.t_test(np.array([[0.0, 1.0, 2.0 * x_hi]]))
    slope_lo = float(np.ravel(t_lo.effect)[0])
    slope_hi = float(np.ravel(t_hi.effect)[0])
    tl = float(np.ravel(t_lo.tvalue)[0])
    th = float(np.ravel(t_hi.tvalue)[0])
    stat = min(tl, -th)
    df = float(res.df_resid)
    p = float(sps.t.sf(stat, df)) if np.isfinite(stat) else float("nan")
    return {
        "slope_at_lowest": slope_lo,
        "slope_at_highest": slope_hi,
        "t_lowest": tl,
        "t_highest": th,
        "t": stat,
        "p_value": p,
        "range": [float(x_lo), float(x_hi)],
    }


def inverted_u_tests(
    flow: np.ndarray,
    roi: np.ndarray,
    *,
    bins: int = 10,
    binning: str = "quantile",
    n_perm: int = 1000,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """HC3 quadratic fit, Lind-Mehlum test and the selection-aware best bin (see module)."""
    ok = np.isfinite(flow) & np.isfinite(roi)
    x = np.asarray(flow, dtype=np.float64)[ok]
    y = np.asarray(roi, dtype=np.float64)[ok]
    out: dict[str, Any] = {
        "n_traders": int(x.shape[0]),
        "method": (
            "OLS of ROI on flow and flow^2 with HC3 errors (statsmodels); Lind-Mehlum test "
            "on the observed flow range; best bin vs lowest-flow bin in ROI points with the "
            "best bin re-chosen in every permutation of ROI across traders (p-value) and "
            "every bootstrap replicate (interval)"
        ),
    }
    if x.shape[0] < 4 or np.unique(x).shape[0] < 3:
        out["error"] = f"need at least 4 traders and 3 distinct flows; found {x.shape[0]}"
        out["found"] = False
        return out
    res = _fit_quadratic_hc3(x, y)
    coef = np.asarray(res.params, dtype=np.float64)
    se = np.asarray(res.bse, dtype=np.float64)
    out["curvature"] = float(coef[2])
    out["curvature_se_hc3"] = float(se[2])
    out["curvature_p_hc3"] = float(np.asarray(res.pvalues)[2])
    out["lind_mehlum"] = lind_mehlum(res, float(x.min()), float(x.max()))
    out["found"] = bool(
        coef[2] < 0 and out["curvature_p_hc3"] < alpha and out["lind_mehlum"]["p_value"] < alpha
    )

    fit = binned_fit(x, y, bins=bins, transform="linear", binning=binning, n_boot=0)
    labels = fit.bin_of_point[fit.bin_of_point >= 0]
    n_bins = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n_bins)

    def gap(values: np.ndarray, idx: np.ndarray | None = None) -> float:
        lab = labels if idx is None else labels[idx]
        val = values if idx is None else values[idx]
        c = np.bincount(lab, minlength=n_bins)
        s = np.bincount(lab, weights=val, minlength=n_bins)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        if not np.isfinite(means[0]):
            return float("nan")
        return float(np.nanmax(means) - means[0])

    observed = gap(y)
    rng = np.random.default_rng(seed)
    perms = np.empty(n_perm)
    for k in range(n_perm):
        perms[k] = gap(rng.permutation(y))
    point, lo, hi = bootstrap_interval(
        lambda idx: gap(y, idx),
        int(y.shape[0]),
        n_boot=n_boot,
        seed=seed + 1,
        max_sample=max_sample,
    )
    means = np.bincount(labels, weights=y, minlength=n_bins) / np.maximum(counts, 1)
    out["best_bin"] = int(np.argmax(means))
    out["n_bins"] = n_bins
    out["best_minus_lowest_pts"] = {
        "value": observed,
        "lo": float(lo[0]),
        "hi": float(hi[0]),
        "p_value_selection_aware": float(
            (1 + np.sum(perms >= observed)) / (1 + n_perm) if n_perm else np.nan
        ),
        "null_mean": float(perms.mean()) if n_perm else float("nan"),
        "n_perm": int(n_perm),
    }
    return out


# ------------------------------------------------------------ social vs single by root


def social_vs_single_by_root(
    ret: np.ndarray,
    is_copy: np.ndarray,
    closed: np.ndarray,
    trade_id: np.ndarray,
    root_trade_id: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_sample: int = DEFAULT_MAX_SAMPLE,
) -> dict[str, Any]:
    """Mean return of social and single closed trades and their difference, with a
    bootstrap that resamples roots (an original with all its copies)."""
    ok = closed & np.isfinite(ret)
    root = np.where(root_trade_id >= 0, root_trade_id, trade_id)[ok]
    r = np.asarray(ret, dtype=np.float64)[ok]
    social = np.asarray(is_copy, dtype=bool)[ok]
    _, cluster = unique_inverse(root)
    n_clusters = int(cluster.max()) + 1 if cluster.size else 0
    soc_sum = np.bincount(cluster, weights=np.where(social, r, 0.0), minlength=n_clusters)
    soc_n = np.bincount(cluster, weights=social.astype(np.float64), minlength=n_clusters)
    sin_sum = np.bincount(cluster, weights=np.where(social, 0.0, r), minlength=n_clusters)
    sin_n = np.bincount(cluster, weights=(~social).astype(np.float64), minlength=n_clusters)

    def stat(idx: np.ndarray) -> np.ndarray:
        sn = soc_n[idx].sum()
        gn = sin_n[idx].sum()
        s = soc_sum[idx].sum() / sn if sn > 0 else np.nan
        g = sin_sum[idx].sum() / gn if gn > 0 else np.nan
        return np.array([s, g, s - g])

    if n_clusters == 0:
        nan = float("nan")
        point = lo = hi = np.array([nan, nan, nan])
    else:
        point, lo, hi = bootstrap_interval(
            stat, n_clusters, n_boot=n_boot, seed=seed, max_sample=max_sample
        )
    names = ("social_mean", "single_mean", "mean_difference")
    out: dict[str, Any] = {
        name: {"value": float(point[k]), "lo": float(lo[k]), "hi": float(hi[k])}
        for k, name in enumerate(names)
    }
    out["n_roots"] = n_clusters
    out["n_trades"] = int(r.shape[0])
    out["method"] = (
        "closed positions of the actual replay grouped by root trade (an original and its "
        "copies share its return); seeded bootstrap resampling roots"
    )
    return out


__all__ = [
    "NULLS",
    "idea_flow_null",
    "inverted_u_tests",
    "lind_mehlum",
    "social_vs_single_by_root",
]
