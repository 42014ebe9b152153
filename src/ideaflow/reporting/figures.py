"""Figures: how every PNG is rendered and saved, and the plots of a backtest (ROI
distribution and the equity curve of the platform).

Figures are built with matplotlib's object-oriented `Figure` (no pyplot, so the user's
backend and open figures are never touched) and rendered to PNG without timestamps or
version metadata: the same result gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ideaflow.io.write import write_bytes_atomic
from ideaflow.results import BacktestResult

_PNG_META = {"Software": None}


def save_figure(fig: Figure, path: Path, *, tight: bool = True, dpi: float = 110) -> Path:
    """Render `fig` to PNG and write it atomically (the file appears whole or not at all).

    `tight`: crop to the drawn area; `dpi`: the resolution (None: the figure's own).
    """
    buffer = io.BytesIO()
    if tight:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=_PNG_META)
    else:
        fig.savefig(buffer, format="png", metadata=_PNG_META)
    return write_bytes_atomic(buffer.getvalue(), path)


def backtest_figures(result: BacktestResult, out: Path) -> list[Path]:
    """ROI histogram of active accounts and cumulative platform PnL over time."""
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
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        ax.hist(np.clip(roi, lo, hi), bins=60, range=(lo, hi), color="#3b6ea8")
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_xlabel("ROI per account (clipped to 1st-99th percentile)")
        ax.set_ylabel("accounts")
        ax.set_title(f"{result.strategy}: ROI distribution ({len(roi):,} accounts)")
        save_figure(fig, out / "roi_distribution.png")
        written.append(out / "roi_distribution.png")
    daily = result.table("daily")
    if daily is not None and daily.num_rows:
        per_day = daily.group_by("day").aggregate([("pnl", "sum")]).sort_by("day")
        days = per_day.column("day").to_pandas()
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        ax.plot(days, np.cumsum(per_day.column("pnl_sum").to_numpy()), color="#a83b3b")
        ax.set_xlabel("day (UTC)")
        ax.set_ylabel("cumulative PnL, all accounts")
        ax.set_title(f"{result.strategy}: cumulative PnL")
        fig.autofmt_xdate()
        save_figure(fig, out / "cumulative_pnl.png")
        written.append(out / "cumulative_pnl.png")
    return written
