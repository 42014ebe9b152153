"""PNG plots of the analysis: the inverted U, popularity vs performance, exploration vs
return, and the in-degree distribution on log-log axes.

Rendered without timestamps or version metadata (`save_figure`), so the same findings
give the same bytes; each file is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ideaflow.analytics.analysis import AnalysisResult
from ideaflow.reporting.figures import save_figure

MAX_SCATTER = 20_000


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.4, 4.4), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: Path) -> Path:
    return save_figure(fig, path, tight=False)


def _binned(ax: Any, fit: dict[str, Any], xlabel: str, ylabel: str, log_x: bool) -> None:
    bins = fit.get("bins", [])
    x = np.array([b["x_mean"] for b in bins], dtype=float)
    y = np.array([b["y_mean"] for b in bins], dtype=float)
    lo = np.array([b["y_lo"] if b["y_lo"] is not None else np.nan for b in bins], dtype=float)
    hi = np.array([b["y_hi"] if b["y_hi"] is not None else np.nan for b in bins], dtype=float)
    err = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
    ax.errorbar(x, y, yerr=err, fmt="o", color="C0", capsize=3, label="bin mean, 95% CI")
    if x.size:
        lo_t, hi_t = fit["t_range"]
        t = np.linspace(lo_t, hi_t, 200)
        c = fit["coef"]
        curve = c["intercept"] + c["slope"] * t + c.get("curvature", 0.0) * t * t
        ax.plot(np.exp(t) if log_x else t, curve, color="C1", label=f"{fit['fit']} fit")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.legend(loc="best", fontsize=8)


def inverted_u_figure(findings: dict[str, Any]) -> Figure:
    fig, ax = _figure()
    iu = findings.get("inverted_u", {})
    if "fit" in iu:
        _binned(ax, iu["fit"], "idea flow (share of trades echoing leaders)", "ROI", False)
        peak = iu.get("peak_x")
        if peak is not None and iu.get("peak_inside"):
            ax.axvline(peak, color="C2", ls="--", lw=1, label="peak")
    ax.set_title("Return against idea flow")
    return fig


def exploration_figure(findings: dict[str, Any]) -> Figure:
    fig, ax = _figure()
    ex = findings.get("exploration", {})
    if "fit" in ex:
        _binned(ax, ex["fit"], "exploration rate (follow starts + ends per month)", "ROI", True)
    ax.set_title("Exploration vs return")
    return fig


def popularity_figure(result: AnalysisResult) -> Figure:
    fig, ax = _figure()
    panel = result.popularity
    if panel is not None and len(panel):
        sub = panel
        if len(sub) > MAX_SCATTER:
            # a deterministic thinning keeps the file small on big platforms
            sub = sub.iloc[np.linspace(0, len(sub) - 1, MAX_SCATTER).astype(np.int64)]
        ax.scatter(sub["followers"] + 1, sub["trailing_roi"], s=4, alpha=0.3, color="C0")
        ax.set_xscale("log")
        d = result.findings.get("popularity_vs_performance", {}).get("spearman_trailing", {})
        value = d.get("value")
        if value is not None and np.isfinite(value):
            ax.text(0.02, 0.95, f"Spearman {value:.3f}", transform=ax.transAxes, va="top")
    ax.set_xlabel("followers at period end + 1")
    ax.set_ylabel("trailing-period ROI")
    ax.set_title("Popularity vs performance")
    return fig


def in_degree_figure(findings: dict[str, Any]) -> Figure:
    fig, ax = _figure()
    deg = findings.get("network", {}).get("in_degree", {})
    x = np.asarray(deg.get("degree", []), dtype=float)
    y = np.asarray(deg.get("count", []), dtype=float)
    if x.size:
        ax.loglog(x, y, "o", ms=3, color="C0")
    ax.set_xlabel("followers (in-degree)")
    ax.set_ylabel("traders")
    ax.set_title("In-degree distribution")
    return fig


def analysis_figures(result: AnalysisResult, out: Path) -> list[Path]:
    """Write the four PNGs into `out`; returns their paths."""
    f = result.findings
    return [
        _save(inverted_u_figure(f), out / "inverted_u.png"),
        _save(popularity_figure(result), out / "popularity_vs_performance.png"),
        _save(exploration_figure(f), out / "exploration.png"),
        _save(in_degree_figure(f), out / "in_degree.png"),
    ]
