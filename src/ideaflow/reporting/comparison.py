"""A comparison for people: the text table, and the plots (ROI distribution per strategy,
cumulative PnL over time per strategy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ideaflow.data import NS_PER_DAY
from ideaflow.reporting.figures import save_figure
from ideaflow.significance import points
from ideaflow.strategies.compare import (
    ComparisonResult,
    daily_chunks,
    daily_day_range,
    headline,
)


def comparison_figures(comparison: ComparisonResult, out: Path) -> list[Path]:
    """`roi_by_strategy.png` (box plots) and `cumulative_pnl_by_strategy.png`."""
    written = []
    names = list(comparison.results)
    data = []
    for name in names:
        roi = comparison.results[name].accounts["roi"].to_numpy(dtype=float)
        data.append(roi[np.isfinite(roi)])
    pooled = np.concatenate(data) if data else np.zeros(0)
    if pooled.shape[0]:
        lo, hi = np.quantile(pooled, [0.01, 0.99])
        fig = Figure(figsize=(max(6, 1.2 * len(names)), 4))
        ax = fig.subplots()
        ax.boxplot([np.clip(d, lo, hi) for d in data], showfliers=False)
        ax.set_xticks(range(1, len(names) + 1), names)
        means = [float(np.mean(d)) if len(d) else np.nan for d in data]
        ax.plot(
            range(1, len(names) + 1), np.clip(means, lo, hi), "D", color="#a83b3b", label="mean"
        )
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_ylabel("ROI per subject (clipped to 1st-99th pct)")
        ax.set_title("ROI distribution per strategy")
        ax.legend(loc="best")
        path = out / "roi_by_strategy.png"
        save_figure(fig, path)
        written.append(path)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    plotted = False
    for name in names:
        result = comparison.results[name]
        bounds = daily_day_range(result)
        if bounds is None:
            continue
        # per-day sums in row order, a chunk at a time (no copy of tens of millions of rows)
        per_day = np.zeros(bounds[1] - bounds[0] + 1, dtype=np.float64)
        seen = np.zeros(per_day.shape[0], dtype=bool)
        for _, day, pnl in daily_chunks(result):
            np.add.at(per_day, day - bounds[0], pnl)
            seen[day - bounds[0]] = True
        unique = np.flatnonzero(seen) + bounds[0]
        per_day = per_day[seen]
        when = pd.to_datetime(unique * NS_PER_DAY, utc=True)
        ax.plot(when, np.cumsum(per_day), label=name)
        plotted = True
    if plotted:
        ax.set_xlabel("day (UTC)")
        ax.set_ylabel("cumulative PnL, all subjects")
        ax.set_title("cumulative PnL per strategy")
        ax.legend(loc="best")
        fig.autofmt_xdate()
        path = out / "cumulative_pnl_by_strategy.png"
        save_figure(fig, path)
        written.append(path)
    return written


def format_comparison(comparison: pd.DataFrame) -> str:
    """The comparison as a readable text table, led by the one-line verdict."""

    def pct(v: float, digits: int = 2) -> str:
        return "-" if not np.isfinite(v) else f"{100 * v:+.{digits}f}%"

    def num(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:.2f}"

    def money(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:,.0f}"

    def versus(r: dict[Any, Any], base: str) -> str:
        # relative uplift only against a base clearly away from zero, else points
        uplift = r[f"uplift_vs_{base}_pct"]
        if np.isfinite(uplift):
            return f"{uplift:+.1f}%"
        diff = r[f"roi_diff_vs_{base}"]
        return "-" if not np.isfinite(diff) else f"{points(diff)} pts"

    def span(r: dict[Any, Any], base: str) -> str:
        lo, hi = r[f"roi_diff_vs_{base}_ci_low"], r[f"roi_diff_vs_{base}_ci_high"]
        if r["strategy"] == base or not np.isfinite(lo):
            return "-"
        return f"[{points(lo)}, {points(hi)}]"

    def pval(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:.3f}"

    rows = []
    records = comparison.to_dict("records")
    for r in records:
        rows.append(
            {
                "strategy": r["strategy"],
                "subjects": f"{r['n_subjects']:,}",
                "mean ROI": pct(r["mean_roi"]),
                "95% CI (block)": f"[{pct(r['mean_roi_ci_low'])}, {pct(r['mean_roi_ci_high'])}]",
                "Sharpe": num(r["mean_sharpe"]),
                "exposure": money(r["mean_exposure"]),
                "ROE": pct(r["mean_roe"]),
                "vs isolation": versus(r, "isolation"),
                "diff iso, pts [95% CI]": span(r, "isolation"),
                "Holm p": pval(r["p_holm_roi_vs_isolation"]),
                "vs diverse": versus(r, "diverse"),
                "Holm p ": pval(r["p_holm_roi_vs_diverse"]),
                "beat iso": pct(r["beat_isolation_share"], 0).lstrip("+"),
            }
        )
    text = pd.DataFrame(rows).to_string(index=False)
    mode = records[0]["exposure"] if records else "as-logged"
    note = (
        f"exposure: {mode} (mean gross exposure per subject; ROE = PnL / gross exposure); "
        "vs: relative uplift where the base's interval excludes 0, else the difference "
        "in percentage points; CI: moving-block bootstrap over time; Holm p: over every "
        "strategy against isolation and diverse, ROI and ROE"
    )
    return headline(comparison) + "\n\nstrategy comparison\n" + text + "\n" + note
