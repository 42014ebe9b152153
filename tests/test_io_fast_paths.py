"""The loader's fast paths give exactly what the straightforward computation gives.

Each shortcut taken for speed on large datasets (single-chunk Parquet reads, coding id
parts without concatenating them, the follows order, in-place null fills, checking only
repeated follow pairs for overlaps) is compared with the plain computation it replaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ideaflow.data import OPEN_END
from ideaflow.io import dataset_from_frames
from ideaflow.io.convert import _filled, _follow_order
from ideaflow.io.ids import dense_codes
from ideaflow.io.read import _read_file, frames_to_raw
from ideaflow.io.validate import _pair_key, check_tables
from ideaflow.kernels.graph import overlapping_intervals_nb

OVERLAP_RULE = "intervals of the same (follower_id, leader_id) pair must not overlap"


def _reference_read(path):
    return pq.read_table(
        path, memory_map=True, use_threads=True, read_dictionary=["instrument", "side"]
    )


def test_read_file_returns_single_chunk_columns_equal_to_read_table(tmp_path):
    n = 5_000
    rng = np.random.default_rng(3)
    close = rng.uniform(1, 2, n)
    table = pa.table(
        {
            "trade_id": np.arange(n, dtype=np.int64),
            "instrument": rng.choice(["EURUSD", "BTC", "GBPUSD"], n),
            "side": rng.choice(["buy", "sell"], n),
            "close_price": pa.array(close, mask=rng.random(n) < 0.1),
            "open_time": pa.array(np.arange(n) * 10**9, pa.timestamp("ns", tz="UTC")),
        }
    )
    path = tmp_path / "trades.parquet"
    pq.write_table(table, path, row_group_size=700)  # 8 row groups
    got = _read_file(path)
    expected = _reference_read(path)
    assert got.equals(expected, check_metadata=True)
    assert expected.column("trade_id").num_chunks > 1  # what the fast path avoids
    for name in ("trade_id", "close_price", "open_time"):
        assert got.column(name).num_chunks == 1
    assert pa.types.is_dictionary(got.column("instrument").type)


def test_read_file_without_dictionary_columns_and_with_nested_columns(tmp_path):
    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3], "b": [0.5, None, 2.0]}), flat)
    assert _read_file(flat).equals(_reference_read(flat), check_metadata=True)
    # a nested column named like a dictionary column: read as pq.read_table reads it
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"instrument": [{"x": "a"}, {"x": "b"}], "a": [1, 2]}), nested)
    assert _read_file(nested).equals(_reference_read(nested), check_metadata=True)


def test_read_file_errors_are_those_of_read_table(tmp_path):
    repeated = tmp_path / "repeated.parquet"
    pq.write_table(pa.table({"a": [1], "b": [2]}).rename_columns(["a", "a"]), repeated)
    truncated = tmp_path / "truncated.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), truncated)
    truncated.write_bytes(truncated.read_bytes()[:-20])
    for path in (repeated, truncated):
        with pytest.raises(pa.ArrowException) as expected:
            _reference_read(path)
        with pytest.raises(pa.ArrowException) as got:
            _read_file(path)
        assert type(got.value) is type(expected.value)
        assert str(got.value) == str(expected.value)


def _reference_dense_codes(parts):
    uniques, inverse = np.unique(np.concatenate(parts), return_inverse=True)
    bounds = np.cumsum([0] + [p.shape[0] for p in parts])
    codes = inverse.astype(np.int32)
    return uniques.astype(np.int64), [codes[bounds[i] : bounds[i + 1]] for i in range(len(parts))]


@pytest.mark.parametrize(
    "low, high",
    [
        (1, 3_000),  # dense from near 0: the ids index the table directly
        (-1_500, 1_500),  # dense around 0: offsets from the minimum
        (10**9, 10**9 + 3_000),  # dense far from 0: offsets from the minimum
        (0, 2**40),  # sparse: hashing fallback
    ],
)
def test_dense_codes_of_parts_match_codes_of_the_concatenation(low, high):
    rng = np.random.default_rng(low % 97)
    parts = [
        rng.integers(low, high, size, dtype=np.int64, endpoint=True) for size in (900, 0, 400, 7)
    ]
    uniques, codes = dense_codes(parts)
    ref_uniques, ref_codes = _reference_dense_codes(parts)
    np.testing.assert_array_equal(uniques, ref_uniques)
    assert uniques.dtype == np.int64
    assert len(codes) == len(parts)
    for part, got, want in zip(parts, codes, ref_codes):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(uniques[got], part)  # codes decode to the ids


@pytest.mark.parametrize("start_range", [10**15, 20])  # distinct starts; many ties
def test_follow_order_is_the_three_key_lexsort(start_range):
    rng = np.random.default_rng(start_range % 101)
    n = 3_000
    leader = rng.integers(0, 40, n).astype(np.int32)
    follower = rng.integers(0, 40, n).astype(np.int32)
    start = rng.integers(0, start_range, n).astype(np.int64)
    expected = np.lexsort((follower, start, leader))
    np.testing.assert_array_equal(_follow_order(leader, start, follower), expected)


def test_filled_in_place_only_for_writable_arrays():
    missing = np.array([False, True, False, True])
    owned = np.array([1, 2, 3, 4], dtype=np.int64)
    out = _filled(owned, missing, OPEN_END)
    assert out is owned
    np.testing.assert_array_equal(out, [1, OPEN_END, 3, OPEN_END])

    shared = np.array([1.0, 2.0, 3.0, 4.0])
    shared.setflags(write=False)  # as a zero-copy view of an Arrow buffer
    out = _filled(shared, missing, np.nan)
    assert out is not shared
    np.testing.assert_array_equal(shared, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(out, [1.0, np.nan, 3.0, np.nan])
    assert _filled(shared, None, np.nan) is shared


def _follows_frame(seed: int, n: int, n_traders: int):
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 200, n).astype(np.int64)
    end = start + rng.integers(-3, 30, n)  # some end <= start, also broken rows
    end_null = rng.random(n) < 0.1
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "follower_id": rng.integers(1, n_traders, n),
            "leader_id": rng.integers(1, n_traders, n),
            "start_time": t0 + pd.to_timedelta(start, unit="h"),
            "end_time": (t0 + pd.to_timedelta(end, unit="h")).where(~end_null),
            "allocation": rng.uniform(0.1, 1.0, n),
        }
    )


def _reference_overlaps(frame: pd.DataFrame) -> np.ndarray:
    """The overlap rows as found by sorting every row (before only repeated pairs were)."""
    f = frame["follower_id"].to_numpy()
    lead = frame["leader_id"].to_numpy()
    s = pa.array(frame["start_time"]).cast(pa.int64()).to_numpy()
    end = pa.array(frame["end_time"]).cast(pa.int64())
    e = end.fill_null(np.iinfo(np.int64).max).to_numpy()
    order = np.lexsort((s, _pair_key(f, lead)))
    f, lead, s, e = f[order], lead[order], s[order], e[order]
    new_group = np.ones(f.size, dtype=bool)
    new_group[1:] = (f[1:] != f[:-1]) | (lead[1:] != lead[:-1])
    return np.sort(order[overlapping_intervals_nb(new_group, s, e)])


@pytest.mark.parametrize(
    "seed, n, n_traders",
    [(1, 400, 8), (2, 400, 40), (3, 300, 2_000)],  # many, some and no repeated pairs
)
def test_overlaps_found_on_repeated_pairs_only_match_the_full_sort(seed, n, n_traders):
    trades = pd.DataFrame(
        {
            "trade_id": [1],
            "trader_id": [1],
            "instrument": ["X"],
            "side": [1],
            "open_time": [pd.Timestamp("2024-01-01", tz="UTC")],
            "close_time": [pd.NaT],
            "open_price": [1.0],
            "close_price": [np.nan],
            "amount": [1.0],
        }
    )
    frame = _follows_frame(seed, n, n_traders)
    result = check_tables(frames_to_raw({"trades": trades, "follows": frame}))
    found = [f.rows for f in result.findings if f.rule == OVERLAP_RULE]
    got = found[0] if found else np.empty(0, dtype=np.int64)
    np.testing.assert_array_equal(got, _reference_overlaps(frame))


def test_data_end_is_the_latest_open_or_close_time():
    t0 = pd.Timestamp("1969-12-01", tz="UTC")  # before the epoch: negative nanoseconds
    trades = pd.DataFrame(
        {
            "trade_id": [1, 2, 3],
            "trader_id": [1, 1, 2],
            "instrument": ["X", "X", "Y"],
            "side": [1, -1, 1],
            "open_time": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(hours=2)],
            "close_time": [t0 + pd.Timedelta(hours=5), pd.NaT, pd.NaT],
            "open_price": [1.0, 1.0, 1.0],
            "close_price": [1.5, np.nan, np.nan],
            "amount": [1.0, 1.0, 1.0],
        }
    )
    ds = dataset_from_frames(trades)
    assert ds.data_end == (t0 + pd.Timedelta(hours=5)).value
    np.testing.assert_array_equal(ds.trades.close_time[1:], [OPEN_END, OPEN_END])
    assert np.isnan(ds.trades.close_price[1:]).all()
    still_open = trades.assign(close_time=pd.NaT, close_price=np.nan)
    assert dataset_from_frames(still_open).data_end == (t0 + pd.Timedelta(hours=2)).value
