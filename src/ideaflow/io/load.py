"""The public entry points: load, validate or build a `Dataset` (docs/contract.md §2).

Files and in-memory frames take the same path: read -> normalise and check every rule
(`ideaflow.io.validate`) -> raise with every problem, or quarantine -> convert.

Design choices (docs/contract.md §2 is silent on them):
- problems that make a table unusable (unreadable file, missing column, wrong type, empty
  trades) raise even in quarantine mode: there is no row to blame;
- quarantine without `quarantine_dir` drops and counts rows but writes nothing (the
  CLI always passes `OUT/quarantine`); if every trade is quarantined, the files are
  written and a `DataError` says nothing is left;
- quarantine files of tables with no offending rows left by an earlier run are removed
  (only files this module wrote, recognised by their schema metadata);
- `Dataset.prices` is None when the prices table is absent or empty.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

from ideaflow.data import DEFAULT_INITIAL_EQUITY, Dataset
from ideaflow.errors import DataError, ParameterError, Violation
from ideaflow.io.convert import build_dataset
from ideaflow.io.quarantine import quarantine, remove_stale_files
from ideaflow.io.read import RawTable, frames_to_raw, read_tables, table_problem
from ideaflow.io.report import ValidationReport, data_error, to_violation
from ideaflow.io.schema import TABLE_NAMES
from ideaflow.io.validate import CheckResult, check_tables

ON_INVALID = ("error", "quarantine")


def _check_params(on_invalid: str, initial_equity: float) -> None:
    if on_invalid not in ON_INVALID:
        raise ParameterError(
            f"on_invalid: expected one of {', '.join(ON_INVALID)}, found {on_invalid!r}"
        )
    if (
        isinstance(initial_equity, bool)
        or not isinstance(initial_equity, numbers.Real)
        or not math.isfinite(initial_equity)
        or initial_equity <= 0
    ):
        raise ParameterError(
            f"initial_equity: expected a finite number > 0, found {initial_equity!r}"
        )


def _violations(raws: dict[str, RawTable], result: CheckResult) -> list[Violation]:
    out = list(result.problems)
    out.extend(to_violation(f, raws[f.table]) for f in result.findings)
    return out


def _run(
    raws: dict[str, RawTable],
    problems: list[Violation],
    source: str,
    *,
    on_invalid: str,
    quarantine_dir: str | os.PathLike[str] | None,
    initial_equity: float,
    build: bool,
) -> tuple[Dataset | None, ValidationReport]:
    result = check_tables(raws)
    result.problems[:0] = problems
    violations = _violations(raws, result)
    rows = {name: raws[name].nrows for name in TABLE_NAMES if name in raws}
    report = ValidationReport(source, rows, tuple(violations))
    if result.problems or "trades" not in result.tables:
        # a table-level problem (unreadable, missing column, wrong type) has no rows to drop
        return None, report
    if result.findings and on_invalid == "error":
        return None, report
    meta: dict[str, Any] = {
        "source": source,
        "rows_read": {name: rows.get(name, 0) for name in TABLE_NAMES},
        "quarantined": {name: 0 for name in TABLE_NAMES},
        "quarantine_reasons": {name: {} for name in TABLE_NAMES},
    }
    keep = {}
    if on_invalid == "quarantine" and quarantine_dir is not None and not result.findings:
        remove_stale_files(Path(quarantine_dir), [])
    if result.findings:
        out = Path(quarantine_dir) if quarantine_dir is not None else None
        q = quarantine(result, out)
        keep = q.keep
        meta["quarantined"].update(q.counts)
        meta["quarantine_reasons"].update(q.reasons)
        report = ValidationReport(
            source,
            rows,
            tuple(violations),
            dict(meta["quarantined"]),
            q.reasons,
            tuple(q.files),
        )
        if not keep["trades"].any():
            raise data_error(
                violations
                + [table_problem("trades", "(rows)", "every row was quarantined: nothing left")]
            )
    if not build:
        return None, report
    for raw in raws.values():
        # examples and quarantine are done: let the Arrow buffers go before the sorted
        # copies are made (columns normalised zero-copy keep their own buffers alive)
        raw.parts = []
    return build_dataset(result, keep, initial_equity, meta), report


def _dataset_or_raise(dataset: Dataset | None, report: ValidationReport) -> Dataset:
    if dataset is None:
        raise report.error()
    return dataset


def _guard_quarantine_dir(path: Path, quarantine_dir: str | os.PathLike[str] | None) -> None:
    if quarantine_dir is not None and Path(quarantine_dir).resolve() == path.resolve():
        raise ParameterError(
            "quarantine_dir: expected a directory other than the dataset itself "
            f"(it would overwrite the input tables), found {str(quarantine_dir)!r}"
        )


def load_dataset(
    path: str | os.PathLike[str],
    *,
    on_invalid: str = "error",
    quarantine_dir: str | os.PathLike[str] | None = None,
    initial_equity: float = DEFAULT_INITIAL_EQUITY,
) -> Dataset:
    """Read, validate and convert the dataset directory `path` (docs/contract.md §2).

    Raises `DataError` listing every problem. With `on_invalid="quarantine"` rows that
    break a rule (and copies depending on them) are dropped, written with their reasons
    to `quarantine_dir/TABLE.parquet` when `quarantine_dir` is given, and counted in
    `Dataset.meta["quarantined"]`; problems that make a table unusable still raise.
    """
    _check_params(on_invalid, initial_equity)
    root = Path(path)
    _guard_quarantine_dir(root, quarantine_dir)
    raws, problems = read_tables(root)
    dataset, report = _run(
        raws,
        problems,
        str(root),
        on_invalid=on_invalid,
        quarantine_dir=quarantine_dir,
        initial_equity=initial_equity,
        build=True,
    )
    return _dataset_or_raise(dataset, report)


def validate_dataset(
    path: str | os.PathLike[str],
    *,
    on_invalid: str = "error",
    quarantine_dir: str | os.PathLike[str] | None = None,
) -> ValidationReport:
    """Check the dataset directory `path` and report every problem at once (never raises
    for bad data). With `on_invalid="quarantine"` the offending rows are also written to
    `quarantine_dir` and counted in the report, as `load_dataset` would."""
    _check_params(on_invalid, DEFAULT_INITIAL_EQUITY)
    root = Path(path)
    _guard_quarantine_dir(root, quarantine_dir)
    raws, problems = read_tables(root)
    try:
        _, report = _run(
            raws,
            problems,
            str(root),
            on_invalid=on_invalid,
            quarantine_dir=quarantine_dir,
            initial_equity=DEFAULT_INITIAL_EQUITY,
            build=False,
        )
    except DataError as exc:
        # every row quarantined: report it instead of raising
        rows = {name: raws[name].nrows for name in TABLE_NAMES if name in raws}
        return ValidationReport(str(root), rows, exc.violations)
    return report


def dataset_from_frames(
    trades: Any,
    follows: Any = None,
    prices: Any = None,
    accounts: Any = None,
    *,
    initial_equity: float = DEFAULT_INITIAL_EQUITY,
    on_invalid: str = "error",
    quarantine_dir: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Validate and convert in-memory tables (pandas DataFrames or pyarrow Tables).

    Same rules, errors and quarantine as `load_dataset`; `meta["source"]` is "<frames>".
    """
    _check_params(on_invalid, initial_equity)
    if trades is None:
        raise ParameterError("trades: expected a DataFrame or pyarrow Table, found None")
    frames = {"trades": trades, "follows": follows, "prices": prices, "accounts": accounts}
    try:
        raws = frames_to_raw(frames)
    except TypeError as exc:
        raise ParameterError(str(exc)) from None
    dataset, report = _run(
        raws,
        [],
        "<frames>",
        on_invalid=on_invalid,
        quarantine_dir=quarantine_dir,
        initial_equity=initial_equity,
        build=True,
    )
    return _dataset_or_raise(dataset, report)
