"""Comparison plots: ROI distribution per strategy and cumulative PnL over time per strategy.

matplotlib runs headless (Agg); figures are saved atomically and closed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ideaflow.data import NS_PER_DAY

if TYPE_CHECKING:
    from ideaflow.strategies.compare import ComparisonResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def comparison_plots(comparison: ComparisonResult, out: Path) -> list[Path]:
    """`roi_by_strategy.png` (box plots) and `cumulative_pnl_by_strategy.png`."""
    from ideaflow.plots import save_figure
    from ideaflow.strategies.compare import daily_chunks, daily_day_range

    plt = _pyplot()
    written = []
    names = list(comparison.results)
    data = []
    for name in names:
        roi = comparison.results[name].accounts["roi"].to_numpy(dtype=float)
        data.append(roi[np.isfinite(roi)])
    pooled = np.concatenate(data) if data else np.zeros(0)
    if pooled.shape[0]:
        lo, hi = np.quantile(pooled, [0.01, 0.99])
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4))
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
        plt.close(fig)
        written.append(path)
    fig, ax = plt.subplots(figsize=(8, 4))
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
    plt.close(fig)
    return written
