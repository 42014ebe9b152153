"""Reading contract tables: one Parquet file, a directory of Parquet parts, or frames.

Every table is kept as a list of *parts* (a label and a pyarrow Table) instead of one
concatenated table, because parts of one table may disagree on physical types (one
part dictionary-encoded, another plain; timestamps in different units): the columns are
unified while they are normalised (`ideaflow.io.columns`), never by a lossy concat.

Problems that make a table unusable (missing required table, unreadable or truncated
file, a file and a directory of the same table) are returned as table-level
`Violation`s (count 0), so the caller can report them together with everything else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ideaflow.errors import Violation
from ideaflow.io.schema import REQUIRED_TABLES, TABLE_NAMES, TABLES


@dataclass
class RawTable:
    """One table as read: its parts, and columns that could not be converted to Arrow."""

    name: str
    parts: list[tuple[str, pa.Table]]
    # column -> description of what was found, for frame columns Arrow could not convert
    unconvertible: dict[str, str] = field(default_factory=dict)
    frame_rows: int | None = None  # row count of a frame (its Arrow table may lack columns)

    @property
    def nrows(self) -> int:
        if self.frame_rows is not None:
            return self.frame_rows
        return sum(part.num_rows for _, part in self.parts)

    def column_names(self) -> list[str]:
        names: list[str] = []
        for _, part in self.parts:
            for name in part.column_names:
                if name not in names:
                    names.append(name)
        for name in self.unconvertible:
            if name not in names:
                names.append(name)
        return names


def table_problem(table: str, column: str, rule: str, hint: str = "") -> Violation:
    """A violation that concerns a whole table or column rather than some rows."""
    return Violation(table=table, column=column, rule=rule, count=0, hint=hint)


def part_files(directory: Path) -> list[Path]:
    files = [
        p
        for p in directory.rglob("*.parquet")
        if p.is_file() and not any(s.startswith((".", "_")) for s in p.relative_to(directory).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


# string columns of few distinct values, read dictionary-encoded: no per-row strings
_DICTIONARY_COLUMNS = ["instrument", "side"]


def _read_file(path: Path) -> pa.Table:
    """One Parquet file as a pyarrow Table (memory mapping spares a copy of every buffer).

    `ParquetFile.read` returns every fixed-width column as a single chunk, which the
    normaliser turns into numpy without a copy; `pq.read_table` (the dataset API) cuts
    columns into batches of 128 Ki rows, each of which must then be copied into one array
    (10 million rows: 77 chunks, ~80 MB of fresh memory per column). The values are the
    same. Files the fast path does not cover exactly as `pq.read_table` does (repeated or
    nested column names, which the dataset API rejects or resolves by path) and every
    error go through `pq.read_table`, so they are reported as before.
    """
    try:
        with pq.ParquetFile(path, memory_map=True) as probe:
            leaves = [probe.schema.column(i).path for i in range(len(probe.schema))]
            names = probe.schema_arrow.names
            if names == leaves and len(set(names)) == len(names):
                dictionary = [c for c in _DICTIONARY_COLUMNS if c in names]
                with pq.ParquetFile(
                    path, memory_map=True, metadata=probe.metadata, read_dictionary=dictionary
                ) as file:
                    return file.read(use_threads=True)
    except (pa.ArrowException, OSError, ValueError):
        pass  # read again below, to raise (or not) exactly as `pq.read_table` does
    return pq.read_table(
        path, memory_map=True, use_threads=True, read_dictionary=_DICTIONARY_COLUMNS
    )


def read_tables(path: str | os.PathLike[str]) -> tuple[dict[str, RawTable], list[Violation]]:
    """Read every contract table present in the dataset directory `path`."""
    root = Path(path)
    problems: list[Violation] = []
    tables: dict[str, RawTable] = {}
    if not root.exists():
        problems.append(
            table_problem("dataset", "(path)", f"dataset directory {str(root)!r} does not exist")
        )
        return tables, problems
    if not root.is_dir():
        problems.append(
            table_problem(
                "dataset",
                "(path)",
                f"{str(root)!r} is not a directory",
                "a dataset is a directory holding trades.parquet (or trades/) and optional "
                "follows, prices and accounts tables",
            )
        )
        return tables, problems
    for name in TABLE_NAMES:
        single = root / f"{name}.parquet"
        directory = root / name
        has_single = single.is_file()
        has_dir = directory.is_dir()
        if has_single and has_dir:
            problems.append(
                table_problem(
                    name,
                    "(file)",
                    f"both {name}.parquet and the directory {name}/ exist",
                    "keep exactly one of them",
                )
            )
            continue
        if has_single:
            files = [single]
        elif has_dir:
            files = part_files(directory)
            if not files:
                if name in REQUIRED_TABLES:
                    problems.append(
                        table_problem(name, "(file)", f"directory {name}/ holds no .parquet parts")
                    )
                continue
        else:
            if name in REQUIRED_TABLES:
                present = sorted(p.name for p in root.iterdir())
                problems.append(
                    table_problem(
                        name,
                        "(file)",
                        f"required table is missing: no {name}.parquet or {name}/ in {str(root)!r}",
                        f"found: {', '.join(present[:10]) or 'nothing'}",
                    )
                )
            continue
        parts: list[tuple[str, pa.Table]] = []
        failed = False
        for file in files:
            label = file.relative_to(root).as_posix()
            try:
                parts.append((label, _read_file(file)))
            except (pa.ArrowException, OSError, ValueError) as exc:
                failed = True
                problems.append(
                    table_problem(
                        name,
                        "(file)",
                        f"unreadable or truncated Parquet file {label}",
                        f"{type(exc).__name__}: {exc}",
                    )
                )
        if not failed:
            tables[name] = RawTable(name, parts)
    return tables, problems


def _frame_to_raw(name: str, frame: Any) -> RawTable:
    import pandas as pd

    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    if isinstance(frame, pa.Table):
        return RawTable(name, [("<frame>", frame)])
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name}: expected a pandas DataFrame or a pyarrow Table, found {type(frame).__name__}"
        )
    contract = {spec.name for spec in TABLES[name]}
    if any(level is not None and str(level) in contract for level in frame.index.names):
        # a contract column set as the index (df.set_index("trade_id")) is still data
        frame = frame.reset_index()
    arrays: list[pa.Array | pa.ChunkedArray] = []
    names: list[str] = []
    unconvertible: dict[str, str] = {}
    for column in frame.columns:
        label = str(column)
        series = frame[column]
        if isinstance(series, pd.DataFrame):
            unconvertible[label] = "several columns with this name"
            continue
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            unconvertible[label] = f"{series.dtype} values Arrow cannot convert ({exc})"
            continue
        names.append(label)
    table = pa.Table.from_arrays(arrays, names=names) if names else pa.table({})
    return RawTable(name, [("<frame>", table)], unconvertible, frame_rows=len(frame))


def frames_to_raw(frames: dict[str, Any]) -> dict[str, RawTable]:
    """Wrap in-memory tables (pandas DataFrames or pyarrow Tables; None = absent)."""
    return {name: _frame_to_raw(name, frame) for name, frame in frames.items() if frame is not None}
