"""An experiment's effects across seeds: the printed table and the figure (effects.png).

The figure has one panel per metric; each row is a setting and a strategy pair: the
per-seed effects as dots, their mean as a bar end and its interval over seeds as a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ideaflow.reporting.figures import save_figure

METRIC_LABELS = {
    "roi": "difference in mean ROI (a - b)",
    "roe": "difference in mean return on exposure (a - b)",
    "roi30_vs_untreated": "ROI per 30 days after the start: treated minus the same traders untreated",
    "roi30_vs_control": "ROI per 30 days, (after - before): treated minus control",
    "roi30_vs_pre": "ROI per 30 days of the treated: after minus before",
    "copies_per_day_change": "ideas copied per day after the start: treated minus untreated run",
    "source_clusters_change": "style clusters of the sources after the start: treated minus untreated",
}
ID_COLUMNS = ("strategy_a", "strategy_b", "metric", "arm", "measure")


def _settings(effects: pd.DataFrame) -> list[str]:
    from_effect = {"n_seeds", "mean", "sd", "ci_low", "ci_high", "ci_method", "share_positive"}
    return [
        c
        for c in effects.columns
        if c not in from_effect and c not in ID_COLUMNS and c not in ("min", "max")
    ]


def _row_label(row: dict[Any, Any], settings: list[str], measure: bool = True) -> str:
    if "strategy_a" in row:
        head = f"{row['strategy_a']} - {row['strategy_b']}"
    else:
        head = f"{row['arm']}: {row['measure']}" if measure else str(row["arm"])
    extra = ", ".join(f"{k}={_fmt(row[k])}" for k in settings)
    return f"{head} ({extra})" if extra else head


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_effects(effects: pd.DataFrame) -> str:
    """The effects across seeds as a fixed-width table (the command line prints it)."""
    if effects.empty:
        return "no effects (no cells)"
    settings = _settings(effects)
    metric_col = "metric" if "metric" in effects.columns else None
    lines = []
    labels = [_row_label(row, settings) for row in effects.to_dict("records")]
    width = max(len("effect"), *(len(label) for label in labels))
    metric_head = f" {'metric':>6}" if metric_col else ""
    header = (
        f"{'effect':<{width}}{metric_head} {'seeds':>5} {'mean':>9} {'sd':>9} "
        f"{'95% t-interval':>21} {'>0':>5}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for label, row in zip(labels, effects.to_dict("records")):
        metric = f" {row[metric_col]:>6}" if metric_col else ""
        ci = (
            f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"
            if np.isfinite(row["ci_low"])
            else "n/a (1 seed)"
        )
        lines.append(
            f"{label:<{width}}{metric} {row['n_seeds']:>5d} {row['mean']:>+9.4f} "
            f"{row['sd']:>9.4f} {ci:>21} {row['share_positive']:>5.0%}"
        )
    if not metric_col:
        lines.append(
            "roi30: ROI per 30 days; vs_untreated: the same traders in the untreated run; "
            "vs_control: difference in differences against the control group"
        )
    lines.append(
        "interval: Student t over seeds (mean ± t(0.975, n-1)·sd/√n), each seed one "
        "replication; >0: share of seeds where the effect is positive"
    )
    return "\n".join(lines)


def effects_figure(effects: pd.DataFrame, per_seed: pd.DataFrame) -> Figure:
    """Per metric, one row per (setting, pair): seed dots, mean and interval over seeds."""
    metric_col = "metric" if "metric" in effects.columns else "measure"
    metrics = list(dict.fromkeys(effects[metric_col].tolist())) or ["roi"]
    settings = _settings(effects)
    id_cols = [c for c in ID_COLUMNS if c in effects.columns and c != metric_col]
    n_rows = max(1, int((effects[metric_col] == metrics[0]).sum()))
    # two metrics side by side (a comparison); more (the tuning measures) one under another
    stacked = len(metrics) > 2
    shape = (len(metrics), 1) if stacked else (1, len(metrics))
    height = 0.6 + 0.32 * n_rows
    fig = Figure(
        figsize=(7.5, 0.4 + (height + 0.5) * len(metrics))
        if stacked
        else (5.5 * len(metrics), 1.0 + 0.42 * n_rows),
        layout="constrained",
    )
    axes = np.asarray(fig.subplots(*shape, squeeze=False)).ravel()
    for ax, metric in zip(axes, metrics):
        part = effects[effects[metric_col] == metric].reset_index(drop=True)
        labels = []
        for y, row in enumerate(part.to_dict("records")):
            labels.append(_row_label(row, settings, measure=False))
            mask = per_seed[metric_col] == metric
            for col in [*settings, *id_cols]:
                mask &= per_seed[col] == row[col]
            seeds = per_seed.loc[mask, "value"].to_numpy(dtype=float)
            ax.scatter(seeds, np.full(len(seeds), y), s=12, color="#9aa5b1", zorder=2)
            if np.isfinite(row["ci_low"]):
                ax.hlines(y, row["ci_low"], row["ci_high"], color="#3b6ea8", lw=2.0, zorder=3)
            ax.plot([row["mean"]], [y], marker="D", color="#c0392b", ms=6, zorder=4)
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_yticks(range(len(labels)))
        shown = stacked or ax is axes[0]
        ax.set_yticklabels(labels if shown else [""] * len(labels), fontsize=8)
        ax.invert_yaxis()
        if stacked:
            ax.set_title(METRIC_LABELS.get(metric, str(metric)), fontsize=9, loc="left")
        else:
            ax.set_xlabel(METRIC_LABELS.get(metric, str(metric)), fontsize=9)
    fig.suptitle(
        "effects across seeds: dots = seeds, diamond = mean, line = 95% t-interval", fontsize=9
    )
    return fig


def experiment_figures(result: Any, out: Path) -> list[Path]:
    """effects.png of an `ideaflow.experiments.ExperimentResult`."""
    if result.effects.empty:
        return []
    fig = effects_figure(result.effects, result.per_seed)
    return [save_figure(fig, Path(out) / "effects.png")]
