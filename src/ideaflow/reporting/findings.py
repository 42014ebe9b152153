"""The findings of `analyze` as a table a person reads, next to the published figures."""

from __future__ import annotations

from typing import Any

from ideaflow.analytics.published import printed, references
from ideaflow.reporting.text import aligned_lines, interval, short_number


def findings_rows(findings: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows (finding, value, 95% interval, n, published) of the findings table."""
    rows: list[tuple[str, str, str, str, str]] = []
    sv = findings.get("social_vs_single", {})
    for label, key in (("social", "social"), ("single", "single")):
        d = sv.get(key, {})
        if d:
            rows.append(
                (
                    f"{label} trades: mean return",
                    short_number(d["mean"]),
                    interval(d["mean_lo"], d["mean_hi"]),
                    str(d["n"]),
                    printed("social_vs_single") if key == "social" else "",
                )
            )
            rows.append(
                (
                    f"{label} trades: median return",
                    short_number(d["median"]),
                    interval(d["median_lo"], d["median_hi"]),
                    str(d["n"]),
                    "",
                )
            )
    root = sv.get("by_root")
    if root:
        d = root["mean_difference"]
        rows.append(
            (
                "social - single mean return (root bootstrap)",
                short_number(d["value"]),
                interval(d["lo"], d["hi"]),
                f"{root['n_roots']} roots",
                "",
            )
        )
    nf = findings.get("idea_flow_null", {})
    if "observed_original_share" in nf:
        rows.append(
            (
                "copy share of trades",
                short_number(nf["copy_share"]),
                "-",
                str(nf["n_trades"]),
                "",
            )
        )
        rows.append(
            (
                "original trades echoing a leader: observed",
                short_number(nf["observed_original_share"]),
                "-",
                str(nf["n_queried"]),
                "",
            )
        )
        rows.append(
            (
                f"  chance baseline ({nf['null']}, {nf['n_null']} replicates)",
                short_number(nf["null_original_share"]),
                interval(nf["null_lo"], nf["null_hi"]),
                "",
                "",
            )
        )
        rows.append(
            (
                "  excess idea flow over chance",
                short_number(nf["excess"]),
                interval(nf["excess_lo"], nf["excess_hi"]),
                f"p={short_number(nf['p_value'], 3)}",
                "",
            )
        )
    pp = findings.get("popularity_vs_performance", {})
    for key, label in (
        ("spearman_trailing", "followers vs trailing ROI (Spearman)"),
        ("spearman_next", "followers vs next-period ROI (Spearman)"),
    ):
        d = pp.get(key)
        if d:
            rows.append(
                (
                    label,
                    short_number(d["value"]),
                    interval(d["lo"], d["hi"]),
                    str(d["n_obs"]),
                    "weak",
                )
            )
    d = pp.get("per_trader")
    if d:
        rows.append(
            (
                "per-trader corr(popularity, trailing ROI): mean",
                short_number(d["mean"]),
                interval(d["mean_lo"], d["mean_hi"]),
                str(d["n"]),
                printed("popularity_per_trader_corr"),
            )
        )
        rows.append(
            (
                "  median [q25, q75]",
                short_number(d["median"]),
                f"[{short_number(d['q25'])}, {short_number(d['q75'])}]",
                str(d["n"]),
                "",
            )
        )
    ex = findings.get("exploration", {})
    if "slope_bps" in ex:
        rows.append(
            (
                "ROI per ln(exploration rate), bps",
                short_number(ex["slope_bps"]),
                interval(ex["slope_lo"] * 1e4, ex["slope_hi"] * 1e4),
                str(ex["fit"]["n"]),
                "",
            )
        )
        rows.append(
            (
                "  R^2 (p of slope)",
                short_number(ex["r2"]),
                f"p={short_number(ex['slope_p'], 3)}",
                "",
                "",
            )
        )
    st = ex.get("study")
    if st:
        rows.append(
            (
                "100 x ROI per ln(rate), study procedure (10 bins)",
                short_number(st["slope"]),
                f"R^2={short_number(st['r2'], 3)}",
                str(st["n"]),
                printed("exploration_slope"),
            )
        )
    for key, label in (
        ("explorers", "explorers (top third): mean ROI"),
        ("static", "static (bottom third): mean ROI"),
    ):
        d = ex.get(key)
        if d:
            rows.append(
                (
                    label,
                    short_number(d["mean"]),
                    interval(d["mean_lo"], d["mean_hi"]),
                    str(d["n"]),
                    "explorers > static" if key == "explorers" else "",
                )
            )
    iu = findings.get("inverted_u", {})
    if "curvature" in iu:
        rows.append(
            (
                "inverted U: curvature of ROI on flow^2",
                short_number(iu["curvature"]),
                f"p={short_number(iu['curvature_p'], 3)}",
                str(iu["n_traders"]),
                "< 0",
            )
        )
        rows.append(
            (
                "inverted U: peak idea flow (inside range?)",
                short_number(iu["peak_x"]),
                "yes" if iu["peak_inside"] else "no",
                "",
                "interior",
            )
        )
        low = "isolated (flow 0) bin" if iu.get("lowest_bin_is_isolated") else "lowest-flow bin"
        for key, label, pub in (
            ("uplift_vs_lowest_pct", f"best bin vs {low}, %", printed("idea_flow_uplift_pct")),
            ("uplift_vs_lowest_pts", f"best bin vs {low}, ROI points", ""),
            (
                "uplift_vs_highest_pct",
                "best bin vs highest-flow bin, %",
                printed("idea_flow_uplift_pct"),
            ),
            ("uplift_vs_highest_pts", "best bin vs highest-flow bin, ROI points", ""),
        ):
            d = iu[key]
            rows.append((label, short_number(d["value"]), interval(d["lo"], d["hi"]), "", pub))
    rb = iu.get("robust", {})
    if "curvature_p_hc3" in rb:
        rows.append(
            (
                "inverted U: curvature, HC3 p-value",
                short_number(rb["curvature"]),
                f"p={short_number(rb['curvature_p_hc3'], 3)}",
                str(rb["n_traders"]),
                "< 0",
            )
        )
        lm = rb["lind_mehlum"]
        rows.append(
            (
                "inverted U: Lind-Mehlum U test (HC3)",
                short_number(lm["t"]),
                f"p={short_number(lm['p_value'], 3)}",
                "",
                "",
            )
        )
        d = rb["best_minus_lowest_pts"]
        rows.append(
            (
                "best bin - lowest bin, ROI points (selection-aware)",
                short_number(d["value"]),
                interval(d["lo"], d["hi"]),
                f"p={short_number(d['p_value_selection_aware'], 3)}",
                "",
            )
        )
    net = findings.get("network", {})
    if "diverse_minus_echo" in net:
        rows.append(
            (
                "diverse minus echo (top - bottom third diversity), ROI",
                short_number(net["diverse_minus_echo"]),
                "-",
                "",
                "",
            )
        )
    return rows


# the published figures the findings table sets beside its values
CITED = [
    "social_vs_single",
    "popularity_per_trader_corr",
    "exploration_slope",
    "idea_flow_uplift_pct",
]


def findings_table(findings: dict[str, Any]) -> str:
    """The findings as an aligned text table."""
    header = ("finding", "value", "95% interval", "n", "published")
    lines = aligned_lines(header, findings_rows(findings))
    lines.append("")
    lines.extend(references(CITED))
    ds = findings.get("dataset", {})
    if ds:
        lines.insert(
            0,
            f"{ds.get('n_traders', 0)} traders, {ds.get('n_trades', 0)} trades "
            f"({ds.get('n_social_trades', 0)} copies), {ds.get('n_follows', 0)} follows",
        )
    return "\n".join(lines)
