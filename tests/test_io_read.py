"""Reading the data contract: files vs partitions, types, defaults, orders and codes."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ideaflow.data import OPEN_END
from ideaflow.errors import DataError
from ideaflow.io import (
    dataset_from_frames,
    load_dataset,
    write_dataset,
    write_json_atomic,
    write_parquet_atomic,
)

T0 = pd.Timestamp("2024-01-01", tz="UTC")
NS_HOUR = 3_600_000_000_000


def random_frames(seed: int, n_trades: int = 40, n_traders: int = 8):
    """A valid random dataset: copies point to earlier trades, follows never overlap."""
    rng = np.random.default_rng(seed)
    trade_id = rng.permutation(np.arange(100, 100 + 3 * n_trades, 3))
    open_hours = rng.integers(0, 50, n_trades)
    parent = np.full(n_trades, -1)
    for i in range(1, n_trades):
        if rng.random() < 0.4:
            parent[i] = rng.integers(0, i)
    is_open = rng.random(n_trades) < 0.2
    trades = pd.DataFrame(
        {
            "trade_id": trade_id,
            "trader_id": rng.integers(1, n_traders + 1, n_trades) * 7,
            "instrument": rng.choice(["EURUSD", "GBPUSD", "BTC"], n_trades),
            "side": rng.choice([1, -1], n_trades).astype(np.int8),
            "open_time": T0 + pd.to_timedelta(open_hours, unit="h"),
            "close_time": (T0 + pd.to_timedelta(open_hours + 3, unit="h")).where(~is_open),
            "open_price": rng.uniform(1, 2, n_trades),
            "close_price": np.where(is_open, np.nan, rng.uniform(1, 2, n_trades)),
            "amount": rng.uniform(10, 100, n_trades),
            "leverage": rng.choice([1.0, 2.0], n_trades),
            "parent_trade_id": pd.array(
                [trade_id[p] if p >= 0 else None for p in parent], dtype="Int64"
            ),
            "fee": rng.uniform(0, 1, n_trades),
        }
    )
    pairs = [(f, lead) for f in range(1, n_traders + 1) for lead in range(1, n_traders + 1)]
    chosen = rng.choice(len(pairs), 6, replace=False)
    follows = pd.DataFrame(
        {
            "follower_id": [pairs[c][0] * 7 for c in chosen],
            "leader_id": [
                pairs[c][1] * 7 + (7 if pairs[c][0] == pairs[c][1] else 0) for c in chosen
            ],
            "start_time": T0 + pd.to_timedelta(rng.integers(0, 10, 6), unit="h"),
            "end_time": T0 + pd.to_timedelta(rng.integers(20, 30, 6), unit="h"),
            "allocation": rng.uniform(100, 1000, 6),
        }
    )
    follows = follows.drop_duplicates(["follower_id", "leader_id"]).reset_index(drop=True)
    prices = pd.DataFrame(
        {
            "instrument": np.repeat(["EURUSD", "BTC"], 5),
            "time": np.tile(T0 + pd.to_timedelta(np.arange(5) * 10, unit="h"), 2),
            "price": rng.uniform(1, 2, 10),
        }
    )
    accounts = pd.DataFrame({"trader_id": [7, 14], "initial_equity": [5_000.0, 20_000.0]})
    return trades, follows, prices, accounts


def assert_same_dataset(a, b) -> None:
    np.testing.assert_array_equal(a.trader_ids, b.trader_ids)
    assert a.instruments == b.instruments
    assert a.data_end == b.data_end
    np.testing.assert_array_equal(a.initial_equity, b.initial_equity)
    for group in ("trades", "follows", "prices"):
        x, y = getattr(a, group), getattr(b, group)
        assert (x is None) == (y is None)
        if x is None:
            continue
        for name in x.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)


def tiny_trades() -> pd.DataFrame:
    """Three trades given out of order; 12 copies 11, 13 copies 12."""
    return pd.DataFrame(
        {
            "trade_id": [13, 11, 12],
            "trader_id": [30, 10, 20],
            "instrument": ["GBPUSD", "EURUSD", "EURUSD"],
            "side": [-1, 1, 1],
            "open_time": pd.to_datetime(
                ["2024-01-01 02:00", "2024-01-01 00:00", "2024-01-01 00:00"]
            ),
            "close_time": pd.to_datetime(["2024-01-01 05:00", None, "2024-01-01 04:00"]),
            "open_price": [1.3, 1.1, 1.1],
            "close_price": [1.2, None, 1.2],
            "amount": [30.0, 10.0, 20.0],
            "parent_trade_id": pd.array([12, None, 11], dtype="Int64"),
        }
    )


def test_sorting_codes_and_parent_rows():
    ds = dataset_from_frames(tiny_trades())
    t = ds.trades
    # sorted by (open_time, trade_id): 11 and 12 share the open time
    np.testing.assert_array_equal(t.trade_id, [11, 12, 13])
    np.testing.assert_array_equal(t.parent, [-1, 0, 1])
    np.testing.assert_array_equal(ds.trader_ids, [10, 20, 30])
    np.testing.assert_array_equal(t.trader, [0, 1, 2])
    assert ds.instruments == ("EURUSD", "GBPUSD")
    np.testing.assert_array_equal(t.instrument, [0, 0, 1])
    np.testing.assert_array_equal(t.side, [1, 1, -1])
    assert t.side.dtype == np.int8 and t.trader.dtype == np.int32 and t.parent.dtype == np.int64
    assert t.close_time[0] == OPEN_END and np.isnan(t.close_price[0])
    # tz-naive times read as UTC
    assert t.open_time[0] == pd.Timestamp("2024-01-01", tz="UTC").value
    assert ds.data_end == pd.Timestamp("2024-01-01 05:00", tz="UTC").value
    np.testing.assert_array_equal(t.is_original, [True, False, False])


def test_optional_column_defaults():
    ds = dataset_from_frames(tiny_trades().drop(columns=["parent_trade_id"]))
    np.testing.assert_array_equal(ds.trades.leverage, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ds.trades.fee, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(ds.trades.parent, [-1, -1, -1])
    assert ds.prices is None and len(ds.follows) == 0
    np.testing.assert_array_equal(ds.follows.leader_indptr, [0, 0, 0, 0])
    np.testing.assert_array_equal(ds.initial_equity, [10_000.0] * 3)
    assert ds.meta == {
        "source": "<frames>",
        "rows_read": {"trades": 3, "follows": 0, "prices": 0, "accounts": 0},
        "quarantined": {"trades": 0, "follows": 0, "prices": 0, "accounts": 0},
        "quarantine_reasons": {"trades": {}, "follows": {}, "prices": {}, "accounts": {}},
    }


def test_initial_equity_from_accounts_and_default():
    accounts = pd.DataFrame({"trader_id": [20, 99], "initial_equity": [500.0, 700.0]})
    ds = dataset_from_frames(tiny_trades(), accounts=accounts, initial_equity=1_000.0)
    np.testing.assert_array_equal(ds.trader_ids, [10, 20, 30, 99])
    np.testing.assert_array_equal(ds.initial_equity, [1_000.0, 500.0, 1_000.0, 700.0])


@pytest.mark.parametrize("sides", [["SELL", "buy", "Long"], ["short", "LONG", "buy"], [-1, 1, 1]])
def test_string_and_integer_sides(sides):
    trades = tiny_trades()
    trades["side"] = pd.Series(sides, dtype=object if isinstance(sides[0], str) else "int16")
    ds = dataset_from_frames(trades)
    np.testing.assert_array_equal(ds.trades.side, [1, 1, -1])


def test_dictionary_side_and_instrument_in_arrow_table():
    table = pa.Table.from_pandas(tiny_trades(), preserve_index=False)
    table = table.set_column(2, "instrument", table.column("instrument").dictionary_encode())
    table = table.set_column(3, "side", pa.array(["sell", "buy", "buy"]).dictionary_encode())
    ds = dataset_from_frames(table)
    assert ds.instruments == ("EURUSD", "GBPUSD")
    np.testing.assert_array_equal(ds.trades.side, [1, 1, -1])


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamp_units_and_time_zones(tmp_path, unit):
    trades = tiny_trades()
    # the same instants written in Tokyo time and in the given unit
    trades["open_time"] = trades["open_time"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    table = pa.Table.from_pandas(trades, preserve_index=False)
    for name in ("open_time", "close_time"):
        i = table.schema.get_field_index(name)
        table = table.set_column(
            i,
            name,
            table.column(name).cast(pa.timestamp(unit, tz=table.schema.field(name).type.tz)),
        )
    pq.write_table(table, tmp_path / "trades.parquet")
    ds = load_dataset(tmp_path)
    expected = dataset_from_frames(tiny_trades())
    np.testing.assert_array_equal(ds.trades.open_time, expected.trades.open_time)
    np.testing.assert_array_equal(ds.trades.close_time, expected.trades.close_time)


def test_integer_widths_and_float_ids():
    trades = tiny_trades()
    trades["trade_id"] = trades["trade_id"].astype("int16")
    trades["trader_id"] = trades["trader_id"].astype("uint8")
    trades["amount"] = [30, 10, 20]  # integers accepted in a float column
    # pandas turns an integer column with missing values into float64 with NaN
    trades["parent_trade_id"] = [12.0, np.nan, 11.0]
    ds = dataset_from_frames(trades)
    expected = dataset_from_frames(tiny_trades())
    assert_same_dataset(ds, expected)


def test_partitioned_directory_equals_single_file(tmp_path):
    frames = random_frames(3)
    write_dataset(tmp_path / "single", *frames)
    write_dataset(tmp_path / "parts", *frames, partitions=4)
    assert sorted(p.name for p in (tmp_path / "parts" / "trades").iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(4)
    ]
    single = load_dataset(tmp_path / "single")
    parts = load_dataset(tmp_path / "parts")
    assert_same_dataset(single, parts)
    assert_same_dataset(single, dataset_from_frames(*frames))
    assert parts.meta["rows_read"] == single.meta["rows_read"]
    assert parts.meta["source"] == str(tmp_path / "parts")


def test_parts_with_different_physical_types(tmp_path):
    trades = tiny_trades()
    (tmp_path / "trades").mkdir()
    first = pa.Table.from_pandas(trades.iloc[:2], preserve_index=False)
    first = first.set_column(2, "instrument", first.column("instrument").dictionary_encode())
    second = pa.Table.from_pandas(trades.iloc[2:], preserve_index=False)
    i = second.schema.get_field_index("open_time")
    second = second.set_column(i, "open_time", second.column("open_time").cast(pa.timestamp("s")))
    second = second.drop_columns(["parent_trade_id"])  # optional column absent in one part
    pq.write_table(first, tmp_path / "trades" / "part-00000.parquet")
    pq.write_table(second, tmp_path / "trades" / "part-00001.parquet")
    ds = load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.trades.trade_id, [11, 12, 13])
    # 12 (second part) lost its parent column: it reads as an original
    np.testing.assert_array_equal(ds.trades.parent, [-1, -1, 1])
    assert ds.instruments == ("EURUSD", "GBPUSD")


def test_file_and_directory_of_one_table_is_an_error(tmp_path):
    write_dataset(tmp_path, tiny_trades())
    (tmp_path / "trades").mkdir()
    pq.write_table(pa.Table.from_pandas(tiny_trades()), tmp_path / "trades" / "part-0.parquet")
    with pytest.raises(
        DataError, match=r"trades\.\(file\): both trades\.parquet and the directory"
    ):
        load_dataset(tmp_path)


def test_truncated_and_missing_files(tmp_path):
    write_dataset(tmp_path, tiny_trades())
    data = (tmp_path / "trades.parquet").read_bytes()
    (tmp_path / "trades.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"trades\.\(file\): unreadable or truncated Parquet file"):
        load_dataset(tmp_path)
    (tmp_path / "trades.parquet").unlink()
    with pytest.raises(DataError, match=r"trades\.\(file\): required table is missing"):
        load_dataset(tmp_path)
    with pytest.raises(DataError, match=r"dataset\.\(path\): dataset directory .* does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_write_parquet_atomic_is_deterministic_and_leaves_no_temp_files(tmp_path):
    frame = random_frames(1)[0]
    first = write_parquet_atomic(frame, tmp_path / "a.parquet")
    content = first.read_bytes()
    write_parquet_atomic(frame, tmp_path / "a.parquet")  # overwrite
    write_parquet_atomic(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == content
    assert (tmp_path / "b.parquet").read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == ["a.parquet", "b.parquet"]
    back = pq.read_table(tmp_path / "a.parquet")
    assert back.schema.metadata is None or b"pandas" not in back.schema.metadata
    assert back.num_rows == len(frame)


def test_atomic_writer_cleans_up_after_a_failure(tmp_path):
    with pytest.raises(TypeError, match="expected a pandas DataFrame or a pyarrow Table"):
        write_parquet_atomic([1, 2], tmp_path / "x.parquet")
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic({"a": object()}, tmp_path / "x.json")
    assert os.listdir(tmp_path) == []


def test_write_json_atomic_format(tmp_path):
    path = write_json_atomic({"b": 1, "a": [1.5, "x"]}, tmp_path / "s.json")
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    "x"\n  ],\n  "b": 1\n}\n'
    assert json.loads(path.read_text()) == {"a": [1.5, "x"], "b": 1}


def test_write_dataset_rewrite_switches_layout(tmp_path):
    frames = random_frames(5)
    write_dataset(tmp_path, *frames, partitions=3)
    write_dataset(tmp_path, frames[0])
    assert sorted(os.listdir(tmp_path)) == ["trades.parquet"]
    ds = load_dataset(tmp_path)
    assert len(ds.follows) == 0 and ds.prices is None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5), shuffle_seed=st.integers(0, 10_000))
def test_row_order_and_splitting_do_not_matter(seed, k, shuffle_seed):
    frames = random_frames(seed, n_trades=25)
    reference = dataset_from_frames(*frames)
    rng = np.random.default_rng(shuffle_seed)
    shuffled = [f.iloc[rng.permutation(len(f))].reset_index(drop=True) for f in frames]
    # k chunks per column in memory ...
    tables = []
    for frame in shuffled:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        bounds = np.sort(rng.integers(0, table.num_rows + 1, k - 1))
        cuts = [0, *bounds.tolist(), table.num_rows]
        pieces = [table.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:])]
        tables.append(pa.concat_tables(pieces))
    assert_same_dataset(reference, dataset_from_frames(*tables))
    # ... and k part files on disk
    with tempfile.TemporaryDirectory() as directory:
        write_dataset(directory, *shuffled, partitions=k)
        assert_same_dataset(reference, load_dataset(directory))


def test_sparse_and_negative_ids_take_the_general_paths():
    # ids spread over the whole int64 range defeat the direct-address fast paths
    trades = tiny_trades()
    trades["trade_id"] = [2**62 + 13, -(2**61), 2**40]  # 13, 11, 12 of tiny_trades
    trades["trader_id"] = [2**62, -5, 2**40]
    trades["parent_trade_id"] = pd.array([2**40, None, -(2**61)], dtype="Int64")
    follows = pd.DataFrame(
        {
            "follower_id": [2**62, 2**62],
            "leader_id": [-5, 2**40],
            "start_time": pd.to_datetime(["2023-12-01", "2023-12-01"]),
            "end_time": pd.to_datetime([None, None]),
            "allocation": [1.0, 2.0],
        }
    )
    ds = dataset_from_frames(trades, follows)
    np.testing.assert_array_equal(ds.trader_ids, [-5, 2**40, 2**62])
    np.testing.assert_array_equal(ds.trades.trade_id, [-(2**61), 2**40, 2**62 + 13])
    np.testing.assert_array_equal(ds.trades.parent, [-1, 0, 1])
    np.testing.assert_array_equal(ds.trades.trader, [0, 1, 2])
    # follows sorted by (leader, start_time, follower), CSR by leader code
    np.testing.assert_array_equal(ds.follows.leader, [0, 1])
    np.testing.assert_array_equal(ds.follows.leader_indptr, [0, 1, 2, 2])
    duplicated = trades.assign(trade_id=[2**62 + 13, 2**62 + 13, 2**40])
    with pytest.raises(DataError, match=r"trades\.trade_id: must be unique \(2 rows"):
        dataset_from_frames(duplicated, follows)


def test_dataset_arrays_are_read_only():
    ds = dataset_from_frames(*random_frames(2))
    for group in (ds, ds.trades, ds.follows, ds.prices):
        for name, value in vars(group).items():
            if isinstance(value, np.ndarray):
                assert not value.flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        ds.trades.amount[0] = 1.0


def test_write_json_converts_numpy_and_paths(tmp_path):
    obj = {"n": np.int64(3), "x": np.float32(0.5), "flag": np.bool_(True), "a": np.arange(2)}
    obj["path"] = tmp_path / "p"
    path = write_json_atomic(obj, tmp_path / "s.json")
    assert json.loads(path.read_text()) == {
        "a": [0, 1],
        "flag": True,
        "n": 3,
        "path": str(tmp_path / "p"),
        "x": 0.5,
    }


def test_write_dataset_keeps_a_contract_column_used_as_index(tmp_path):
    write_dataset(tmp_path, tiny_trades().set_index("trade_id"))
    np.testing.assert_array_equal(load_dataset(tmp_path).trades.trade_id, [11, 12, 13])


def test_parent_ids_far_outside_the_id_range_are_missing():
    # ids 2**63 - 4 .. 2**63 - 2 are contiguous; a parent near -2**63 must not wrap into them
    trades = tiny_trades()
    top = 2**63 - 4
    trades["trade_id"] = [top + 2, top, top + 1]
    trades["parent_trade_id"] = pd.array([-(2**63) + 9, None, top], dtype="Int64")
    with pytest.raises(
        DataError, match=r"trades\.parent_trade_id: must reference an existing trade_id \(1 row"
    ):
        dataset_from_frames(trades)
