"""Text tables a person reads: the backtest summary printed by the CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ideaflow.results import BacktestResult


def fmt_number(value: Any, kind: str = "num") -> str:
    """Format a number for a table: money with thousands separators, percentages, counts."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{100.0 * float(value):+.2f}%"
    if kind == "money":
        return f"{float(value):,.2f}"
    return f"{float(value):.4g}"


def format_rows(rows: list[tuple[str, str]], title: str) -> str:
    width = max(len(label) for label, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


def format_backtest(result: BacktestResult, top: int = 5) -> str:
    """Totals, social vs single trades, and the top and bottom accounts by PnL."""
    head = result.headline()
    counts = result.counts
    rows = [
        ("strategy", result.strategy),
        ("accounts", fmt_number(head["accounts"], "int")),
        ("positions", fmt_number(head["positions"], "int")),
    ]
    if "copies_generated" in counts:
        rows.append(("copies generated", fmt_number(counts["copies_generated"], "int")))
    if counts.get("copies_skipped_bankrupt"):
        rows.append(
            (
                "copies skipped (leader equity <= 0)",
                fmt_number(counts["copies_skipped_bankrupt"], "int"),
            )
        )
    if "unmarked_open" in counts:
        rows.append(("open trades left unmarked", fmt_number(counts["unmarked_open"], "int")))
    quarantined = result.meta.get("quarantined") or {}
    if any(quarantined.values()):
        rows.append(
            (
                "rows quarantined",
                ", ".join(f"{t}={n:,}" for t, n in sorted(quarantined.items()) if n),
            )
        )
    rows += [
        ("total pnl", fmt_number(head["total_pnl"], "money")),
        ("mean roi", fmt_number(head["mean_roi"], "pct")),
        ("median roi", fmt_number(head["median_roi"], "pct")),
    ]
    parts = [format_rows(rows, f"ideaflow backtest: {result.strategy}")]

    if "single_trades" in head:
        table = pd.DataFrame(
            {
                "closed trades": [
                    fmt_number(head[f"{k}_trades"], "int") for k in ("single", "social")
                ],
                "mean return": [
                    fmt_number(head[f"{k}_mean_ret"], "pct") for k in ("single", "social")
                ],
                "median return": [
                    fmt_number(head[f"{k}_median_ret"], "pct") for k in ("single", "social")
                ],
            },
            index=["single (original)", "social (copied)"],
        )
        parts.append("social vs single trades\n" + table.to_string())

    ranked = _ranked_accounts(result, top)
    if len(ranked) and top > 0:
        cols = [
            c
            for c in ("trader_id", "n_trades", "n_social", "pnl", "roi", "max_drawdown", "sharpe")
            if c in ranked
        ]
        for label, frame in (
            ("top accounts by pnl", ranked.head(top)),
            ("bottom accounts by pnl", ranked.tail(top).iloc[::-1]),
        ):
            shown = frame[cols].copy()
            for col in ("pnl",):
                shown[col] = shown[col].map(lambda v: fmt_number(v, "money"))
            for col in ("roi", "max_drawdown"):
                if col in shown:
                    shown[col] = shown[col].map(lambda v: fmt_number(v, "pct"))
            if "sharpe" in shown:
                shown["sharpe"] = shown["sharpe"].map(lambda v: fmt_number(v))
            parts.append(label + "\n" + shown.to_string(index=False))
    return "\n\n".join(parts)


def _ranked_accounts(result: BacktestResult, top: int) -> pd.DataFrame:
    """The `top` best and worst active accounts by pnl (ties by trader id), best first.

    Ranked on numpy columns so that a platform of millions of accounts is never copied
    into a DataFrame just to show ten rows.
    """
    import numpy as np

    table = result.table("accounts")
    if table is None or table.num_rows == 0:
        return pd.DataFrame()
    names = set(table.column_names)
    pnl = table.column("pnl").to_numpy()
    ids = table.column("trader_id").to_numpy()
    rows = np.arange(table.num_rows)
    if "n_trades" in names:
        rows = rows[table.column("n_trades").to_numpy() > 0]
    order = rows[np.lexsort((ids[rows], -pnl[rows]))]
    keep = order if len(order) <= 2 * top else np.concatenate([order[:top], order[-top:]])
    return table.take(keep).to_pandas()


def short_number(value: Any, digits: int = 4) -> str:
    """A statistic in a findings or facts table: `digits` significant digits, scientific
    below 1e-3, '-' when missing or not finite."""
    if value is None:
        return "-"
    value = float(value)
    if not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def interval(lo: Any, hi: Any) -> str:
    """`[lo, hi]` with `short_number`, '-' when either end is missing or not finite."""
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return "-"
    return f"[{short_number(lo)}, {short_number(hi)}]"


def aligned_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A header, a rule and the rows, each column padded to its widest cell."""
    table = [tuple(header), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
