"""A comparison for people: the text table, and the plots (ROI distribution per strategy,
cumulative PnL over time per strategy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ideaflow.data import NS_PER_DAY
from ideaflow.reporting.figures import save_figure
from ideaflow.strategies.compare import ComparisonResult, daily_chunks, daily_day_range


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
    """The comparison as a readable text table."""

    def pct(v: float, digits: int = 2) -> str:
        return "-" if not np.isfinite(v) else f"{100 * v:+.{digits}f}%"

    def num(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:.2f}"

    def upl(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:+.1f}%"

    rows = []
    for r in comparison.to_dict("records"):
        rows.append(
            {
                "strategy": r["strategy"],
                "subjects": f"{r['n_subjects']:,}",
                "mean ROI": pct(r["mean_roi"]),
                "95% CI (block)": f"[{pct(r['mean_roi_ci_low'])}, {pct(r['mean_roi_ci_high'])}]",
                "median": pct(r["median_roi"]),
                "total": pct(r["total_roi"]),
                "Sharpe": num(r["mean_sharpe"]),
                "max DD": pct(r["mean_max_drawdown"], 1),
                "hit": pct(r["hit_rate"], 0).lstrip("+"),
                "vs isolation": upl(r["uplift_vs_isolation_pct"]),
                "vs herd": upl(r["uplift_vs_herd_pct"]),
                "beat iso": pct(r["beat_isolation_share"], 0).lstrip("+"),
                "beat herd": pct(r["beat_herd_share"], 0).lstrip("+"),
            }
        )
    text = pd.DataFrame(rows).to_string(index=False)
    note = (
        "uplift = (mean ROI - base mean ROI) / |base mean ROI|; "
        "CI: moving-block bootstrap over time of the daily ROI summed over subjects"
    )
    return "strategy comparison\n" + text + "\n" + note
