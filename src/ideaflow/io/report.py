"""What validation found, in words: `Violation`s with example row keys, and the report.

Examples show the key of a few offending rows as they were read ("trade_id=17") and the
offending value when the rule concerns one column ("trade_id=17 (leverage=0.5)").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from ideaflow.errors import DataError, Violation
from ideaflow.io.read import RawTable
from ideaflow.io.schema import KEY_COLUMNS, TABLE_NAMES
from ideaflow.io.validate import Finding

N_EXAMPLES = 3


def _scalar_text(scalar: pa.Scalar) -> str:
    if not scalar.is_valid:
        return "null"
    t = scalar.type
    if pa.types.is_dictionary(t):
        return _scalar_text(scalar.value)
    if pa.types.is_timestamp(t):
        value = scalar.cast(pa.int64()).as_py()
        try:
            return str(pd.Timestamp(value, unit=t.unit))
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            return f"{value} ({t.unit} since 1970)"
    value = scalar.as_py()
    if isinstance(value, str):
        return repr(value)
    return str(value)


def raw_value(raw: RawTable, column: str, row: int) -> str | None:
    """The value at position `row` of `column` as read, as text (None: column absent)."""
    offset = 0
    for _, part in raw.parts:
        if row < offset + part.num_rows:
            if part.column_names.count(column) != 1:
                return None
            return _scalar_text(part.column(column)[row - offset])
        offset += part.num_rows
    return None


def _example(raw: RawTable, column: str, row: int) -> str:
    keys = KEY_COLUMNS[raw.name]
    values = [raw_value(raw, k, row) for k in keys]
    if any(v is None or v == "null" for v in values):
        text = f"row {row}"
    else:
        text = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
    if column not in keys:
        value = raw_value(raw, column, row)
        if value is not None:
            text += f" ({column}={value})"
    return text


def to_violation(finding: Finding, raw: RawTable) -> Violation:
    examples: list[str] = []
    for row in finding.rows[: N_EXAMPLES * 3]:
        text = _example(raw, finding.column, int(row))
        if text not in examples:
            examples.append(text)
        if len(examples) == N_EXAMPLES:
            break
    return Violation(
        table=finding.table,
        column=finding.column,
        rule=finding.rule,
        count=int(finding.rows.size),
        examples=tuple(examples),
        hint=finding.hint,
        rows=tuple(finding.rows.tolist()),
    )


def describe(violation: Violation) -> str:
    """One line per violation; table-level problems (count 0) carry no row count."""
    if violation.count == 0 and not violation.examples:
        text = f"{violation.table}.{violation.column}: {violation.rule}"
        return text + (f". {violation.hint}" if violation.hint else "")
    return violation.message()


def data_error(violations: list[Violation] | tuple[Violation, ...]) -> DataError:
    """The error listing every violation, one per line."""
    lines = [describe(v) for v in violations]
    head = "invalid input" if len(lines) == 1 else f"invalid input: {len(lines)} problems"
    return DataError(head + "\n  - " + "\n  - ".join(lines), violations)


@dataclass(frozen=True)
class ValidationReport:
    """Everything validation found in one dataset, with the row count of every table."""

    source: str
    rows: dict[str, int]  # rows read per table present
    violations: tuple[Violation, ...]
    quarantined: dict[str, int] = field(default_factory=dict)  # quarantine mode only
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantine_files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def error(self) -> DataError:
        return data_error(self.violations)

    def to_text(self) -> str:
        lines = [f"dataset: {self.source}"]
        width = max(len(n) for n in TABLE_NAMES)
        for name in TABLE_NAMES:
            if name in self.rows:
                lines.append(f"  {name:<{width}}  {self.rows[name]:>12,} rows")
            else:
                lines.append(f"  {name:<{width}}  {'absent':>12}")
        if self.violations:
            noun = "problem" if len(self.violations) == 1 else "problems"
            lines.append(f"{len(self.violations)} {noun}:")
            lines.extend(f"  - {describe(v)}" for v in self.violations)
        if self.quarantined:
            total = sum(self.quarantined.values())
            lines.append(f"quarantined {total:,} rows:")
            for name in TABLE_NAMES:
                count = self.quarantined.get(name, 0)
                if not count:
                    continue
                lines.append(f"  {name}: {count:,} rows")
                for reason, n in sorted(self.quarantine_reasons.get(name, {}).items()):
                    lines.append(f"    {n:>10,}  {reason}")
            lines.extend(f"  wrote {f}" for f in self.quarantine_files)
        if not self.violations:
            lines.append("OK")
        elif self.quarantined or any(self.quarantine_files):
            lines.append("OK after quarantine")
        else:
            lines.append("INVALID")
        return "\n".join(lines)
