"""The rules of docs/contract.md §2, checked vectorised over normalised columns.

Order (STYLE: schema -> types -> values -> references): missing required columns (with a
`difflib` suggestion), wrong types, then every value rule of every table, then trade ids,
parent references and parent-chain cycles. Each broken rule becomes one `Finding` holding
the positions (in the table as read) of all its rows; the caller turns findings into
`Violation`s for the report and uses the positions for quarantine. Value rules run on
every column that could be normalised, so one pass reports everything that can be known.

Design choices (docs/contract.md §2 is silent on them):
- `instrument` must contain a non-blank character ("" and "  " are both empty);
- a rule relating several rows marks every row taking part: all rows of a duplicated
  trade_id / trader_id / (instrument, time), and every follows interval that overlaps
  another interval of its (follower, leader) pair; intervals are half-open
  [start_time, end_time), so one ending exactly when the next starts does not overlap;
- a copy may belong to the same trader as its parent (the contract does not forbid it);
- rows on a parent cycle break the cycle rule; rows whose chain merely leads into a cycle
  depend on those rows (quarantine drops them as dependants);
- only `trades` may not be empty; empty optional tables are treated as absent.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ideaflow.data import OPEN_END
from ideaflow.errors import Violation
from ideaflow.io.columns import INVALID_RULE, NormColumn, normalize_column
from ideaflow.io.ids import IdIndex
from ideaflow.io.read import RawTable, table_problem
from ideaflow.io.schema import TABLES
from ideaflow.kernels.graph import overlapping_intervals_nb, parent_chains_nb

RULE_NULL = "must not be null"
RULE_POSITIVE = "must be finite and > 0"


@dataclass
class Finding:
    """One broken row rule: every offending row position of one table."""

    table: str
    column: str
    rule: str
    rows: np.ndarray  # int64 positions in the table as read, ascending
    hint: str = ""


@dataclass
class NormTable:
    """A table whose columns were normalised (None = column unusable)."""

    name: str
    raw: RawTable
    nrows: int
    cols: dict[str, NormColumn | None]


@dataclass
class CheckResult:
    tables: dict[str, NormTable] = field(default_factory=dict)
    problems: list[Violation] = field(default_factory=list)  # table-level: unusable
    findings: list[Finding] = field(default_factory=list)  # row-level
    parent_row: np.ndarray | None = None  # trades: row of the parent (read order), -1 none
    on_cycle: np.ndarray | None = None
    trade_index: IdIndex | None = None  # over every trades row (None if some id is unusable)


class _Rules:
    """Collects findings of one table."""

    def __init__(self, table: NormTable, out: list[Finding]):
        self.table = table
        self.out = out

    def col(self, name: str) -> NormColumn | None:
        return self.table.cols.get(name)

    def add(self, column: str, rule: str, mask: np.ndarray | None, hint: str = "") -> None:
        if mask is None:
            return
        rows = np.flatnonzero(mask)
        if rows.size:
            self.out.append(Finding(self.table.name, column, rule, rows, hint))

    def ok(self, name: str) -> np.ndarray | None:
        """Rows where column `name` holds a usable value (None: column unusable)."""
        c = self.col(name)
        if c is None:
            return None
        good = ~c.null if c.null is not None else np.ones(self.table.nrows, dtype=bool)
        if c.invalid is not None:
            good &= ~c.invalid
        return good

    def basic(self) -> None:
        """Nulls in non-nullable columns and unrepresentable values, every column."""
        for spec in TABLES[self.table.name]:
            c = self.col(spec.name)
            if c is None:
                continue
            if not spec.nullable and c.null is not None and c.present:
                self.add(spec.name, RULE_NULL, c.null)
            if c.invalid is not None:
                self.add(spec.name, INVALID_RULE[spec.kind], c.invalid)
            if spec.kind == "string" and c.categories is not None:
                blank = np.array([not n.strip() for n in c.categories] + [False], dtype=bool)
                if blank.any():
                    self.add(spec.name, "must be non-empty", blank[c.values])

    def bound(self, name: str, rule: str, lower: float, strict: bool, hint: str = "") -> None:
        c, good = self.col(name), self.ok(name)
        if c is None or good is None:
            return
        v = c.values
        # fused in place: each row-sized temporary saved is a fresh 10 MB on 10 M rows
        bad = np.isfinite(v)
        with np.errstate(invalid="ignore"):
            bad &= (v > lower) if strict else (v >= lower)
        np.logical_not(bad, out=bad)
        bad &= good
        self.add(name, rule, bad, hint)

    def unique(self, keys: list[str], column: str, rule: str) -> None:
        """Every row sharing its key combination with another row."""
        cols = [self.col(k) for k in keys]
        goods = [self.ok(k) for k in keys]
        if any(c is None for c in cols) or any(g is None for g in goods):
            return
        good = np.logical_and.reduce([g for g in goods if g is not None])
        rows = np.flatnonzero(good)
        if len(keys) == 1:
            values = cols[0].values[rows]  # type: ignore[union-attr]
            dup = IdIndex(values).duplicated
        else:
            frame = pd.DataFrame({k: c.values[rows] for k, c in zip(keys, cols)})  # type: ignore[union-attr]
            dup = frame.duplicated(keep=False).to_numpy()
            if not dup.any():
                dup = None
        if dup is not None:
            mask = np.zeros(self.table.nrows, dtype=bool)
            mask[rows[np.asarray(dup, dtype=bool)]] = True
            self.add(column, rule, mask)


def _schema_problems(raw: RawTable) -> list[Violation]:
    names = raw.column_names()
    contract = [spec.name for spec in TABLES[raw.name]]
    extras = [n for n in names if n not in contract]
    problems = []
    for label, part in raw.parts:
        repeated = sorted({n for n in part.column_names if part.column_names.count(n) > 1})
        for name in repeated:
            where = f" in {label}" if label != "<frame>" else ""
            problems.append(table_problem(raw.name, name, f"column appears more than once{where}"))
    for spec in TABLES[raw.name]:
        if spec.required and spec.name not in names:
            close = difflib.get_close_matches(spec.name, extras, n=1, cutoff=0.6)
            if not close:
                lowered = {n.lower().strip(): n for n in extras}
                close = [lowered[spec.name]] if spec.name in lowered else []
            hint = (
                f"the table has `{close[0]}`: did you mean `{spec.name}`?"
                if close
                else f"columns found: {', '.join(names) or 'none'}"
            )
            problems.append(table_problem(raw.name, spec.name, "missing required column", hint))
    return problems


def _trades(rules: _Rules, result: CheckResult) -> None:
    rules.basic()
    col, ok = rules.col, rules.ok
    rules.bound("open_price", RULE_POSITIVE, 0.0, True)
    rules.bound("close_price", RULE_POSITIVE, 0.0, True)
    rules.bound("amount", RULE_POSITIVE, 0.0, True, "amount is the capital put into the position")
    rules.bound("leverage", "must be finite and >= 1", 1.0, False, "1 means no leverage")
    rules.bound("fee", "must be finite and >= 0", 0.0, False)
    close_time, close_price = col("close_time"), col("close_price")
    if close_time is not None and close_price is not None:
        t_null = (
            close_time.null if close_time.null is not None else np.zeros(rules.table.nrows, bool)
        )
        p_null = (
            close_price.null if close_price.null is not None else np.zeros(rules.table.nrows, bool)
        )
        rules.add(
            "close_price",
            "must be null exactly when close_time is null",
            t_null != p_null,
            "an open trade has both null, a closed trade has both set",
        )
    open_time = col("open_time")
    good_open, good_close = ok("open_time"), ok("close_time")
    if (
        open_time is not None
        and close_time is not None
        and good_open is not None
        and good_close is not None
    ):
        rules.add(
            "close_time",
            "must be >= open_time",
            good_open & good_close & (close_time.values < open_time.values),
        )
    _parents(rules, result)


def _parents(rules: _Rules, result: CheckResult) -> None:
    """trade_id uniqueness, parent references and parent cycles (one id index for all)."""
    trade_id, parent = rules.col("trade_id"), rules.col("parent_trade_id")
    good_id, good_parent = rules.ok("trade_id"), rules.ok("parent_trade_id")
    if trade_id is None or good_id is None:
        return
    n = rules.table.nrows
    # rows with a usable id; None = every row (spares a 10-million-row index array)
    id_rows = None if bool(good_id.all()) else np.flatnonzero(good_id)
    index = IdIndex(trade_id.values if id_rows is None else trade_id.values[id_rows])
    if id_rows is None:
        result.trade_index = index
    if index.duplicated is not None:
        mask = np.zeros(n, dtype=bool)
        mask[index.duplicated if id_rows is None else id_rows[index.duplicated]] = True
        rules.add("trade_id", "must be unique", mask)
    if parent is None or good_parent is None:
        return
    parent_row = np.full(n, -1, dtype=np.int64)
    has_parent = np.flatnonzero(good_parent)
    if has_parent.size:
        # references to a duplicated id resolve to its first row (duplicates are reported)
        pos = index.positions(parent.values[has_parent])
        found = pos >= 0
        parent_row[has_parent[found]] = pos[found] if id_rows is None else id_rows[pos[found]]
        missing = np.zeros(n, dtype=bool)
        missing[has_parent[~found]] = True
        rules.add(
            "parent_trade_id",
            "must reference an existing trade_id",
            missing,
            "a copy's parent_trade_id is the trade_id it copied; null marks an original",
        )
        # parents that all come earlier in the file cannot form a cycle: skip the walk
        if not bool((parent_row[has_parent] < has_parent).all()):
            _, on_cycle = parent_chains_nb(parent_row)
            rules.add(
                "parent_trade_id",
                "parent chains must not form a cycle",
                on_cycle,
                "a trade cannot (indirectly) copy itself",
            )
            result.on_cycle = on_cycle
    result.parent_row = parent_row


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 key ordering like (a, b), when the id ranges allow it (else a 2-D sort)."""
    if a.size == 0:
        return a
    a_lo, b_lo = int(a.min()), int(b.min())
    a_span, b_span = int(a.max()) - a_lo + 1, int(b.max()) - b_lo + 1
    if a_span * b_span < 2**62:
        return (a - a_lo) * b_span + (b - b_lo)
    _, key = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)
    return key.ravel()


def _follows(rules: _Rules) -> None:
    rules.basic()
    col, ok = rules.col, rules.ok
    follower, leader = col("follower_id"), col("leader_id")
    good_f, good_l = ok("follower_id"), ok("leader_id")
    if follower is not None and leader is not None and good_f is not None and good_l is not None:
        rules.add(
            "leader_id",
            "must differ from follower_id",
            good_f & good_l & (follower.values == leader.values),
        )
    start, end = col("start_time"), col("end_time")
    good_s, good_e = ok("start_time"), ok("end_time")
    if start is not None and end is not None and good_s is not None and good_e is not None:
        rules.add(
            "end_time",
            "must be > start_time",
            good_s & good_e & (end.values <= start.values),
            "a follow that never ended has a null end_time",
        )
    rules.bound("allocation", RULE_POSITIVE, 0.0, True)
    if follower is None or leader is None or start is None or end is None:
        return
    if good_f is None or good_l is None or good_s is None:
        return
    rows = np.flatnonzero(good_f & good_l & good_s)
    key = _pair_key(follower.values[rows], leader.values[rows])
    # only a pair with several rows can overlap: check just those rows (often none, as a
    # pair is usually followed once); a plain sort finds them faster than the full lexsort
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return
    shared = np.isin(key, repeated)
    rows, key = rows[shared], key[shared]
    f, lead, s = follower.values[rows], leader.values[rows], start.values[rows]
    e = end.values[rows]
    if end.null is not None:
        e = np.where(end.null[rows], OPEN_END, e)
    order = np.lexsort((s, key))
    f, lead, s, e = f[order], lead[order], s[order], e[order]
    new_group = np.ones(rows.size, dtype=bool)
    new_group[1:] = (f[1:] != f[:-1]) | (lead[1:] != lead[:-1])
    overlap = overlapping_intervals_nb(new_group, s, e)
    mask = np.zeros(rules.table.nrows, dtype=bool)
    mask[rows[order[overlap]]] = True
    rules.add(
        "start_time",
        "intervals of the same (follower_id, leader_id) pair must not overlap",
        mask,
        "end the earlier follow before the next one starts, or merge them",
    )


def _prices(rules: _Rules) -> None:
    rules.basic()
    rules.bound("price", RULE_POSITIVE, 0.0, True)
    rules.unique(["instrument", "time"], "time", "must be unique per (instrument, time)")


def _accounts(rules: _Rules) -> None:
    rules.basic()
    rules.bound("initial_equity", RULE_POSITIVE, 0.0, True)
    rules.unique(["trader_id"], "trader_id", "must be unique")


_TABLE_RULES = {"follows": _follows, "prices": _prices, "accounts": _accounts}


def check_tables(raws: dict[str, RawTable]) -> CheckResult:
    """Normalise and check every table; report everything that can be checked."""
    result = CheckResult()
    for name, raw in raws.items():
        schema = _schema_problems(raw)
        result.problems.extend(schema)
        if name == "trades" and raw.nrows == 0 and not schema:
            result.problems.append(
                table_problem(name, "(rows)", "table is empty", "trades needs at least one row")
            )
            continue
        cols: dict[str, NormColumn | None] = {}
        repeated = {p.column for p in schema if p.rule.startswith("column appears")}
        for spec in TABLES[name]:
            if spec.name in repeated:
                cols[spec.name] = None
                continue
            column, problems = normalize_column(raw, spec)
            cols[spec.name] = column
            result.problems.extend(problems)
        table = NormTable(name, raw, raw.nrows, cols)
        result.tables[name] = table
        rules = _Rules(table, result.findings)
        if name == "trades":
            _trades(rules, result)
        else:
            _TABLE_RULES[name](rules)
    return result
