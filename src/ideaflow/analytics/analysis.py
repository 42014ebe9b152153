"""`analyze`: every docs/contract.md §6 measurement of a dataset in one pass, and its result object.

Stages: the engine's `actual` replay (one accounting for every figure) → per-trader
network metrics (idea flow, diversity, echo chamber, exploration, popularity) → the
platform findings (social vs single trades, popularity vs performance, exploration, the
inverted U) → `AnalysisResult`, which prints a table and writes `traders.parquet`,
`findings.json` and PNG plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ideaflow.analytics._accounting import ledger
from ideaflow.analytics._bootstrap import DEFAULT_MAX_SAMPLE
from ideaflow.analytics._graph import follower_sets, leader_sets
from ideaflow.analytics.diversity import daily_csr, source_diversity, style_labels
from ideaflow.analytics.echo import echo_chamber
from ideaflow.analytics.exploration import exploration_columns, exploration_finding
from ideaflow.analytics.fit import BINNINGS
from ideaflow.analytics.ideaflow_metrics import matched_trades
from ideaflow.analytics.inverted_u import inverted_u_finding, social_vs_single
from ideaflow.analytics.nulls import (
    NULLS,
    idea_flow_null,
    inverted_u_tests,
    social_vs_single_by_root,
)
from ideaflow.analytics.popularity import popularity_panel, popularity_performance
from ideaflow.analytics.tails import power_law_tail
from ideaflow.data import Dataset
from ideaflow.errors import ParameterError
from ideaflow.io.write import json_ready, write_json_atomic, write_parquet_atomic
from ideaflow.progress import Stages
from ideaflow.results import FigureWriter

LEADER_SETS = ("ever", "end")


@dataclass(frozen=True)
class AnalysisParams:
    """Parameters of `analyze` (validated by `check`)."""

    window_hours: float = 24.0
    bins: int = 10
    binning: str = "quantile"
    leaders: str = "ever"
    period_days: float = 30.0
    n_clusters: int = 8
    max_leaders: int = 64
    min_periods: int = 3
    min_trades: int = 1
    n_boot: int = 1000
    max_boot_sample: int = DEFAULT_MAX_SAMPLE
    seed: int = 0
    null: str = "shift"
    n_null: int = 20
    n_perm: int = 1000

    def check(self) -> None:
        def positive(name: str, value: float, minimum: float, integer: bool) -> None:
            ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool
            )
            ok = ok and math.isfinite(float(value)) and float(value) >= minimum
            if integer:
                ok = ok and float(value) == int(value)
            if not ok:
                kind = "an integer" if integer else "a number"
                raise ParameterError(f"{name}: expected {kind} >= {minimum}; found {value!r}")

        positive("window_hours", self.window_hours, 0, False)
        positive("bins", self.bins, 2, True)
        positive("period_days", self.period_days, 1e-9, False)
        positive("n_clusters", self.n_clusters, 1, True)
        positive("max_leaders", self.max_leaders, 2, True)
        positive("min_periods", self.min_periods, 2, True)
        positive("min_trades", self.min_trades, 1, True)
        positive("n_boot", self.n_boot, 0, True)
        positive("max_boot_sample", self.max_boot_sample, 10, True)
        positive("seed", self.seed, 0, True)
        positive("n_null", self.n_null, 1, True)
        positive("n_perm", self.n_perm, 0, True)
        if self.null not in NULLS:
            raise ParameterError(f"null: expected one of {', '.join(NULLS)}; found {self.null!r}")
        if self.binning not in BINNINGS:
            raise ParameterError(
                f"binning: expected one of {', '.join(BINNINGS)}; found {self.binning!r}"
            )
        if self.leaders not in LEADER_SETS:
            raise ParameterError(
                f"leaders: expected one of {', '.join(LEADER_SETS)}; found {self.leaders!r}"
            )


@dataclass(eq=False)
class AnalysisResult:
    """What `analyze` found: `traders` (one row per trader), `findings` (JSON-able dict)."""

    traders: pd.DataFrame
    findings: dict[str, Any]
    params: AnalysisParams
    timings: dict[str, float] = field(default_factory=dict)
    popularity: pd.DataFrame | None = field(default=None, repr=False)

    def write(self, out_dir: str | Path, *, figures: FigureWriter | None = None) -> dict[str, Path]:
        """Write traders.parquet, findings.json, the figures `figures(self, out_dir)` draws
        and timings.json atomically.

        Everything but timings.json (seconds per stage) is byte-identical for the same
        data, parameters and seed. Returns the paths by name.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "traders": write_parquet_atomic(self.traders, out / "traders.parquet"),
            "findings": write_json_atomic(json_ready(self.findings), out / "findings.json"),
        }
        if figures is not None:
            paths.update({path.stem: path for path in figures(self, out)})
        paths["timings"] = write_json_atomic(json_ready(self.timings), out / "timings.json")
        return paths


STAGES = [
    "replay",
    "idea_flow",
    "idea_flow_null",
    "styles",
    "diversity",
    "echo",
    "exploration",
    "popularity",
    "findings",
]


def analyze(
    ds: Dataset,
    *,
    window_hours: float = 24.0,
    bins: int = 10,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
) -> AnalysisResult:
    """Measure the docs/contract.md §6 social-learning effects of a dataset.

    Options (see `AnalysisParams` and docs/analytics.md): binning ("quantile" or
    "uniform"), leaders ("ever" or "end"), period_days, n_clusters, max_leaders,
    min_periods, min_trades, n_boot, max_boot_sample.
    """
    unknown = sorted(set(options) - set(AnalysisParams.__dataclass_fields__))
    if unknown:
        raise ParameterError(
            f"{unknown[0]}: not an option of analyze; expected one of "
            f"{', '.join(sorted(AnalysisParams.__dataclass_fields__))}"
        )
    params = AnalysisParams(window_hours=window_hours, bins=bins, seed=seed, **options)
    params.check()
    stages = Stages(STAGES, progress, "analyze", leave=False)
    try:
        return _analyze(ds, params, stages)
    finally:
        stages.close()


def _analyze(ds: Dataset, p: AnalysisParams, stages: Stages) -> AnalysisResult:
    n = ds.n_traders
    tr = ds.trades
    with stages.stage("replay"):
        led = ledger(ds)
    with stages.stage("idea_flow"):
        matched = matched_trades(ds, window_hours=p.window_hours)
        n_trades = np.bincount(tr.trader, minlength=n)
        n_social = np.bincount(tr.trader, weights=tr.parent >= 0, minlength=n).astype(np.int64)
        hits = np.bincount(tr.trader, weights=matched, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            flow = np.where(n_trades > 0, hits / np.maximum(n_trades, 1), np.nan)
            social_share = np.where(n_trades > 0, n_social / np.maximum(n_trades, 1), np.nan)
    with stages.stage("idea_flow_null"):
        flow_null = idea_flow_null(
            ds, window_hours=p.window_hours, null=p.null, n_null=p.n_null, seed=p.seed + 400
        )
    with stages.stage("styles"):
        labels = style_labels(ds, n_clusters=p.n_clusters, seed=p.seed, book=led.book)
    with stages.stage("diversity"):
        daily = daily_csr(led.daily_account, led.daily_day, led.daily_pnl, n)
        div = source_diversity(
            ds, daily, leaders=p.leaders, labels=labels, max_leaders=p.max_leaders
        )
    with stages.stage("echo"):
        echo = echo_chamber(ds, leaders=p.leaders)
    with stages.stage("exploration"):
        expl = exploration_columns(ds)
        lead_indptr, _ = leader_sets(ds, "ever")
        end_indptr, _ = leader_sets(ds, "end")
        fol_indptr, _ = follower_sets(ds)
        f = ds.follows
        active_end = (f.start_time <= ds.data_end) & (ds.data_end < f.end_time)
        followers_end = np.bincount(f.leader[active_end], minlength=n)
    with stages.stage("popularity"):
        panel = popularity_panel(ds, led, period_days=p.period_days)
    traders = pd.DataFrame(
        {
            "trader_id": ds.trader_ids.astype(np.int64),
            "n_trades": n_trades.astype(np.int64),
            "n_social": n_social,
            "social_share": social_share,
            "idea_flow": flow,
            "n_leaders": np.diff(lead_indptr).astype(np.int64),
            "n_leaders_end": np.diff(end_indptr).astype(np.int64),
            "mean_active_leaders": expl["mean_active_leaders"],
            "leader_corr": div["leader_corr"],
            "diversity": div["diversity"],
            "n_leader_pairs": div["n_leader_pairs"].astype(np.int64),
            "style_cluster": labels if labels is not None else np.full(n, -1, dtype=np.int64),
            "cluster_entropy": div["cluster_entropy"],
            "tie_density": echo["tie_density"],
            "reciprocity": echo["reciprocity"],
            "n_followers": np.diff(fol_indptr).astype(np.int64),
            "n_followers_end": followers_end.astype(np.int64),
            "follow_starts": expl["follow_starts"],
            "follow_ends": expl["follow_ends"],
            "months_active": expl["months_active"],
            "exploration_rate": expl["exploration_rate"],
            "pnl": led.total_pnl,
            "roi": led.roi,
            "sharpe": led.sharpe,
        }
    )
    with stages.stage("findings"):
        findings = _findings(ds, p, led, traders, panel)
        findings["idea_flow_null"] = flow_null
    return AnalysisResult(traders, findings, p, dict(stages.timings), panel)


def _findings(ds, p: AnalysisParams, led, traders: pd.DataFrame, panel) -> dict[str, Any]:
    common = {"n_boot": p.n_boot, "max_sample": p.max_boot_sample}
    enough = traders["n_trades"].to_numpy() >= p.min_trades
    flow = np.where(enough, traders["idea_flow"].to_numpy(), np.nan)
    roi = traders["roi"].to_numpy()
    inverted, _ = inverted_u_finding(
        flow, roi, bins=p.bins, binning=p.binning, seed=p.seed + 300, **common
    )
    inverted["robust"] = inverted_u_tests(
        flow, roi, bins=p.bins, binning=p.binning, n_perm=p.n_perm, seed=p.seed + 500, **common
    )
    book = led.book
    by_root = social_vs_single_by_root(
        led.ret,
        led.is_copy,
        led.closed,
        np.asarray(book.trade_id),
        np.asarray(book.root_trade_id),
        seed=p.seed + 600,
        **common,
    )
    notes = []
    if traders["style_cluster"].max() < 0:
        notes.append("cluster entropy unavailable (ideaflow.styles missing or too few traders)")
    notes.append(
        "social vs single: 'by_root' resamples root trades (an original and its copies); the "
        "trade-level intervals beside it treat copies as independent and are too narrow"
    )
    notes.append(
        "intervals: seeded bootstrap resampling trades (social vs single) or traders "
        f"(everything else), {p.n_boot} replicates; samples larger than "
        f"{p.max_boot_sample} use an m-out-of-n bootstrap rescaled by sqrt(m/n)"
    )
    return {
        "dataset": {
            "source": str(ds.meta.get("source", "")),
            "n_traders": int(ds.n_traders),
            "n_trades": int(len(ds.trades)),
            "n_follows": int(len(ds.follows)),
            "n_social_trades": int((ds.trades.parent >= 0).sum()),
            "accounting": led.source,
            "rows_read": dict(ds.meta.get("rows_read", {})),
            "quarantined": dict(ds.meta.get("quarantined", {})),
        },
        "params": {k: getattr(p, k) for k in AnalysisParams.__dataclass_fields__},
        "social_vs_single": {
            **social_vs_single(led.ret, led.is_copy, led.closed, seed=p.seed, **common),
            "by_root": by_root,
        },
        "popularity_vs_performance": popularity_performance(
            panel, min_periods=p.min_periods, seed=p.seed + 100, **common
        ),
        "exploration": exploration_finding(
            traders["exploration_rate"].to_numpy(), roi, bins=p.bins, seed=p.seed + 200, **common
        ),
        "inverted_u": inverted,
        "network": _network_summary(traders, n_boot=min(p.n_boot, 200), seed=p.seed + 700),
        "notes": notes,
    }


def _network_summary(traders: pd.DataFrame, *, n_boot: int, seed: int) -> dict[str, Any]:
    """Medians and means of the per-trader network metrics, and the diverse-vs-echo gap."""
    out: dict[str, Any] = {}
    for col in (
        "idea_flow",
        "diversity",
        "cluster_entropy",
        "tie_density",
        "reciprocity",
        "exploration_rate",
        "social_share",
    ):
        v = traders[col].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        out[col] = {
            "n": int(v.size),
            "mean": float(v.mean()) if v.size else float("nan"),
            "median": float(np.median(v)) if v.size else float("nan"),
        }
    # diverse vs echo: ROI of traders in the top vs bottom third of diversity
    d = traders["diversity"].to_numpy(dtype=np.float64)
    r = traders["roi"].to_numpy(dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(d) & np.isfinite(r))
    order = ok[np.lexsort((ok, d[ok]))]
    third = order.shape[0] // 3
    if third >= 1:
        out["diverse_roi_mean"] = float(r[order[-third:]].mean())
        out["echo_roi_mean"] = float(r[order[:third]].mean())
        out["diverse_minus_echo"] = out["diverse_roi_mean"] - out["echo_roi_mean"]
        out["diverse_vs_echo_method"] = (
            "mean ROI of the top third by source diversity minus the bottom third"
        )
    out["in_degree"] = _degree_distribution(
        traders["n_followers"].to_numpy(), n_boot=n_boot, seed=seed
    )
    return out


def _degree_distribution(deg: np.ndarray, *, n_boot: int, seed: int) -> dict[str, Any]:
    """Counts per in-degree (>= 1) and the tail exponent by maximum likelihood."""
    counts_all = np.bincount(deg[deg > 0])
    values = np.flatnonzero(counts_all)
    counts = counts_all[values]
    return {
        "degree": values.astype(int).tolist(),
        "count": counts.astype(int).tolist(),
        "n_with_followers": int(counts.sum()),
        "max": int(values.max()) if values.size else 0,
        "tail": power_law_tail(deg, n_boot=n_boot, seed=seed),
    }
