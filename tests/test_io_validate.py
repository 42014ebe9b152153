"""Every rule of docs/contract.md §2: one case per rule, errors naming table, column and rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ideaflow.errors import DataError, ParameterError
from ideaflow.io import dataset_from_frames, validate_dataset, write_dataset


def frames():
    """A valid dataset: 4 trades (13 copies 11, 14 copies 13), 2 follows, prices, accounts."""
    trades = pd.DataFrame(
        {
            "trade_id": [11, 12, 13, 14],
            "trader_id": [1, 2, 3, 4],
            "instrument": ["EURUSD", "GBPUSD", "EURUSD", "EURUSD"],
            "side": [1, -1, 1, 1],
            "open_time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"]),
            "close_time": pd.to_datetime(["2024-01-03", None, "2024-01-03", "2024-01-03"]),
            "open_price": [1.1, 1.3, 1.1, 1.1],
            "close_price": [1.2, None, 1.2, 1.2],
            "amount": [100.0, 50.0, 10.0, 5.0],
            "leverage": [1.0, 2.0, 1.0, 1.0],
            "parent_trade_id": pd.array([None, None, 11, 13], dtype="Int64"),
            "fee": [0.0, 0.5, 0.0, 0.0],
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [3, 4],
            "leader_id": [1, 3],
            "start_time": pd.to_datetime(["2023-12-01", "2023-12-01"]),
            "end_time": pd.to_datetime(["2024-02-01", None]),
            "allocation": [1_000.0, 500.0],
        }
    )
    prices = pd.DataFrame(
        {
            "instrument": ["EURUSD", "EURUSD", "GBPUSD"],
            "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"]),
            "price": [1.1, 1.15, 1.3],
        }
    )
    accounts = pd.DataFrame({"trader_id": [1, 2], "initial_equity": [5_000.0, 8_000.0]})
    return {"trades": trades, "follows": follows, "prices": prices, "accounts": accounts}


def load(data):
    return dataset_from_frames(**data)


def test_valid_fixture_loads():
    ds = load(frames())
    np.testing.assert_array_equal(ds.trades.trade_id, [11, 13, 14, 12])
    np.testing.assert_array_equal(ds.trades.parent, [-1, 0, 1, -1])
    np.testing.assert_array_equal(ds.initial_equity, [5_000.0, 8_000.0, 10_000.0, 10_000.0])


def _set(table, column, row, value):
    def change(data):
        data[table][column] = data[table][column].astype(object)
        data[table].loc[row, column] = value
        if isinstance(value, float | int) and not isinstance(value, bool):
            data[table][column] = pd.to_numeric(data[table][column])

    return change


def _set_time(table, column, row, value):
    def change(data):
        data[table].loc[row, column] = pd.NaT if value is None else pd.Timestamp(value)

    return change


CASES = {
    "trade_id unique": (
        _set("trades", "trade_id", 1, 11),
        r"trades\.trade_id: must be unique \(2 rows; e\.g\. trade_id=11",
    ),
    "instrument non-empty": (
        _set("trades", "instrument", 1, " "),
        r"trades\.instrument: must be non-empty \(1 row; e\.g\. trade_id=12 \(instrument=' '\)\)",
    ),
    "instrument not null": (
        _set("trades", "instrument", 1, None),
        r"trades\.instrument: must not be null \(1 row; e\.g\. trade_id=12",
    ),
    "side values": (
        _set("trades", "side", 2, 0),
        r"trades\.side: must be \+1/-1 or buy/sell/long/short \(1 row; e\.g\. trade_id=13 \(side=0\)\)",
    ),
    "side not null": (
        lambda d: d["trades"].__setitem__("side", pd.array([1, None, -1, 1], dtype="Int8")),
        r"trades\.side: must not be null \(1 row; e\.g\. trade_id=12 \(side=null\)\)",
    ),
    "side words": (
        lambda d: d["trades"].__setitem__("side", ["buy", "hold", "sell", "long"]),
        r"trades\.side: must be \+1/-1 or buy/sell/long/short \(1 row; e\.g\. trade_id=12 \(side='hold'\)\)",
    ),
    "open_time not null": (
        _set_time("trades", "open_time", 0, None),
        r"trades\.open_time: must not be null \(1 row; e\.g\. trade_id=11",
    ),
    "close_time >= open_time": (
        _set_time("trades", "close_time", 0, "2023-12-31"),
        r"trades\.close_time: must be >= open_time \(1 row; e\.g\. trade_id=11 \(close_time=2023-12-31",
    ),
    "close_price null iff close_time null": (
        _set("trades", "close_price", 1, 1.4),
        r"trades\.close_price: must be null exactly when close_time is null \(1 row; e\.g\. trade_id=12",
    ),
    "open_price positive": (
        _set("trades", "open_price", 0, 0.0),
        r"trades\.open_price: must be finite and > 0 \(1 row; e\.g\. trade_id=11 \(open_price=0\.0\)\)",
    ),
    "open_price finite": (
        _set("trades", "open_price", 0, np.inf),
        r"trades\.open_price: must be finite and > 0 \(1 row; e\.g\. trade_id=11 \(open_price=inf\)\)",
    ),
    "close_price positive": (
        _set("trades", "close_price", 0, -1.0),
        r"trades\.close_price: must be finite and > 0 \(1 row; e\.g\. trade_id=11",
    ),
    "amount positive": (
        _set("trades", "amount", 3, 0.0),
        r"trades\.amount: must be finite and > 0 \(1 row; e\.g\. trade_id=14 \(amount=0\.0\)\)",
    ),
    "amount not null": (
        _set("trades", "amount", 3, np.nan),
        r"trades\.amount: must not be null \(1 row; e\.g\. trade_id=14",
    ),
    "leverage >= 1": (
        _set("trades", "leverage", 1, 0.5),
        r"trades\.leverage: must be finite and >= 1 \(1 row; e\.g\. trade_id=12 \(leverage=0\.5\)\)",
    ),
    "fee >= 0": (
        _set("trades", "fee", 1, -0.1),
        r"trades\.fee: must be finite and >= 0 \(1 row; e\.g\. trade_id=12 \(fee=-0\.1\)\)",
    ),
    "parent exists": (
        lambda d: d["trades"].__setitem__("parent_trade_id", pd.array([None, 99, 11, 13], "Int64")),
        r"trades\.parent_trade_id: must reference an existing trade_id \(1 row; e\.g\. trade_id=12 \(parent_trade_id=99\)\)",
    ),
    "parent cycle": (
        lambda d: d["trades"].__setitem__("parent_trade_id", pd.array([14, None, 11, 13], "Int64")),
        r"trades\.parent_trade_id: parent chains must not form a cycle \(3 rows; e\.g\. trade_id=11",
    ),
    "parent self": (
        lambda d: d["trades"].__setitem__("parent_trade_id", pd.array([None, 12, 11, 13], "Int64")),
        r"trades\.parent_trade_id: parent chains must not form a cycle \(1 row; e\.g\. trade_id=12",
    ),
    "follower != leader": (
        _set("follows", "leader_id", 0, 3),
        r"follows\.leader_id: must differ from follower_id \(1 row; e\.g\. follower_id=3, leader_id=3, start_time=2023-12-01 00:00:00",
    ),
    "end_time > start_time": (
        _set_time("follows", "end_time", 0, "2023-12-01"),
        r"follows\.end_time: must be > start_time \(1 row; e\.g\. follower_id=3, leader_id=1",
    ),
    "allocation positive": (
        _set("follows", "allocation", 1, -5.0),
        r"follows\.allocation: must be finite and > 0 \(1 row; e\.g\. follower_id=4, leader_id=3, start_time=2023-12-01 00:00:00 \(allocation=-5\.0\)\)",
    ),
    "follows intervals overlap": (
        lambda d: d.__setitem__(
            "follows",
            pd.concat(
                [d["follows"], d["follows"].iloc[[0]].assign(start_time=pd.Timestamp("2024-01-31"))]
            ),
        ),
        r"follows\.start_time: intervals of the same \(follower_id, leader_id\) pair must not overlap \(2 rows",
    ),
    "prices positive": (
        _set("prices", "price", 2, 0.0),
        r"prices\.price: must be finite and > 0 \(1 row; e\.g\. instrument='GBPUSD', time=2024-01-02 00:00:00 \(price=0\.0\)\)",
    ),
    "prices unique": (
        _set_time("prices", "time", 1, "2024-01-01"),
        r"prices\.time: must be unique per \(instrument, time\) \(2 rows; e\.g\. instrument='EURUSD', time=2024-01-01",
    ),
    "prices instrument non-empty": (
        _set("prices", "instrument", 0, ""),
        r"prices\.instrument: must be non-empty \(1 row",
    ),
    "accounts unique": (
        _set("accounts", "trader_id", 1, 1),
        r"accounts\.trader_id: must be unique \(2 rows; e\.g\. trader_id=1",
    ),
    "accounts equity positive": (
        _set("accounts", "initial_equity", 0, np.nan),
        r"accounts\.initial_equity: must not be null \(1 row; e\.g\. trader_id=1",
    ),
    "accounts equity finite": (
        _set("accounts", "initial_equity", 0, -np.inf),
        r"accounts\.initial_equity: must be finite and > 0 \(1 row; e\.g\. trader_id=1 \(initial_equity=-inf\)\)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule(case):
    change, pattern = CASES[case]
    data = frames()
    change(data)
    with pytest.raises(DataError, match=pattern) as info:
        load(data)
    assert len(info.value.violations) == 1
    violation = info.value.violations[0]
    assert violation.count == len(violation.rows)


def test_touching_follow_intervals_do_not_overlap():
    data = frames()
    extra = data["follows"].iloc[[0]].assign(start_time=pd.Timestamp("2024-02-01"), end_time=pd.NaT)
    data["follows"] = pd.concat([data["follows"], extra])
    ds = load(data)
    assert len(ds.follows) == 3


def test_overlap_marks_every_row_taking_part():
    data = frames()
    base = data["follows"].iloc[[0]]
    data["follows"] = pd.concat(
        [
            base.assign(start_time=pd.Timestamp("2023-01-01"), end_time=pd.Timestamp("2023-12-31")),
            base.assign(start_time=pd.Timestamp("2023-02-01"), end_time=pd.Timestamp("2023-03-01")),
            base.assign(start_time=pd.Timestamp("2023-04-01"), end_time=pd.Timestamp("2023-05-01")),
            base.assign(start_time=pd.Timestamp("2024-03-01"), end_time=pd.NaT),
        ],
        ignore_index=True,
    )
    with pytest.raises(DataError, match=r"follows\.start_time: intervals .* \(3 rows") as info:
        load(data)
    assert info.value.violations[0].rows == (0, 1, 2)


def test_every_problem_is_reported_at_once():
    data = frames()
    data["trades"].loc[0, "amount"] = -1.0
    data["trades"].loc[1, "leverage"] = 0.1
    data["follows"].loc[0, "allocation"] = 0.0
    data["accounts"].loc[1, "initial_equity"] = -3.0
    with pytest.raises(DataError, match=r"invalid input: 4 problems") as info:
        load(data)
    found = {(v.table, v.column) for v in info.value.violations}
    assert found == {
        ("trades", "amount"),
        ("trades", "leverage"),
        ("follows", "allocation"),
        ("accounts", "initial_equity"),
    }


def test_missing_column_suggests_a_close_match():
    data = frames()
    data["follows"] = data["follows"].rename(columns={"leader_id": "leadr_id"})
    data["trades"] = data["trades"].drop(columns=["amount"])
    with pytest.raises(
        DataError,
        match=r"follows\.leader_id: missing required column\. the table has `leadr_id`: did you mean `leader_id`\?",
    ) as info:
        load(data)
    assert "trades.amount: missing required column" in str(info.value)


def test_wrong_types_name_expected_and_found():
    data = frames()
    data["trades"]["amount"] = ["1", "2", "3", "4"]
    data["follows"]["start_time"] = [1, 2]
    with pytest.raises(
        DataError,
        match=r"trades\.amount: wrong type: expected float64, found string \(4 rows\)\. parse the strings",
    ) as info:
        load(data)
    assert "follows.start_time: wrong type: expected timestamp" in str(info.value)
    assert "found int64" in str(info.value)


def test_value_checks_still_run_next_to_a_type_problem():
    data = frames()
    data["trades"]["amount"] = ["1", "2", "3", "4"]
    data["trades"].loc[1, "leverage"] = 0.1
    with pytest.raises(DataError, match=r"trades\.leverage: must be finite and >= 1"):
        load(data)


def test_non_integer_float_ids_are_rejected():
    data = frames()
    data["trades"]["trader_id"] = [1.0, 2.5, 3.0, 4.0]
    with pytest.raises(
        DataError,
        match=r"trades\.trader_id: must be an integer \(1 row; e\.g\. trade_id=12 \(trader_id=2\.5\)\)",
    ):
        load(data)


def test_timestamps_out_of_nanosecond_range():
    table = pa.Table.from_pandas(frames()["trades"], preserve_index=False)
    seconds = table.column("open_time").cast(pa.int64()).to_numpy() // 1_000_000_000
    seconds[2] = 10**11  # year ~5138
    i = table.schema.get_field_index("open_time")
    table = table.set_column(i, "open_time", pa.array(seconds, pa.timestamp("s")))
    with pytest.raises(
        DataError, match=r"trades\.open_time: timestamp out of range .* \(1 row; e\.g\. trade_id=13"
    ):
        dataset_from_frames(table)


def test_empty_trades_table():
    data = frames()
    data["trades"] = data["trades"].iloc[:0]
    with pytest.raises(DataError, match=r"trades\.\(rows\): table is empty"):
        load(data)


def test_null_key_uses_row_position_in_examples():
    data = frames()
    data["trades"]["trade_id"] = pd.array([11, None, 13, 14], dtype="Int64")
    with pytest.raises(
        DataError, match=r"trades\.trade_id: must not be null \(1 row; e\.g\. row 1\)"
    ):
        load(data)


def test_validate_dataset_reports_every_problem_and_row_counts(tmp_path):
    data = frames()
    write_dataset(tmp_path, **data)
    report = validate_dataset(tmp_path)
    assert report.ok and report.violations == ()
    assert report.rows == {"trades": 4, "follows": 2, "prices": 3, "accounts": 2}
    assert report.to_text().splitlines()[-1] == "OK"
    data["trades"].loc[0, "amount"] = -1.0
    data["prices"].loc[0, "price"] = np.nan
    write_dataset(tmp_path, **data)
    report = validate_dataset(tmp_path)
    assert not report.ok
    assert [(v.table, v.column) for v in report.violations] == [
        ("trades", "amount"),
        ("prices", "price"),
    ]
    text = report.to_text()
    assert "trades.amount: must be finite and > 0 (1 row; e.g. trade_id=11 (amount=-1.0))" in text
    assert "2 problems:" in text and text.endswith("INVALID")


def test_parameters_are_checked():
    with pytest.raises(
        ParameterError, match=r"on_invalid: expected one of error, quarantine, found 'drop'"
    ):
        dataset_from_frames(frames()["trades"], on_invalid="drop")
    with pytest.raises(
        ParameterError, match=r"initial_equity: expected a finite number > 0, found -1"
    ):
        dataset_from_frames(frames()["trades"], initial_equity=-1)
    with pytest.raises(
        ParameterError, match=r"follows: expected a pandas DataFrame or a pyarrow Table, found list"
    ):
        dataset_from_frames(frames()["trades"], follows=[1, 2])


def test_unconvertible_and_repeated_columns():
    data = frames()
    data["trades"]["amount"] = pd.Series([1.0, "x", 2.0, 3.0], dtype=object)
    with pytest.raises(
        DataError, match=r"trades\.amount: wrong type: expected float64, found object values"
    ):
        load(data)
    table = pa.Table.from_pandas(frames()["trades"], preserve_index=False)
    table = table.append_column("fee", pa.array([0.0] * 4))
    with pytest.raises(DataError, match=r"trades\.fee: column appears more than once"):
        dataset_from_frames(table)


def test_float_sides_holding_plus_minus_one():
    data = frames()
    data["trades"]["side"] = [1.0, -1.0, 1.0, 1.0]
    np.testing.assert_array_equal(load(data).trades.side, [1, 1, 1, -1])
    data["trades"]["side"] = [1.0, -1.0, 0.5, 1.0]
    with pytest.raises(DataError, match=r"trades\.side: must be \+1/-1 .* \(side=0\.5\)"):
        load(data)


def test_graph_kernels_by_hand():
    from ideaflow.kernels.graph import (
        overlapping_intervals_nb,
        parent_chains_nb,
        taint_descendants_nb,
    )

    # 0 <- 1 <- 2 (chain); 3 <-> 4 (cycle); 5 -> 4 (leads into the cycle); 6 self-loop
    parent = np.array([-1, 0, 1, 4, 3, 4, 6], dtype=np.int64)
    depth, on_cycle = parent_chains_nb(parent)
    np.testing.assert_array_equal(depth, [0, 1, 2, -1, -1, -1, -1])
    np.testing.assert_array_equal(on_cycle, [False, False, False, True, True, False, True])
    flagged = np.array([False, True, False, True, True, False, True])
    tainted = taint_descendants_nb(parent, flagged)
    np.testing.assert_array_equal(tainted, [False, False, True, False, False, True, False])
    # an unflagged cycle cannot hang the walk: it counts as flagged
    tainted = taint_descendants_nb(parent, np.zeros(7, dtype=bool))
    np.testing.assert_array_equal(tainted[:3], [False, False, False])
    # groups [0, 3) and [3, 5): [0,10) overlaps [5,6) but not [10,20); [0,5) touches [5,9)
    new_group = np.array([True, False, False, True, False])
    start = np.array([0, 5, 10, 0, 5], dtype=np.int64)
    end = np.array([10, 6, 20, 5, 9], dtype=np.int64)
    overlaps = overlapping_intervals_nb(new_group, start, end)
    np.testing.assert_array_equal(overlaps, [True, True, False, False, False])
