"""PNG plots of a backtest: ROI distribution and the equity curve of the platform.

matplotlib runs headless (Agg); figures are closed after saving so long runs don't leak.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ideaflow.results import BacktestResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Save atomically: render to a temp file in the same directory, then rename."""
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    # a fixed date keeps PNG bytes reproducible
    fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    os.replace(tmp, path)


def backtest_plots(result: BacktestResult, out: Path) -> list[Path]:
    """ROI histogram of active accounts and cumulative platform PnL over time."""
    plt = _pyplot()
    written: list[Path] = []
    accounts = result.table("accounts")
    if accounts is not None and accounts.num_rows:
        roi = accounts.column("roi").to_numpy(zero_copy_only=False).astype(float)
        if "n_trades" in accounts.column_names:
            roi = roi[accounts.column("n_trades").to_numpy(zero_copy_only=False) > 0]
        roi = roi[np.isfinite(roi)]
        lo, hi = (float(v) for v in np.quantile(roi, [0.01, 0.99])) if len(roi) else (0.0, 0.0)
        if not hi - lo > 1e-9:  # (almost) equal values: give the histogram some width
            lo, hi = lo - 0.005, hi + 0.005
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.hist(np.clip(roi, lo, hi), bins=60, range=(lo, hi), color="#3b6ea8")
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_xlabel("ROI per account (clipped to 1st-99th percentile)")
        ax.set_ylabel("accounts")
        ax.set_title(f"{result.strategy}: ROI distribution ({len(roi):,} accounts)")
        save_figure(fig, out / "roi_distribution.png")
        plt.close(fig)
        written.append(out / "roi_distribution.png")
    daily = result.table("daily")
    if daily is not None and daily.num_rows:
        per_day = daily.group_by("day").aggregate([("pnl", "sum")]).sort_by("day")
        days = per_day.column("day").to_pandas()
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(days, np.cumsum(per_day.column("pnl_sum").to_numpy()), color="#a83b3b")
        ax.set_xlabel("day (UTC)")
        ax.set_ylabel("cumulative PnL, all accounts")
        ax.set_title(f"{result.strategy}: cumulative PnL")
        fig.autofmt_xdate()
        save_figure(fig, out / "cumulative_pnl.png")
        plt.close(fig)
        written.append(out / "cumulative_pnl.png")
    return written
