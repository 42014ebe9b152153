"""Row groups encoded on threads and joined into one file (`ideaflow.io.parquet_parts`):
the file is pyarrow's single-threaded one, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ideaflow.io.write as write_module
from ideaflow.io.parquet_parts import FooterError, join_footers, split_part, write_joined
from ideaflow.io.write import write_parquet_atomic, write_parquet_chunks_atomic


def _table(n: int, seed: int = 0) -> pa.Table:
    """Every kind of column an output holds: ids, floats with NaN, nullable UTC times,
    dictionary-encoded text, int8 and booleans."""
    rng = np.random.default_rng(seed)
    times = rng.integers(1_600_000_000, 1_700_000_000, n) * 1_000_000_000
    missing = rng.random(n) < 0.2
    pnl = rng.normal(size=n)
    pnl[rng.random(n) < 0.1] = np.nan
    return pa.table(
        {
            "trade_id": pa.array(np.arange(n, dtype=np.int64)),
            "trader_id": pa.array(rng.integers(0, 50, n)),
            "instrument": pa.array(
                rng.choice(["EURUSD", "GBPUSD", "XAUUSD"], n)
            ).dictionary_encode(),
            "side": pa.array(rng.choice([-1, 1], n).astype(np.int8)),
            "open_time": pa.array(times, type=pa.timestamp("ns", tz="UTC")),
            "close_time": pa.array(
                np.where(missing, 0, times + 3_600_000_000_000),
                type=pa.timestamp("ns", tz="UTC"),
                mask=missing,
            ),
            "pnl": pa.array(pnl),
            "is_copy": pa.array(rng.random(n) < 0.5),
        }
    ).replace_schema_metadata({"ideaflow": "test"})


def _same(a: pa.Table, b: pa.Table) -> bool:
    """Equal tables, NaN equal to NaN (Arrow's `equals` says NaN != NaN)."""
    return a.schema.equals(b.schema) and a.to_pandas().equals(b.to_pandas())


def _pyarrow_file(table: pa.Table, path: Path, rows: int) -> bytes:
    pq.write_table(table, path, row_group_size=rows, **write_module._parquet_options(table.schema))
    return path.read_bytes()


@pytest.mark.parametrize("n", [1, 5, 6, 7, 100, 16 * 5 + 3])  # 17 row groups: a long list
def test_joined_file_is_pyarrow_single_threaded_file(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 5)
    monkeypatch.setattr(write_module, "PARALLEL_MIN_ROWS", 1)  # every table on threads
    table = _table(n)
    written = write_parquet_atomic(table, tmp_path / "joined.parquet")
    assert written.read_bytes() == _pyarrow_file(table, tmp_path / "single.parquet", 5)
    back = pq.ParquetFile(written)
    assert back.num_row_groups == -(-n // 5)
    assert _same(back.read(), table)
    # row groups are numbered and readable one at a time
    assert [back.metadata.row_group(i).num_rows for i in range(back.num_row_groups)][-1] == (
        n % 5 or 5
    )
    assert _same(
        back.read_row_group(back.num_row_groups - 1), table.slice(5 * (back.num_row_groups - 1))
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(0, 400), rows=st.integers(1, 60), seed=st.integers(0, 3))
def test_joined_file_equals_single_file_for_any_row_group_size(
    n: int, rows: int, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", rows)
    table = _table(n, seed)
    chunks = [table.slice(a, rows) for a in range(0, max(n, 1), rows)]
    joined = write_parquet_chunks_atomic(table.schema, chunks, tmp_path / f"j{n}-{rows}.parquet")
    single = _pyarrow_file(table, tmp_path / f"s{n}-{rows}.parquet", rows)
    assert joined.read_bytes() == single


def test_no_chunk_at_all_writes_an_empty_file_with_the_schema(tmp_path: Path) -> None:
    table = _table(3)
    written = write_parquet_chunks_atomic(table.schema, [], tmp_path / "empty.parquet")
    back = pq.read_table(written)
    assert back.num_rows == 0 and back.schema.equals(table.schema, check_metadata=True)


def test_chunks_of_another_schema_are_refused_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 5)
    table = _table(10)
    other = table.drop_columns(["is_copy"])
    with pytest.raises(ValueError, match="chunks: expected the schema"):
        write_parquet_chunks_atomic(
            table.schema, [table.slice(0, 5), other.slice(5)], tmp_path / "t.parquet"
        )
    assert list(tmp_path.iterdir()) == []


def test_an_error_while_chunks_are_made_stops_the_write_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 5)
    table = _table(30)

    def chunks():
        yield table.slice(0, 5)
        yield table.slice(5, 5)
        raise RuntimeError("the book could not be read")

    with pytest.raises(RuntimeError, match="could not be read"):
        write_parquet_chunks_atomic(table.schema, chunks(), tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


def test_parts_that_are_not_parquet_are_named(tmp_path: Path) -> None:
    with pytest.raises(FooterError, match="not a Parquet file"):
        split_part(b"PAR0 something")
    with pytest.raises(FooterError, match="footer length beyond the file"):
        split_part(b"PAR1" + b"\xff\xff\x00\x00" + b"PAR1")
    with pytest.raises(FooterError, match="ended inside"):
        join_footers([b"\x15"], [0])  # an i32 field with no value

    def encode(chunk: pa.Table) -> bytes:
        return b"PAR1 not a parquet part PAR1"

    with pytest.raises(FooterError):
        write_joined([_table(2)], tmp_path / "bad.parquet", encode)
    with pytest.raises(ValueError, match="threads: expected an integer >= 1; found 0"):
        write_joined([_table(2)], tmp_path / "bad.parquet", encode, threads=0)


def test_offsets_move_with_the_row_groups(tmp_path: Path) -> None:
    """Each row group's column chunks are found where the joined footer says: read back
    column by column, row group by row group, against the table."""
    table = _table(23)
    parts = []
    for a in range(0, 23, 6):
        sink = pa.BufferOutputStream()
        pq.write_table(table.slice(a, 6), sink, row_group_size=6)
        parts.append(sink.getvalue().to_pybytes())

    written = tmp_path / "joined.parquet"
    assert write_joined(iter(range(len(parts))), written, lambda i: parts[i], threads=3) == 4
    back = pq.ParquetFile(written)
    for i in range(4):
        meta = back.metadata.row_group(i)
        assert meta.column(0).data_page_offset >= 4
        for name in table.column_names:
            one = back.read_row_group(i, columns=[name])
            assert _same(one, table.slice(6 * i, 6).select([name]))
