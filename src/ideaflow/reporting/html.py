"""One self-contained HTML page of a run directory: what was run, the results as tables
and the figures inline as SVG.

The page is built from the files of the run (`summary.json`, the Parquet tables,
`comparison.json`, `findings.json`, `facts.json`), so any finished run can be reported,
now or later. It loads nothing from the network (no scripts, fonts or images outside the
file), prints cleanly, and the same run directory gives the same bytes: figures are
rendered with a fixed SVG id salt and no date, and numbers are formatted, not measured.
Large runs are summarised before drawing (per-day sums, quantile box plots), so the page
stays small at platform scale; where a figure shows a sample, the page says so.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from ideaflow.data import NS_PER_DAY
from ideaflow.errors import ParameterError
from ideaflow.io.write import write_bytes_atomic
from ideaflow.reporting.analysis import exploration_figure, in_degree_figure, inverted_u_figure
from ideaflow.reporting.findings import findings_rows

REPORT_NAME = "report.html"
# the figures' SVG element ids are hashes salted with this, not with a random salt
_SVG_RC: dict[Any, Any] = {"svg.hashsalt": "ideaflow-report", "svg.fonttype": "none"}
MAX_STRATEGY_PLOTS = 12

_CSS = """
:root { --ink: #1d2430; --muted: #5b6675; --rule: #d9dee5; --accent: #3b6ea8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 34px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05em; margin: 22px 0 8px; }
p.lead { color: var(--muted); margin: 0 0 18px; }
p.note { color: var(--muted); font-size: 0.88em; margin: 6px 0 14px; }
p.verdict { font-size: 1.12em; font-weight: 600; padding: 10px 14px; margin: 12px 0;
            background: #eef3f9; border-left: 4px solid var(--accent); }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: right;
         vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; }
td.text, th.text { text-align: left; }
div.scroll { overflow-x: auto; }
figure { margin: 12px 0 20px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.88em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
             font-size: 0.9em; overflow-wrap: anywhere; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
  div.scroll { overflow: visible; }
}
"""


# ------------------------------------------------------------------ building blocks


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any, kind: str = "num") -> str:
    """A cell: percentages, money, counts and plain numbers, '-' when missing."""
    if value is None:
        return "-"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer) and kind in ("num", "int"):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating | int | np.integer):
        x = float(value)
        if not math.isfinite(x):
            return "-"
        if kind == "pct":
            return f"{100 * x:+.2f}%"
        if kind == "money":
            return f"{x:,.2f}"
        if kind == "int":
            return f"{x:,.0f}"
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e7):
            return f"{x:.3e}"
        return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"
    return str(value)


def _kind_of(column: str) -> str:
    name = column.lower()
    if name.startswith(("n_", "positions")) or name.endswith(("_count", "_trades")):
        return "int"
    if "pnl" in name or "equity" in name or name.endswith("exposure"):
        return "money"
    pct_markers = ("roi", "rate", "share", "drawdown", "roe", "return", "diff", "ci_")
    if any(m in name for m in pct_markers) and "pct" not in name and "sharpe" not in name:
        return "pct"
    return "num"


def table_html(header: Sequence[str], rows: Iterable[Sequence[Any]], text_columns: int = 1) -> str:
    """An HTML table; the first `text_columns` columns are left-aligned text."""
    head = "".join(
        f'<th class="text">{_esc(h)}</th>' if i < text_columns else f"<th>{_esc(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="text">{_esc(c)}</td>' if i < text_columns else f"<td>{_esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def arrow_table_html(table: pa.Table, text_columns: int = 1) -> str:
    """An Arrow table with each column formatted by what its name says it holds."""
    columns = table.column_names
    data = [table.column(c).to_pylist() for c in columns]
    kinds = [_kind_of(c) for c in columns]
    rows = []
    for i in range(table.num_rows):
        rows.append(
            [
                str(data[j][i]) if j < text_columns else _number(data[j][i], kinds[j])
                for j in range(len(columns))
            ]
        )
    return table_html([c.replace("_", " ") for c in columns], rows, text_columns)


def svg_of(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML prologue, no date, fixed ids)."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


# matplotlib's SVG ids (clip paths "p...", markers "m...", hatches "h..."): hashes of
# values that can differ in their last float digits from one drawing to the next
_SVG_ID = re.compile(r"\b[pmh][0-9a-f]{10}\b")


def renumber_svg_ids(page: str) -> str:
    """Every SVG id of the page replaced by its rank of first appearance (`svg1`, ...), so
    the page's bytes do not depend on how matplotlib hashed them."""
    ids: dict[str, str] = {}
    return _SVG_ID.sub(lambda m: ids.setdefault(m.group(0), f"svg{len(ids) + 1}"), page)


def figure_html(fig: Figure, caption: str) -> str:
    return f"<figure>{svg_of(fig)}<figcaption>{_esc(caption)}</figcaption></figure>"


def _meta_list(items: Iterable[tuple[str, Any]]) -> str:
    cells = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items)
    return f'<dl class="meta">{cells}</dl>'


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


# ------------------------------------------------------------------ run-level summaries


def _series_of_daily(path: Path, equity: float) -> tuple[np.ndarray, np.ndarray]:
    """(day numbers, cumulative pooled ROI) of a daily.parquet: the PnL of all accounts
    summed per UTC day, over their summed initial equity."""
    daily = pq.read_table(path, columns=["day", "pnl"])
    if daily.num_rows == 0 or equity <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    per_day = daily.group_by("day").aggregate([("pnl", "sum")]).sort_by("day")
    days = per_day.column("day").cast(pa.int64()).to_numpy() // NS_PER_DAY
    return days, np.cumsum(per_day.column("pnl_sum").to_numpy()) / equity


def _drawdown(cum_roi: np.ndarray) -> np.ndarray:
    wealth = 1.0 + cum_roi
    peak = np.maximum.accumulate(np.maximum(wealth, 1.0)) if wealth.size else wealth
    return wealth / peak - 1.0


def _day_axis(days: np.ndarray) -> np.ndarray:
    return (days * NS_PER_DAY).astype("datetime64[ns]")


def equity_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Cumulative pooled ROI (top) and its drawdown (bottom) per strategy."""
    fig = Figure(figsize=(9, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for name, (days, cum) in curves.items():
        if days.size:
            when = _day_axis(days)
            top.plot(when, 100 * cum, label=name, lw=1.4)
            bottom.plot(when, 100 * _drawdown(cum), label=name, lw=1.1)
    top.axhline(0.0, color="0.6", lw=0.8)
    top.set_ylabel("cumulative ROI, % of equity")
    top.legend(loc="best", fontsize=8, ncols=2)
    bottom.set_ylabel("drawdown, %")
    bottom.set_xlabel("day (UTC)")
    fig.autofmt_xdate()
    return fig


def _box_stats(values: np.ndarray, label: str) -> dict[str, Any]:
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    lo, hi = np.quantile(values, [0.05, 0.95])
    return {
        "label": label,
        "med": med,
        "q1": q1,
        "q3": q3,
        "whislo": lo,
        "whishi": hi,
        "mean": float(np.mean(values)),
        "fliers": [],
    }


def box_figure(samples: dict[str, np.ndarray], ylabel: str, percent: bool) -> Figure:
    """Box plots from quantiles (whiskers at the 5th and 95th percentiles, mean as a
    diamond): the same small picture for a hundred accounts or a million."""
    scale = 100.0 if percent else 1.0
    stats = [_box_stats(scale * v, name) for name, v in samples.items() if v.size]
    fig = Figure(figsize=(max(5.5, 1.1 * len(stats) + 2), 3.8))
    ax = fig.subplots()
    if stats:
        ax.bxp(stats, showmeans=True, showfliers=False)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_ylabel(ylabel)
    return fig


def _finite_column(path: Path, column: str, only_active: bool = True) -> np.ndarray:
    schema = pq.read_schema(path)
    if column not in schema.names:
        return np.zeros(0)
    names = [column] + (["n_trades"] if only_active and "n_trades" in schema.names else [])
    table = pq.read_table(path, columns=names)
    values = table.column(column).to_numpy(zero_copy_only=False).astype(float)
    if "n_trades" in names:
        values = values[table.column("n_trades").to_numpy(zero_copy_only=False) > 0]
    return values[np.isfinite(values)]


def _exposure_column(path: Path) -> str | None:
    names = pq.read_schema(path).names
    for name in ("gross_exposure", "exposure"):
        if name in names:
            return name
    return None


def decisions_split(path: Path) -> dict[str, Any]:
    """How the decisions of a strategy split: taken, rejected, and the support votes."""
    table = pq.read_table(path, columns=["taken", "support"])
    n = table.num_rows
    taken = int(pc.sum(table.column("taken")).as_py() or 0) if n else 0
    counts = pc.value_counts(table.column("support")) if n else pa.array([])
    by_support = sorted(
        (int(item["values"].as_py()), int(item["counts"].as_py())) for item in counts
    )
    return {"decisions": n, "taken": taken, "rejected": n - taken, "by_support": by_support}


def _decisions_html(splits: dict[str, dict[str, Any]]) -> str:
    if not splits:
        return ""
    rows = [
        [
            name,
            _number(s["decisions"], "int"),
            _number(s["taken"], "int"),
            _number(s["rejected"], "int"),
            _number(s["taken"] / s["decisions"] if s["decisions"] else None, "pct").lstrip("+"),
        ]
        for name, s in splits.items()
    ]
    out = [
        "<h2>How decisions split</h2>",
        table_html(["strategy", "decisions", "taken", "rejected", "taken share"], rows),
    ]
    supports = sorted({v for s in splits.values() for v, _ in s["by_support"]})
    if len(supports) > 1:
        shown = supports[:15]
        rows = [
            [name] + [_number(dict(s["by_support"]).get(v, 0), "int") for v in shown]
            for name, s in splits.items()
        ]
        out.append("<h3>Decisions by net support (votes for minus against)</h3>")
        out.append(table_html(["strategy", *[f"{v:+d}" for v in shown]], rows))
        if len(supports) > len(shown):
            out.append(f'<p class="note">First {len(shown)} support values shown.</p>')
    return "\n".join(out)


# ------------------------------------------------------------------ the sections


def _run_section(summary: dict[str, Any], title: str) -> str:
    inputs = summary.get("inputs", {})
    rows_read = inputs.get("rows_read", {})
    items: list[tuple[str, Any]] = []
    if summary.get("command"):
        items.append(("command", " ".join(summary["command"])))
    if inputs.get("source"):
        items.append(("dataset", inputs["source"]))
    if rows_read:
        items.append(("rows read", ", ".join(f"{k} {v:,}" for k, v in sorted(rows_read.items()))))
    quarantined = {k: v for k, v in inputs.get("quarantined", {}).items() if v}
    if quarantined:
        items.append(("quarantined", ", ".join(f"{k} {v:,}" for k, v in quarantined.items())))
    params = summary.get("parameters", {})
    if params:
        items.append(("parameters", ", ".join(f"{k}={v}" for k, v in sorted(params.items()))))
    if "seed" in summary:
        items.append(("seed", summary.get("seed")))
    versions = summary.get("versions", {})
    if versions:
        items.append(("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))))
    timings = summary.get("timings_s", {})
    if timings:
        total = sum(float(v) for v in timings.values())
        items.append(
            (
                "timings",
                f"{total:.1f} s: " + ", ".join(f"{k} {float(v):.2f} s" for k, v in timings.items()),
            )
        )
    return f"<h2>{_esc(title)}</h2>" + _meta_list(items)


def _strategy_dirs(run: Path, names: Sequence[str]) -> dict[str, Path]:
    return {n: run / n for n in names if (run / n / "accounts.parquet").exists()}


def _equity_of(accounts: Path) -> float:
    table = pq.read_table(accounts, columns=["initial_equity"])
    return float(pc.sum(table.column("initial_equity")).as_py() or 0.0)


def _performance_sections(runs: dict[str, Path], what: str) -> list[str]:
    """Cumulative ROI and drawdown, ROI and exposure distributions, decisions split."""
    out: list[str] = []
    shown = dict(list(runs.items())[:MAX_STRATEGY_PLOTS])
    curves = {
        name: _series_of_daily(d / "daily.parquet", _equity_of(d / "accounts.parquet"))
        for name, d in shown.items()
        if (d / "daily.parquet").exists()
    }
    if any(days.size for days, _ in curves.values()):
        out.append("<h2>Cumulative return and drawdown</h2>")
        out.append(
            figure_html(
                equity_figure(curves),
                f"Pooled ROI of all {what}: the daily PnL summed over {what}, divided by "
                "their summed initial equity, accumulated over UTC days; drawdown is the fall "
                "of 1 + cumulative ROI from its running peak.",
            )
        )
    roi = {name: _finite_column(d / "accounts.parquet", "roi") for name, d in shown.items()}
    if any(v.size for v in roi.values()):
        out.append("<h2>Distributions</h2>")
        out.append(
            figure_html(
                box_figure(roi, "ROI per account, %", percent=True),
                f"ROI of each {what[:-1]} with at least one position: box from the 25th to "
                "the 75th percentile, line at the median, diamond at the mean, whiskers at "
                "the 5th and 95th percentiles.",
            )
        )
    exposure = {}
    for name, d in shown.items():
        column = _exposure_column(d / "accounts.parquet")
        if column is not None:
            exposure[name] = _finite_column(d / "accounts.parquet", column)
    if any(v.size for v in exposure.values()):
        out.append(
            figure_html(
                box_figure(exposure, "gross exposure per account", percent=False),
                "Gross exposure (time-weighted amount x leverage of open positions over the "
                "account's active days), same box layout.",
            )
        )
    if len(runs) > len(shown):
        out.append(
            f'<p class="note">Figures show the first {len(shown)} of {len(runs)} '
            "strategies; the tables hold all of them.</p>"
        )
    splits = {
        name: decisions_split(d / "decisions.parquet")
        for name, d in runs.items()
        if (d / "decisions.parquet").exists()
    }
    out.append(_decisions_html(splits))
    return out


def _headline_html(headline: dict[str, Any]) -> str:
    if not headline:
        return ""
    rows = [[k.replace("_", " "), _number(v, _kind_of(k))] for k, v in headline.items()]
    return "<h2>Headline</h2>" + table_html(["measure", "value"], rows)


def _comparison_sections(run: Path) -> list[str]:
    params = _read_json(run / "comparison.json")
    comparison = pq.read_table(run / "comparison.parquet")
    names = [str(n) for n in comparison.column("strategy").to_pylist()]
    out = []
    verdict = params.get("verdict")
    if verdict:
        out.append(f'<p class="verdict">{_esc(verdict)}</p>')
    held = params.get("holds_equal") or params.get("held_equal")
    if held:
        out.append(f'<p class="note">Held equal: {_esc(held)}</p>')
    out.append("<h2>Comparison</h2>")
    out.append(arrow_table_html(comparison))
    note = params.get("interval") or (
        "Intervals: moving-block bootstrap over time of the daily ROI averaged over subjects "
        f"(blocks of {params.get('block_days', '?')} days, {params.get('n_boot', '?')} "
        "resamples); per-subject intervals resample subjects."
    )
    out.append(f'<p class="note">{_esc(note)}</p>')
    if (run / "paired.parquet").exists():
        paired = pq.read_table(run / "paired.parquet")
        out.append("<h3>Paired differences</h3>")
        out.append(arrow_table_html(paired, text_columns=2))
    out.extend(_performance_sections(_strategy_dirs(run, names), "subjects"))
    return out


def _findings_sections(findings: dict[str, Any]) -> list[str]:
    rows = findings_rows(findings)
    out = ["<h2>Findings</h2>"]
    ds = findings.get("dataset", {})
    if ds:
        out.append(
            f'<p class="note">{ds.get("n_traders", 0):,} traders, '
            f"{ds.get('n_trades', 0):,} trades ({ds.get('n_social_trades', 0):,} copies), "
            f"{ds.get('n_follows', 0):,} follows.</p>"
        )
    out.append(table_html(["finding", "value", "95% interval", "n", "published"], rows))
    out.append(
        figure_html(
            inverted_u_figure(findings),
            "Mean ROI per bin of idea flow with 95% intervals, and the fitted curve.",
        )
    )
    out.append(
        figure_html(
            exploration_figure(findings),
            "Mean ROI per bin of exploration rate (log scale), with the fitted line.",
        )
    )
    out.append(
        figure_html(in_degree_figure(findings), "Followers per trader, log-log (every degree).")
    )
    return out


def _facts_sections(facts: dict[str, Any]) -> list[str]:
    if not facts:
        return []
    rows = []
    for key, value in facts.items():
        if isinstance(value, dict):
            shown = value.get("value", value.get("estimate"))
            lo, hi = value.get("lo", value.get("ci_low")), value.get("hi", value.get("ci_high"))
            interval = "-" if lo is None or hi is None else f"[{_number(lo)}, {_number(hi)}]"
            published = value.get("published", "")
            if isinstance(published, dict):
                published = published.get("value", "")
            rows.append([key.replace("_", " "), _number(shown), interval, _esc(published)])
        elif not isinstance(value, list):
            rows.append([key.replace("_", " "), _number(value), "-", ""])
    return [
        "<h2>Stylized facts</h2>",
        table_html(["fact", "value", "95% interval", "published"], rows),
    ]


# ------------------------------------------------------------------ the page


def run_kind(run: Path) -> str:
    """`comparison`, `analysis` or `backtest`: what a run directory holds."""
    if (run / "comparison.parquet").exists():
        return "comparison"
    if (run / "findings.json").exists():
        return "analysis"
    if (run / "accounts.parquet").exists():
        return "backtest"
    if (run / "facts.json").exists():
        return "facts"
    raise ParameterError(
        f"{run}: expected a run directory of backtest, compare or analyze "
        "(accounts.parquet, comparison.parquet or findings.json); found none"
    )


def report_html(run_dir: str | Path) -> str:
    """The report of a run directory as one HTML page."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ParameterError(f"{run}: expected a run directory; found no directory")
    kind = run_kind(run)
    summary = _read_json(run / "summary.json")
    sections: list[str] = []
    if kind == "comparison":
        params = _read_json(run / "comparison.json")
        names = [str(n) for n in params.get("strategies", [])]
        per_strategy = [_read_json(run / n / "summary.json") for n in names]
        first = per_strategy[0] if per_strategy else {}
        timings = {
            n: sum(float(v) for v in s.get("timings_s", {}).values())
            for n, s in zip(names, per_strategy)
        }
        shown = {
            "inputs": first.get("inputs", {}),
            "versions": first.get("versions", {}),
            "parameters": {k: v for k, v in params.items() if k != "strategies"},
            "seed": params.get("seed"),
            "timings_s": timings,
            **summary,
        }
        title = "Strategy comparison: " + ", ".join(names)
        sections.append(_run_section(shown, "What was run"))
        sections.extend(_comparison_sections(run))
    elif kind == "analysis":
        title = "Social-learning analysis"
        findings = _read_json(run / "findings.json")
        shown = {
            "parameters": findings.get("params", {}),
            "seed": findings.get("params", {}).get("seed"),
            "timings_s": _read_json(run / "timings.json"),
            **summary,
        }
        sections.append(_run_section(shown, "What was run"))
        sections.extend(_findings_sections(findings))
    elif kind == "backtest":
        title = f"Backtest: {summary.get('strategy', run.name)}"
        sections.append(_run_section(summary, "What was run"))
        sections.append(_headline_html(summary.get("headline", {})))
        sections.extend(_performance_sections({str(summary.get("strategy", "")): run}, "accounts"))
    else:
        title = "Stylized facts"
    sections.extend(_facts_sections(_read_json(run / "facts.json")))
    body = renumber_svg_ids("\n".join(s for s in sections if s))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><h1>{_esc(title)}</h1>"
        f'<p class="lead">ideaflow report of <code>{_esc(run.name)}</code>. '
        "Every figure and table is in this file; it needs no network.</p>\n"
        f"{body}\n</body></html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of `run_dir` to `out` (default: `run_dir/report.html`), atomically."""
    run = Path(run_dir)
    target = Path(out) if out is not None else run / REPORT_NAME
    return write_bytes_atomic(report_html(run).encode("utf-8"), target)
