"""Atomic, deterministic writers: Parquet tables, JSON documents, contract datasets.

A file is written to a temporary file in the same directory, flushed and fsynced, then
moved over the target with `os.replace`, so a crash leaves either the old file or the
new one, never half of one. Parquet output is byte-identical for identical data: fixed
row-group size and compression, no pandas metadata (which would record library details
and the index), nothing that depends on the wall clock.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ideaflow.errors import ParameterError
from ideaflow.io.parquet_parts import write_joined
from ideaflow.io.schema import TABLES

ROW_GROUP_SIZE = 1 << 20
COMPRESSION = "snappy"


def to_arrow(table_or_frame: Any) -> pa.Table:
    """A pyarrow Table from a pandas DataFrame (index dropped) or a pyarrow Table."""
    if isinstance(table_or_frame, pa.Table):
        table = table_or_frame
    elif isinstance(table_or_frame, pa.RecordBatch):
        table = pa.Table.from_batches([table_or_frame])
    else:
        import pandas as pd

        if not isinstance(table_or_frame, pd.DataFrame):
            raise TypeError(
                f"expected a pandas DataFrame or a pyarrow Table, found {type(table_or_frame).__name__}"
            )
        table = pa.Table.from_pandas(table_or_frame, preserve_index=False)
    metadata = table.schema.metadata or {}
    if b"pandas" in metadata:
        kept = {k: v for k, v in metadata.items() if k != b"pandas"}
        table = table.replace_schema_metadata(kept or None)
    return table


def fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _atomic_path(path: Path) -> Iterator[str]:
    """A temporary path next to `path`; moved over `path` once the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp makes the file 0600; outputs get the usual permissions (0666 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp_name, 0o666 & ~umask)
    try:
        yield temp_name
        # the writer closed the file; flush it to disk before it takes the final name
        with open(temp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_directory(path.parent)


PARALLEL_MIN_ROWS = 2 * ROW_GROUP_SIZE  # tables at least this long are encoded on threads
ENCODE_THREADS = 2


def _parquet_options(schema: pa.Schema) -> dict[str, Any]:
    return {
        "compression": COMPRESSION,
        "use_dictionary": _dictionary_columns(schema),
        "write_statistics": True,
    }


def _encode_part(chunk: pa.Table) -> memoryview:
    """One chunk as a standalone Parquet file of one row group, in memory."""
    sink = pa.BufferOutputStream()
    pq.write_table(chunk, sink, row_group_size=ROW_GROUP_SIZE, **_parquet_options(chunk.schema))
    return memoryview(sink.getvalue()).cast("B")  # unsigned bytes, not a copy


def write_parquet_atomic(table_or_frame: Any, path: str | os.PathLike[str]) -> Path:
    """Write a DataFrame (index not stored) or pyarrow Table to `path` atomically.

    A table of `PARALLEL_MIN_ROWS` rows or more has its row groups encoded on
    `ENCODE_THREADS` threads (`ideaflow.io.parquet_parts`); the file is the same, byte
    for byte, as pyarrow's single-threaded writer makes.
    """
    target = Path(path)
    table = to_arrow(table_or_frame)
    if table.num_rows >= PARALLEL_MIN_ROWS:
        chunks = (
            table.slice(start, ROW_GROUP_SIZE) for start in range(0, table.num_rows, ROW_GROUP_SIZE)
        )
        return write_parquet_chunks_atomic(table.schema, chunks, target)
    with _atomic_path(target) as temp_name:
        # writing by name lets Arrow use its native file, faster than a Python handle
        pq.write_table(
            table, temp_name, row_group_size=ROW_GROUP_SIZE, **_parquet_options(table.schema)
        )
    return target


def write_parquet_chunks_atomic(
    schema: pa.Schema,
    chunks: Iterable[pa.Table],
    path: str | os.PathLike[str],
    *,
    threads: int = ENCODE_THREADS,
) -> Path:
    """Write a table given as consecutive chunks to `path` atomically, their row groups
    encoded on `threads` threads (`threads` chunks in memory at a time, besides the one
    being made; with `threads=1`, pyarrow's streaming writer and one chunk at a time).

    Every chunk but the last must have exactly `ROW_GROUP_SIZE` rows and the schema
    `schema`: each then becomes one row group, and the file is byte-identical to
    `write_parquet_atomic` of the chunks concatenated (same row groups, schema, encodings
    and metadata).
    """
    target = Path(path)

    def checked() -> Iterator[pa.Table]:
        short = False
        for chunk in chunks:
            if short or chunk.num_rows > ROW_GROUP_SIZE:
                raise ValueError(
                    f"chunks: expected {ROW_GROUP_SIZE} rows each (fewer in the last); "
                    f"found {chunk.num_rows} rows{' after a short chunk' if short else ''}"
                )
            if not chunk.schema.equals(schema, check_metadata=True):
                raise ValueError(f"chunks: expected the schema {schema}; found {chunk.schema}")
            short = chunk.num_rows < ROW_GROUP_SIZE
            # an empty chunk too: an empty table is written as one empty row group
            yield chunk

    with _atomic_path(target) as temp_name:
        if threads == 1:
            with pq.ParquetWriter(temp_name, schema, **_parquet_options(schema)) as writer:
                for chunk in checked():
                    writer.write_table(chunk, row_group_size=ROW_GROUP_SIZE)
        elif write_joined(checked(), temp_name, _encode_part, threads=threads) == 0:
            # no chunk at all: a file with the schema and no row group
            pq.ParquetWriter(temp_name, schema, **_parquet_options(schema)).close()
    return target


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode text columns only: on the float and id columns of a replayed book
    the dictionary pass costs seconds per 10 M rows and rarely pays for itself."""
    return [
        field.name
        for field in schema
        if pa.types.is_dictionary(field.type)
        or pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
    ]


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays, paths and timestamps, as JSON understands them."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_ready(obj: Any) -> Any:
    """A copy of `obj` that `json.dumps(..., allow_nan=False)` accepts."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_ready(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def write_json_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write `obj` as JSON (sorted keys, indent 2, trailing newline) atomically.

    numpy scalars and arrays, paths, dates and sets are converted; NaN is written as
    `NaN` (Python's json reads it back).
    """
    target = Path(path)
    text = json.dumps(
        obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=True, default=_json_default
    )
    with _atomic_path(target) as temp_name, open(temp_name, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return target


def write_bytes_atomic(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write `data` to `path` atomically (a figure, a page)."""
    target = Path(path)
    with _atomic_path(target) as temp_name, open(temp_name, "wb") as handle:
        handle.write(data)
    return target


def _split(table: pa.Table, partitions: int) -> list[pa.Table]:
    n = table.num_rows
    bounds = [(n * i) // partitions for i in range(partitions + 1)]
    return [table.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(partitions)]


def _write_table(root: Path, name: str, table: pa.Table, partitions: int) -> None:
    single, directory = root / f"{name}.parquet", root / name
    if partitions == 1:
        write_parquet_atomic(table, single)
        if directory.is_dir():
            shutil.rmtree(directory)
        return
    # build the whole directory aside, then swap it in: readers never see half of it
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".tmp"))
    try:
        for i, part in enumerate(_split(table, partitions)):
            write_parquet_atomic(part, staging / f"part-{i:05d}.parquet")
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".old"))
            os.replace(directory, old / name)
        os.replace(staging, directory)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if single.is_file():
        single.unlink()
    fsync_directory(root)


def _with_contract_index(name: str, data: Any) -> Any:
    """A frame whose index is a contract column (df.set_index("trade_id")) keeps it."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        contract = {spec.name for spec in TABLES[name]}
        if any(level is not None and str(level) in contract for level in data.index.names):
            return data.reset_index()
    return data


def write_dataset(
    path: str | os.PathLike[str],
    trades: Any,
    follows: Any = None,
    prices: Any = None,
    accounts: Any = None,
    *,
    partitions: int = 1,
) -> Path:
    """Write the contract tables of a dataset directory (docs/contract.md §2), each atomically.

    Each table becomes `NAME.parquet`, or with `partitions > 1` a directory `NAME/` of
    `part-00000.parquet`, ... (contiguous slices of the rows). A table given as None is
    absent from the dataset: a file or directory of it left by an earlier write is
    removed, so the directory holds exactly the tables given.
    """

    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ParameterError(f"partitions: expected an integer >= 1, found {partitions!r}")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    tables = {"trades": trades, "follows": follows, "prices": prices, "accounts": accounts}
    for name, data in tables.items():
        if data is None:
            if (root / f"{name}.parquet").is_file():
                (root / f"{name}.parquet").unlink()
            if (root / name).is_dir():
                shutil.rmtree(root / name)
            continue
        _write_table(root, name, to_arrow(_with_contract_index(name, data)), partitions)
    return root
