"""Quarantine: drop offending rows and their dependants, and write them out with reasons.

Offending rows are those of any row-level finding. Dependants are trades whose parent
chain reaches an offending trade (transitively); their reason names their own parent
("parent trade_id=5 quarantined"). Quarantined rows are written as read (every column,
extra columns included, dictionary columns decoded) plus `source_row` (position in the
table as read, parts concatenated in name order) and `reason` (every broken rule of the
row, joined by "; "), sorted by `source_row`, to `DIR/TABLE.parquet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ideaflow.io.read import RawTable
from ideaflow.io.schema import TABLE_NAMES
from ideaflow.io.validate import CheckResult
from ideaflow.io.write import write_parquet_atomic
from ideaflow.kernels.graph import taint_descendants_nb

DEPENDANT_REASON = "parent trade quarantined"
# schema metadata marking files written here, so a later run may replace or remove them
MARKER = {b"ideaflow": b"quarantine"}


def _remove_stale(path: Path) -> None:
    """Remove a quarantine file of an earlier run (only one this module wrote)."""
    if not path.is_file():
        return
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError):
        return
    if metadata.get(b"ideaflow") == MARKER[b"ideaflow"]:
        path.unlink()


@dataclass
class Quarantine:
    keep: dict[str, np.ndarray]  # table -> mask of kept rows
    counts: dict[str, int]
    reasons: dict[str, dict[str, int]]  # table -> reason -> rows
    files: list[str]


def _unify(pieces: list[pa.Array]) -> pa.Array:
    decoded = [p.dictionary_decode() if pa.types.is_dictionary(p.type) else p for p in pieces]
    target = next((p.type for p in decoded if not pa.types.is_null(p.type)), pa.null())
    out = []
    for p in decoded:
        try:
            out.append(p if p.type == target else p.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.concat_arrays([q.cast(pa.string()) for q in decoded])
    return pa.concat_arrays(out) if out else pa.array([], pa.null())


def _join_reasons(rows: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One reason text per row: the texts of a row (sorted by row) joined by "; "."""
    first = np.r_[True, rows[1:] != rows[:-1]]
    starts = np.flatnonzero(first)
    joined = texts[starts].copy()
    # only rows with several reasons need a join (usually few of them)
    counts = np.diff(np.r_[starts, rows.size])
    for position in np.flatnonzero(counts > 1).tolist():
        start = starts[position]
        joined[position] = "; ".join(texts[start : start + counts[position]].tolist())
    return rows[starts], joined.tolist()


def take_raw_rows(raw: RawTable, rows: np.ndarray) -> pa.Table:
    """Rows at positions `rows` (ascending) of a table as read, every column."""
    names = [n for n in raw.column_names() if n not in raw.unconvertible]
    pieces: dict[str, list[pa.Array]] = {n: [] for n in names}
    offset = 0
    for _, part in raw.parts:
        lo, hi = np.searchsorted(rows, [offset, offset + part.num_rows])
        local = pa.array(rows[lo:hi] - offset, type=pa.int64())
        if len(local):
            for name in names:
                if name in part.column_names:
                    pieces[name].append(part.column(name).take(local).combine_chunks())
                else:
                    pieces[name].append(pa.nulls(len(local)))
        offset += part.num_rows
    columns = {n: _unify(p) if p else pa.array([], pa.null()) for n, p in pieces.items()}
    return pa.table(columns) if columns else pa.table({})


def quarantine(result: CheckResult, out_dir: Path | None) -> Quarantine:
    """Decide which rows to drop, and write them with their reasons when `out_dir` is set."""
    keep: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    files: list[str] = []
    for name, table in result.tables.items():
        findings = [f for f in result.findings if f.table == name]
        flagged = np.zeros(table.nrows, dtype=bool)
        row_parts: list[np.ndarray] = []
        text_parts: list[np.ndarray] = []
        reason_counts: dict[str, int] = {}
        for f in findings:
            flagged[f.rows] = True
            text = f"{f.column}: {f.rule}"
            row_parts.append(f.rows)
            text_parts.append(np.full(f.rows.size, text, dtype=object))
            reason_counts[text] = reason_counts.get(text, 0) + int(f.rows.size)
        if name == "trades" and result.parent_row is not None and flagged.any():
            tainted = taint_descendants_nb(result.parent_row, flagged)
            dependants = np.flatnonzero(tainted)
            if dependants.size:
                parent_col = table.cols["parent_trade_id"]
                assert parent_col is not None
                # built by Arrow: millions of dependants must not mean millions of f-strings
                parent_ids = pa.array(parent_col.values[dependants]).cast(pa.string())
                texts = pc.binary_join_element_wise(
                    "parent trade_id=", parent_ids, " quarantined", ""
                )
                row_parts.append(dependants)
                text_parts.append(np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object))
                reason_counts[DEPENDANT_REASON] = int(dependants.size)
                flagged |= tainted
        keep[name] = ~flagged
        counts[name] = int(flagged.sum())
        reasons[name] = reason_counts
        if counts[name] and out_dir is not None:
            rows = np.concatenate(row_parts)
            texts = np.concatenate(text_parts)
            order = np.argsort(rows, kind="stable")  # rule order kept within a row
            rows, texts = rows[order], texts[order]
            unique_rows, joined = _join_reasons(rows, texts)
            data = take_raw_rows(table.raw, unique_rows)
            for extra in ("source_row", "reason"):
                if extra in data.column_names:
                    data = data.rename_columns(
                        [f"{c}_original" if c == extra else c for c in data.column_names]
                    )
            data = data.append_column("source_row", pa.array(unique_rows, pa.int64()))
            data = data.append_column("reason", pa.array(joined, pa.string()))
            data = data.replace_schema_metadata(MARKER)
            path = Path(out_dir) / f"{name}.parquet"
            write_parquet_atomic(data, path)
            files.append(str(path))

    if out_dir is not None:
        remove_stale_files(out_dir, files)
    return Quarantine(keep, counts, reasons, files)


def remove_stale_files(out_dir: Path, written: list[str]) -> None:
    """Remove quarantine files of tables that this run did not write."""
    for name in TABLE_NAMES:
        path = Path(out_dir) / f"{name}.parquet"
        if str(path) not in written:
            _remove_stale(path)
