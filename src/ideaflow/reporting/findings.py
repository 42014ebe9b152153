"""The findings of `analyze` as a table a person reads, next to the published figures."""

from __future__ import annotations

import math
from typing import Any

from ideaflow.analytics.published import printed, references


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    value = float(value)
    if not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _ci(lo: Any, hi: Any) -> str:
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return "-"
    return f"[{_num(lo)}, {_num(hi)}]"


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
                    _num(d["mean"]),
                    _ci(d["mean_lo"], d["mean_hi"]),
                    str(d["n"]),
                    printed("social_vs_single") if key == "social" else "",
                )
            )
            rows.append(
                (
                    f"{label} trades: median return",
                    _num(d["median"]),
                    _ci(d["median_lo"], d["median_hi"]),
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
                _num(d["value"]),
                _ci(d["lo"], d["hi"]),
                f"{root['n_roots']} roots",
                "",
            )
        )
    nf = findings.get("idea_flow_null", {})
    if "observed_original_share" in nf:
        rows.append(
            (
                "copy share of trades",
                _num(nf["copy_share"]),
                "-",
                str(nf["n_trades"]),
                "",
            )
        )
        rows.append(
            (
                "original trades echoing a leader: observed",
                _num(nf["observed_original_share"]),
                "-",
                str(nf["n_queried"]),
                "",
            )
        )
        rows.append(
            (
                f"  chance baseline ({nf['null']}, {nf['n_null']} replicates)",
                _num(nf["null_original_share"]),
                _ci(nf["null_lo"], nf["null_hi"]),
                "",
                "",
            )
        )
        rows.append(
            (
                "  excess idea flow over chance",
                _num(nf["excess"]),
                _ci(nf["excess_lo"], nf["excess_hi"]),
                f"p={_num(nf['p_value'], 3)}",
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
            rows.append((label, _num(d["value"]), _ci(d["lo"], d["hi"]), str(d["n_obs"]), "weak"))
    d = pp.get("per_trader")
    if d:
        rows.append(
            (
                "per-trader corr(popularity, trailing ROI): mean",
                _num(d["mean"]),
                _ci(d["mean_lo"], d["mean_hi"]),
                str(d["n"]),
                printed("popularity_per_trader_corr"),
            )
        )
        rows.append(
            (
                "  median [q25, q75]",
                _num(d["median"]),
                f"[{_num(d['q25'])}, {_num(d['q75'])}]",
                str(d["n"]),
                "",
            )
        )
    ex = findings.get("exploration", {})
    if "slope_bps" in ex:
        rows.append(
            (
                "ROI per ln(exploration rate), bps",
                _num(ex["slope_bps"]),
                _ci(ex["slope_lo"] * 1e4, ex["slope_hi"] * 1e4),
                str(ex["fit"]["n"]),
                "",
            )
        )
        rows.append(("  R^2 (p of slope)", _num(ex["r2"]), f"p={_num(ex['slope_p'], 3)}", "", ""))
    st = ex.get("study")
    if st:
        rows.append(
            (
                "100 x ROI per ln(rate), study procedure (10 bins)",
                _num(st["slope"]),
                f"R^2={_num(st['r2'], 3)}",
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
                    _num(d["mean"]),
                    _ci(d["mean_lo"], d["mean_hi"]),
                    str(d["n"]),
                    "explorers > static" if key == "explorers" else "",
                )
            )
    iu = findings.get("inverted_u", {})
    if "curvature" in iu:
        rows.append(
            (
                "inverted U: curvature of ROI on flow^2",
                _num(iu["curvature"]),
                f"p={_num(iu['curvature_p'], 3)}",
                str(iu["n_traders"]),
                "< 0",
            )
        )
        rows.append(
            (
                "inverted U: peak idea flow (inside range?)",
                _num(iu["peak_x"]),
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
            rows.append((label, _num(d["value"]), _ci(d["lo"], d["hi"]), "", pub))
    rb = iu.get("robust", {})
    if "curvature_p_hc3" in rb:
        rows.append(
            (
                "inverted U: curvature, HC3 p-value",
                _num(rb["curvature"]),
                f"p={_num(rb['curvature_p_hc3'], 3)}",
                str(rb["n_traders"]),
                "< 0",
            )
        )
        lm = rb["lind_mehlum"]
        rows.append(
            (
                "inverted U: Lind-Mehlum U test (HC3)",
                _num(lm["t"]),
                f"p={_num(lm['p_value'], 3)}",
                "",
                "",
            )
        )
        d = rb["best_minus_lowest_pts"]
        rows.append(
            (
                "best bin - lowest bin, ROI points (selection-aware)",
                _num(d["value"]),
                _ci(d["lo"], d["hi"]),
                f"p={_num(d['p_value_selection_aware'], 3)}",
                "",
            )
        )
    net = findings.get("network", {})
    if "diverse_minus_echo" in net:
        rows.append(
            (
                "diverse minus echo (top - bottom third diversity), ROI",
                _num(net["diverse_minus_echo"]),
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
    rows = [header, *findings_rows(findings)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
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
