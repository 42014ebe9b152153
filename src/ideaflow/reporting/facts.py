"""The stylized facts as a table a person reads (beside the published values), as
`facts.json` and as one PNG of four panels (`facts.png`), all written atomically.

The figure is built with matplotlib's object-oriented `Figure` (no pyplot, no global
backend switch) and saved without metadata, so the same facts give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import special

from ideaflow.analytics.facts import FactsResult
from ideaflow.analytics.published import printed, references
from ideaflow.reporting.figures import save_figure
from ideaflow.reporting.text import aligned_lines, interval, short_number

# the facts the table sets beside a published figure, and the key of that figure
PUBLISHED_KEYS = {
    "losing_share": "losing_share",
    "popularity_vs_performance": "popularity_per_trader_corr",
    "mirror_choice": "popularity_weight_ratio",
    "exploration_slope": "exploration_slope",
}


def _ci(d: dict[str, Any], lo: str = "lo", hi: str = "hi") -> str:
    return interval(d.get(lo), d.get(hi))


def facts_rows(f: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows (fact, value, 95% interval, n, published) of the facts table."""

    def pub(key: str) -> str:
        return printed(PUBLISHED_KEYS[key]) if key in PUBLISHED_KEYS else ""

    rows: list[tuple[str, str, str, str, str]] = []
    d = f["losing_share"]
    rows.append(
        (
            "share of accounts losing money",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            pub("losing_share"),
        )
    )
    d = f["roi"]
    rows.append(
        (
            "ROI: median",
            short_number(d["value"]),
            f"q25-q75 [{short_number(d['q25'])}, {short_number(d['q75'])}]",
            str(d["n"]),
            "",
        )
    )
    rows.append(("ROI: mean", short_number(d["mean"]), _ci(d, "mean_lo", "mean_hi"), "", ""))
    rows.append(("ROI: share below -50%", short_number(d["share_below_minus_50pct"]), "-", "", ""))
    d = f["copy_share"]
    rows.append(("copy share of trades", short_number(d["value"]), _ci(d), str(d["n"]), ""))
    d = f["in_degree_tail"]
    fitted = f"k in [{d['k_min']}, {d['k_max']}]" if "k_min" in d else "too few to fit"
    rows.append(
        (
            "follower in-degree tail exponent (MLE)",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            "",
        )
    )
    rows.append(("  fitted range, KS distance", fitted, short_number(d.get("ks_distance")), "", ""))
    d = f["leader_concentration"]
    rows.append(
        (
            "copies of the top 1% of leaders, share",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            "",
        )
    )
    rows.append(
        (
            "  follows of the top 1%, share",
            short_number(d["top1pct_follows_share"]["value"]),
            _ci(d["top1pct_follows_share"]),
            "",
            "",
        )
    )
    rows.append(
        (
            "  Gini of follower counts",
            short_number(d["follower_gini"]["value"]),
            _ci(d["follower_gini"]),
            "",
            "",
        )
    )
    d = f["holding_hours"]
    rows.append(
        (
            "holding time of originals, median hours",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            "",
        )
    )
    d = f["leverage"]
    rows.append(
        ("leverage of originals, median", short_number(d["value"]), _ci(d), str(d["n"]), "")
    )
    rows.append(("  share at 10x or more", short_number(d["share_10x_or_more"]), "-", "", ""))
    d = f["trading_frequency"]
    rows.append(
        (
            "original trades per month active, median",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            "",
        )
    )
    d = f["popularity_vs_performance"]
    rows.append(
        (
            "corr(popularity, trailing ROI) per trader, mean",
            short_number(d["value"]),
            _ci(d),
            str(d["n"]),
            pub("popularity_vs_performance"),
        )
    )
    ps = d["pooled_spearman"]
    rows.append(("  pooled Spearman", short_number(ps["value"]), _ci(ps), str(ps["n_obs"]), ""))
    d = f["mirror_choice"]
    rows.append(
        (
            "whom people mirror: popularity / performance weight",
            short_number(d["value"]),
            f">= {short_number(d.get('ratio_lower_bound'))}",
            str(d["n"]),
            pub("mirror_choice"),
        )
    )
    for key, label in (
        ("b_popularity", "  per sd of log(1 + followers)"),
        ("b_performance", "  per sd of trailing-ROI rank"),
    ):
        if key in d:
            rows.append((label, short_number(d[key]["value"]), _ci(d[key]), "", ""))
    d = f["exploration_slope"]
    rows.append(
        (
            "exploration slope, 100 x ROI per ln(rate) (study)",
            short_number(d["value"]),
            f"R^2={short_number(d['r2'], 3)}",
            str(d["n"]),
            pub("exploration_slope"),
        )
    )
    rows.append(
        (
            "  on the points (ROI per ln rate)",
            short_number(d["slope_points"]),
            _ci(d, "slope_points_lo", "slope_points_hi"),
            "",
            "",
        )
    )
    return rows


def facts_table(f: dict[str, Any]) -> str:
    """The facts as an aligned text table with the references below it."""
    header = ("fact", "value", "95% interval", "n", "published")
    lines = []
    ds = f.get("dataset", {})
    if ds:
        lines.append(
            f"{ds['n_traders']} traders ({ds['n_active']} with trades), {ds['n_trades']} "
            f"trades, {ds['n_follows']} follows"
        )
    lines.extend(aligned_lines(header, facts_rows(f)))
    lines.append("")
    lines.extend(references(list(PUBLISHED_KEYS.values())))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- plot


def facts_figure(result: FactsResult) -> Figure:
    """Four panels: ROI histogram, in-degree CCDF with the fitted tail, holding times,
    leverage."""
    fig = Figure(figsize=(11.0, 8.0), dpi=90)
    axes = fig.subplots(2, 2)
    f = result.facts
    a = result.arrays

    ax = axes[0, 0]
    roi = a["roi"]
    if roi.size:
        lo, hi = np.quantile(roi, [0.005, 0.995])
        ax.hist(np.clip(roi, lo, hi), bins=60, color="C0")
        ax.axvline(0.0, color="k", lw=0.8)
    ax.set_title(f"ROI of accounts (losing: {short_number(f['losing_share']['value'], 3)})")
    ax.set_xlabel("ROI (0.5-99.5% range)")
    ax.set_ylabel("accounts")

    ax = axes[0, 1]
    deg = a["in_degree"]
    deg = np.sort(deg[deg > 0])
    if deg.size:
        values, counts = np.unique(deg, return_counts=True)
        ccdf = 1.0 - (np.cumsum(counts) - counts) / deg.size
        ax.loglog(values, ccdf, "o", ms=3, color="C0", label="traders")
        tail = f["in_degree_tail"]
        if "k_min" in tail:
            k = np.arange(tail["k_min"], tail["k_max"] + 1, dtype=np.float64)
            share = tail["n"] / deg.size
            fitted = (
                share * special.zeta(tail["value"], k) / special.zeta(tail["value"], tail["k_min"])
            )
            ax.loglog(k, fitted, color="C1", label=f"alpha = {tail['value']:.2f}")
            ax.legend(loc="best", fontsize=8)
    ax.set_title("Follower in-degree, P(K >= k)")
    ax.set_xlabel("followers k")

    ax = axes[1, 0]
    hours = a["holding_hours"]
    hours = hours[hours > 0]
    if hours.size:
        ax.hist(np.log10(hours), bins=60, color="C2")
    ax.set_title("Holding time of original trades")
    ax.set_xlabel("log10 hours")

    ax = axes[1, 1]
    lev = a["leverage"]
    if lev.size:
        levels, counts = np.unique(lev, return_counts=True)
        if levels.size <= 20:
            ax.bar([f"{v:g}" for v in levels], counts / lev.size, color="C3")
        else:
            ax.hist(lev, bins=40, color="C3")
    ax.set_title("Leverage of original trades (share)")
    fig.tight_layout()
    return fig


def facts_figures(result: FactsResult, out: Path) -> list[Path]:
    """facts.png in `out`."""
    return [save_figure(facts_figure(result), out / "facts.png", tight=False)]
