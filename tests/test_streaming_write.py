"""Chunked writing of a replayed book (`book_chunks`, `write_parquet_chunks_atomic`),
deferred result tables, and the memory releases of `backtest`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ideaflow
import ideaflow.api.backtesting as api_module
import ideaflow.io.write as write_module
from ideaflow.api.backtesting import _release_trades as release_trades
from ideaflow.data import OPEN_END
from ideaflow.io.write import write_parquet_atomic, write_parquet_chunks_atomic
from ideaflow.records import Book
from ideaflow.results import BacktestResult
from ideaflow.results.tables import TRADES_SCHEMA, DeferredBookTable, book_chunks, book_table

TRADER_IDS = np.array([101, 202, 303], dtype=np.int64)
INSTRUMENTS = ("AAA", "BBB")


def _book(n: int) -> Book:
    """n positions; rows 5 and 7 open (null close), every third row an original."""
    rows = np.arange(n)
    close_time = 1_000 + 10 * rows
    close_time[(rows == 5) | (rows == 7)] = OPEN_END
    original = rows % 3 == 0
    return Book(
        trade_id=rows.astype(np.int64) + 1,
        account=(rows % 3).astype(np.int32),
        instrument=(rows % 2).astype(np.int32),
        side=np.where(rows % 2 == 0, 1, -1).astype(np.int8),
        open_time=(10 * rows).astype(np.int64),
        close_time=close_time.astype(np.int64),
        open_price=100.0 + rows,
        close_price=np.where(close_time == OPEN_END, np.nan, 101.0 + rows),
        amount=np.full(n, 50.0),
        leverage=np.ones(n),
        fee=np.zeros(n),
        pnl=0.5 * rows,
        ret=0.01 * rows,
        marked=np.zeros(n, dtype=np.bool_),
        root_trade_id=np.where(original, -1, 1).astype(np.int64),
        parent_trade_id=np.where(original, -1, 1).astype(np.int64),
        hop=np.where(original, 0, 1).astype(np.int16),
    )


def test_book_chunks_split_the_table_in_order() -> None:
    book = _book(9)
    chunks = list(book_chunks(book, TRADER_IDS, INSTRUMENTS, 4))
    assert [c.num_rows for c in chunks] == [4, 4, 1]
    assert pa.concat_tables(chunks).equals(book_table(book, TRADER_IDS, INSTRUMENTS))
    # rows 4..7: trader ids gathered per chunk, rows 5 and 7 open (null close)
    second = chunks[1]
    assert second.column("trader_id").to_pylist() == [202, 303, 101, 202]
    assert second.column("close_time").null_count == 2
    assert chunks[0].column("close_time").null_count == 0
    assert second.schema == TRADES_SCHEMA


def test_book_chunks_of_an_empty_book_is_one_empty_chunk() -> None:
    chunks = list(book_chunks(_book(0), TRADER_IDS, INSTRUMENTS, 4))
    assert [c.num_rows for c in chunks] == [0]
    with pytest.raises(ValueError, match="rows: expected an integer >= 1; found 0"):
        list(book_chunks(_book(3), TRADER_IDS, INSTRUMENTS, 0))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", [0, 3, 4, 9, 12])
def test_chunked_write_is_byte_identical_to_a_whole_write(
    n: int, threads: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed (one encoding thread) or encoded on threads and joined, the file is the
    single write's."""
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 4)
    book = _book(n)
    whole = write_parquet_atomic(book_table(book, TRADER_IDS, INSTRUMENTS), tmp_path / "w.parquet")
    chunked = write_parquet_chunks_atomic(
        TRADES_SCHEMA,
        book_chunks(book, TRADER_IDS, INSTRUMENTS, 4),
        tmp_path / "c.parquet",
        threads=threads,
    )
    assert chunked.read_bytes() == whole.read_bytes()
    assert pq.ParquetFile(chunked).num_row_groups == max(1, -(-n // 4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet", "w.parquet"]


def test_chunked_write_rejects_misaligned_chunks_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 4)
    table = book_table(_book(9), TRADER_IDS, INSTRUMENTS)
    target = tmp_path / "t.parquet"
    with pytest.raises(ValueError, match="chunks: expected 4 rows each .* found 5 rows"):
        write_parquet_chunks_atomic(TRADES_SCHEMA, [table.slice(0, 5)], target)
    with pytest.raises(ValueError, match="found 4 rows after a short chunk"):
        write_parquet_chunks_atomic(TRADES_SCHEMA, [table.slice(0, 3), table.slice(3, 4)], target)
    assert list(tmp_path.iterdir()) == []


def test_a_deferred_table_is_built_once_when_first_needed(tmp_path: Path) -> None:
    table = book_table(_book(3), TRADER_IDS, INSTRUMENTS)
    accounts = pa.table({"trader_id": [101, 202], "pnl": [1.0, -3.0], "roi": [0.1, -0.3]})
    calls: list[int] = []

    def build() -> pa.Table:
        calls.append(1)
        return table

    result = BacktestResult("actual", {}, trades=build, accounts=accounts)
    assert calls == []
    assert result.table("trades") is table
    assert result.headline()["positions"] == 3
    assert result.headline()["total_pnl"] == -2.0
    result.write(tmp_path)
    written = (tmp_path / "trades.parquet").read_bytes()
    assert written == write_parquet_atomic(table, tmp_path / "again.parquet").read_bytes()
    assert result.trades["trader_id"].tolist() == [101, 202, 303]
    assert calls == [1]


def test_backtest_from_a_path_writes_the_same_files_as_from_a_dataset(
    platform_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from a path, the dataset's trades are released before the metrics; the
    outputs are those of the same dataset given as an object (which is left intact)."""
    monkeypatch.setattr(write_module, "ROW_GROUP_SIZE", 1_000)  # several row groups
    released: list[int] = []

    def release(ds: ideaflow.Dataset) -> None:
        release_trades(ds)
        released.append(len(ds.trades))

    monkeypatch.setattr(api_module, "_release_trades", release)
    ds = ideaflow.load_dataset(platform_dir)
    given = ideaflow.backtest(ds, "mirror", out=tmp_path / "given", plots=False)
    assert len(ds.trades) == 2_000
    assert released == []
    read = ideaflow.backtest(platform_dir, "mirror", out=tmp_path / "read", plots=False)
    assert released == [0]
    assert pq.ParquetFile(tmp_path / "read" / "trades.parquet").num_row_groups > 2
    for name in ("trades.parquet", "accounts.parquet", "daily.parquet"):
        assert (tmp_path / "read" / name).read_bytes() == (tmp_path / "given" / name).read_bytes()
    assert read.headline() == given.headline()
    assert read.trades.equals(given.trades)


def test_a_deferred_book_table_gives_the_headline_without_building_the_table(
    tmp_path: Path,
) -> None:
    book = _book(9)
    whole = book_table(book, TRADER_IDS, INSTRUMENTS)
    deferred = DeferredBookTable(book, TRADER_IDS, INSTRUMENTS)
    assert deferred().equals(whole)
    assert deferred.select(["ret", "close_time"]).equals(whole.select(["ret", "close_time"]))
    with pytest.raises(ValueError, match="names: expected trades columns; found price"):
        deferred.select(["ret", "price"])
    accounts = pa.table({"trader_id": [101, 202, 303], "pnl": [1.0, 2.0, 3.0], "roi": [0.0] * 3})
    built: list[int] = []

    class Counting(DeferredBookTable):
        def __call__(self) -> pa.Table:
            built.append(1)
            return super().__call__()

    result = BacktestResult(
        "mirror", {}, trades=Counting(book, TRADER_IDS, INSTRUMENTS), accounts=accounts
    )
    head = result.headline()
    assert "trades=9" in repr(result)  # counted without building the table
    assert built == []
    # rows 5 and 7 are open; rows 0, 3, 6 are originals: singles 0, 3, 6; social the rest
    assert head["positions"] == 9
    assert (head["single_trades"], head["social_trades"]) == (3, 4)
    assert head["single_mean_ret"] == pytest.approx(0.03)  # ret 0.00, 0.03, 0.06
    assert head["social_median_ret"] == pytest.approx(0.03)  # ret 0.01, 0.02, 0.04, 0.08
    assert head == BacktestResult("mirror", {}, trades=whole, accounts=accounts).headline()
    result.write(tmp_path)
    assert built == [1]
