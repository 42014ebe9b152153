"""Quarantine: offending rows and their dependants are dropped, written and counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ideaflow.errors import DataError, ParameterError
from ideaflow.io import dataset_from_frames, load_dataset, validate_dataset, write_dataset


def trades_frame() -> pd.DataFrame:
    """Originals 1, 2, 6; 3 copies 1; 4 copies 3; 5 copies 4; 7 copies 6."""
    return pd.DataFrame(
        {
            "trade_id": [1, 2, 3, 4, 5, 6, 7],
            "trader_id": [10, 20, 30, 40, 50, 10, 20],
            "instrument": ["EURUSD"] * 7,
            "side": ["buy", "sell", "buy", "buy", "buy", "sell", "sell"],
            "open_time": pd.to_datetime(["2024-01-01"] * 7),
            "close_time": pd.to_datetime(["2024-01-02"] * 7),
            "open_price": [1.0] * 7,
            "close_price": [1.1] * 7,
            "amount": [100.0, 100.0, 10.0, 5.0, 2.0, 100.0, 10.0],
            "parent_trade_id": pd.array([None, None, 1, 3, 4, None, 6], dtype="Int64"),
            "note": ["a", "b", "c", "d", "e", "f", "g"],  # extra column: kept in quarantine
        }
    )


def test_offending_rows_and_dependants_are_quarantined(tmp_path):
    trades = trades_frame()
    trades.loc[2, "amount"] = -10.0  # trade 3 breaks a rule; 4 and 5 depend on it
    trades.loc[6, "side"] = "hold"  # trade 7 breaks a rule; nothing depends on it
    follows = pd.DataFrame(
        {
            "follower_id": [30, 40],
            "leader_id": [10, 40],
            "start_time": pd.to_datetime(["2023-12-01", "2023-12-01"]),
            "end_time": pd.to_datetime([None, None]),
            "allocation": [100.0, 100.0],
        }
    )
    ds = dataset_from_frames(trades, follows, on_invalid="quarantine", quarantine_dir=tmp_path)
    np.testing.assert_array_equal(ds.trades.trade_id, [1, 2, 6])
    np.testing.assert_array_equal(ds.trades.parent, [-1, -1, -1])
    assert len(ds.follows) == 1
    # every trader of the kept rows (and of follows) keeps a code; 40 and 50 are gone
    np.testing.assert_array_equal(ds.trader_ids, [10, 20, 30])
    assert ds.meta["rows_read"] == {"trades": 7, "follows": 2, "prices": 0, "accounts": 0}
    assert ds.meta["quarantined"] == {"trades": 4, "follows": 1, "prices": 0, "accounts": 0}
    assert ds.meta["quarantine_reasons"]["trades"] == {
        "amount: must be finite and > 0": 1,
        "side: must be +1/-1 or buy/sell/long/short": 1,
        "parent trade quarantined": 2,
    }
    assert ds.meta["quarantine_reasons"]["follows"] == {
        "leader_id: must differ from follower_id": 1
    }
    written = pq.read_table(tmp_path / "trades.parquet").to_pandas()
    assert written["trade_id"].tolist() == [3, 4, 5, 7]
    assert written["source_row"].tolist() == [2, 3, 4, 6]
    assert written["note"].tolist() == ["c", "d", "e", "g"]
    assert written["side"].tolist() == ["buy", "buy", "buy", "hold"]
    assert written["reason"].tolist() == [
        "amount: must be finite and > 0",
        "parent trade_id=3 quarantined",
        "parent trade_id=4 quarantined",
        "side: must be +1/-1 or buy/sell/long/short",
    ]
    follows_out = pq.read_table(tmp_path / "follows.parquet").to_pandas()
    assert follows_out["follower_id"].tolist() == [40]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["follows.parquet", "trades.parquet"]


def test_several_reasons_of_one_row_are_joined(tmp_path):
    trades = trades_frame()
    trades.loc[0, "amount"] = 0.0
    trades.loc[0, "open_price"] = -1.0
    ds = dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    # trade 1 goes, with its copy 3 and the copies of copies 4 and 5
    np.testing.assert_array_equal(ds.trades.trade_id, [2, 6, 7])
    np.testing.assert_array_equal(ds.trades.parent, [-1, -1, 1])
    written = pq.read_table(tmp_path / "trades.parquet").to_pandas()
    assert written["reason"].tolist()[0] == (
        "open_price: must be finite and > 0; amount: must be finite and > 0"
    )


def test_duplicated_parent_ids_take_their_copies_along(tmp_path):
    trades = trades_frame()
    trades.loc[5, "trade_id"] = 1  # 1 twice: both rows go, and so do copies of "1"
    trades["parent_trade_id"] = pd.array([None, None, 1, 3, 4, None, 2], dtype="Int64")
    ds = dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    np.testing.assert_array_equal(ds.trades.trade_id, [2, 7])
    np.testing.assert_array_equal(ds.trades.parent, [-1, 0])
    written = pq.read_table(tmp_path / "trades.parquet").to_pandas()
    assert written["trade_id"].tolist() == [1, 3, 4, 5, 1]
    assert written["reason"].tolist() == [
        "trade_id: must be unique",
        "parent trade_id=1 quarantined",
        "parent trade_id=3 quarantined",
        "parent trade_id=4 quarantined",
        "trade_id: must be unique",
    ]


def test_all_trades_quarantined_is_an_error(tmp_path):
    trades = trades_frame()
    trades["amount"] = -1.0
    with pytest.raises(DataError, match=r"trades\.\(rows\): every row was quarantined"):
        dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    # the offending rows were still written for inspection
    assert pq.read_table(tmp_path / "trades.parquet").num_rows == 7


def test_partial_cycle_and_missing_parent(tmp_path):
    trades = trades_frame()
    # 4 and 5 copy each other (a cycle); 2 copies a trade that does not exist
    trades["parent_trade_id"] = pd.array([None, 99, 1, 5, 4, None, 6], dtype="Int64")
    ds = dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    np.testing.assert_array_equal(ds.trades.trade_id, [1, 3, 6, 7])
    np.testing.assert_array_equal(ds.trades.parent, [-1, 0, -1, 2])
    written = pq.read_table(tmp_path / "trades.parquet").to_pandas()
    assert written["trade_id"].tolist() == [2, 4, 5]
    assert written["reason"].tolist() == [
        "parent_trade_id: must reference an existing trade_id",
        "parent_trade_id: parent chains must not form a cycle",
        "parent_trade_id: parent chains must not form a cycle",
    ]


def test_table_level_problems_still_raise_in_quarantine_mode(tmp_path):
    trades = trades_frame().drop(columns=["amount"])
    with pytest.raises(DataError, match=r"trades\.amount: missing required column"):
        dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    trades = trades_frame()
    trades["open_time"] = "2024-01-01"
    with pytest.raises(DataError, match=r"trades\.open_time: wrong type: expected timestamp"):
        dataset_from_frames(trades, on_invalid="quarantine", quarantine_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_quarantine_from_files_is_deterministic(tmp_path):
    trades = trades_frame()
    trades.loc[2, "amount"] = -10.0
    write_dataset(tmp_path / "data", trades, partitions=3)
    first = load_dataset(tmp_path / "data", on_invalid="quarantine", quarantine_dir=tmp_path / "q1")
    report = validate_dataset(
        tmp_path / "data", on_invalid="quarantine", quarantine_dir=tmp_path / "q2"
    )
    assert (tmp_path / "q1" / "trades.parquet").read_bytes() == (
        tmp_path / "q2" / "trades.parquet"
    ).read_bytes()
    assert first.meta["quarantined"]["trades"] == 3
    assert report.quarantined["trades"] == 3
    assert "quarantined 3 rows:" in report.to_text()
    assert report.to_text().endswith("OK after quarantine")


def test_quarantine_dir_cannot_be_the_dataset(tmp_path):
    write_dataset(tmp_path, trades_frame())
    with pytest.raises(
        ParameterError, match=r"quarantine_dir: expected a directory other than the dataset"
    ):
        load_dataset(tmp_path, on_invalid="quarantine", quarantine_dir=tmp_path)


def test_error_mode_raises_where_quarantine_would_drop(tmp_path):
    trades = trades_frame()
    trades.loc[2, "amount"] = -10.0
    with pytest.raises(
        DataError, match=r"trades\.amount: must be finite and > 0 \(1 row; e\.g\. trade_id=3"
    ):
        dataset_from_frames(trades)


def test_quarantine_files_of_an_earlier_run_are_replaced(tmp_path):
    bad = trades_frame()
    bad.loc[2, "amount"] = -10.0
    follows = pd.DataFrame(
        {
            "follower_id": [30],
            "leader_id": [30],
            "start_time": pd.to_datetime(["2023-12-01"]),
            "end_time": pd.to_datetime([None]),
            "allocation": [100.0],
        }
    )
    q = tmp_path / "q"
    dataset_from_frames(bad, follows, on_invalid="quarantine", quarantine_dir=q)
    assert sorted(p.name for p in q.iterdir()) == ["follows.parquet", "trades.parquet"]
    (q / "notes.parquet").write_bytes(b"user file: never touched")
    dataset_from_frames(bad, on_invalid="quarantine", quarantine_dir=q)
    assert sorted(p.name for p in q.iterdir()) == ["notes.parquet", "trades.parquet"]
    dataset_from_frames(trades_frame(), on_invalid="quarantine", quarantine_dir=q)
    assert sorted(p.name for p in q.iterdir()) == ["notes.parquet"]
