"""Record kinds defined once: the Arrow schemas, tables and frames derived from them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ideaflow.data import NO_TIME, NS_PER_DAY, OPEN_END
from ideaflow.records import (
    NEGATIVE,
    AccountMetrics,
    Book,
    ComparisonRow,
    DailyPnl,
    DecisionRecord,
    PairedRow,
    columns_of,
    schema_of,
)
from ideaflow.results.frames import to_frame
from ideaflow.results.tables import (
    ACCOUNTS_SCHEMA,
    DECISIONS_SCHEMA,
    TRADES_SCHEMA,
    Names,
    accounts_table,
    book_table,
    daily_table,
    decisions_table,
    record_table,
    rows_table,
)

UTC = pa.timestamp("ns", tz="UTC")


def _book() -> Book:
    return Book(
        trade_id=np.array([5, 9], dtype=np.int64),
        account=np.array([1, 0], dtype=np.int32),
        instrument=np.array([0, 1], dtype=np.int32),
        side=np.array([1, -1], dtype=np.int8),
        open_time=np.array([0, NS_PER_DAY], dtype=np.int64),
        close_time=np.array([NS_PER_DAY, OPEN_END], dtype=np.int64),
        open_price=np.array([100.0, 50.0]),
        close_price=np.array([110.0, np.nan]),
        amount=np.array([1000.0, 20.0]),
        leverage=np.array([1.0, 2.0]),
        fee=np.array([1.0, 0.0]),
        pnl=np.array([99.0, np.nan]),
        ret=np.array([0.099, np.nan]),
        marked=np.array([False, False]),
        root_trade_id=np.array([-1, 5], dtype=np.int64),
        parent_trade_id=np.array([-1, 5], dtype=np.int64),
        hop=np.array([0, 1], dtype=np.int16),
    )


def test_the_written_schemas_are_the_records_fields() -> None:
    assert TRADES_SCHEMA.names == [
        "trade_id", "trader_id", "instrument", "side", "open_time", "close_time",
        "open_price", "close_price", "amount", "leverage", "fee", "pnl", "ret", "marked",
        "root_trade_id", "parent_trade_id", "hop",
    ]  # fmt: skip
    assert TRADES_SCHEMA.field("instrument").type == pa.dictionary(pa.int32(), pa.string())
    assert TRADES_SCHEMA.field("close_time").type == UTC
    assert ACCOUNTS_SCHEMA.names[0] == "trader_id"
    assert ACCOUNTS_SCHEMA.names[1:] == [c.name for _, c in columns_of(AccountMetrics)]
    # decisions name the same instrument type as trades (one definition)
    assert DECISIONS_SCHEMA.field("instrument").type == TRADES_SCHEMA.field("instrument").type
    assert schema_of(DailyPnl).names == ["trader_id", "day", "pnl"]
    assert len(schema_of(ComparisonRow)) == 44 and len(schema_of(PairedRow)) == 24


def test_a_book_as_its_table_by_hand() -> None:
    table = book_table(_book(), np.array([100, 200], dtype=np.int64), ("EURUSD", "GOLD"))
    assert table.schema == TRADES_SCHEMA
    rows = table.to_pylist()
    # account codes become trader ids, instrument codes names, missing markers nulls
    assert [r["trader_id"] for r in rows] == [200, 100]
    assert [r["instrument"] for r in rows] == ["EURUSD", "GOLD"]
    assert rows[1]["close_time"] is None and rows[1]["close_price"] is None
    assert rows[0]["root_trade_id"] is None and rows[1]["root_trade_id"] == 5
    # a NaN where NaN is no missing marker stays NaN (pnl of an unmarked open position)
    assert np.isnan(rows[1]["pnl"]) and rows[0]["pnl"] == 99.0
    frame = to_frame(table)
    assert str(frame["root_trade_id"].dtype) == "Int64"
    assert str(frame["open_time"].dtype) == "datetime64[ns, UTC]"


def test_accounts_daily_and_decisions_by_hand() -> None:
    metrics = AccountMetrics(
        **{n: np.array([1.0, 2.0]) for n, _ in columns_of(AccountMetrics) if "time" not in n}
        | {
            "n_trades": np.array([1, 0]),
            "n_social": np.array([0, 0]),
            "n_closed": np.array([1, 0]),
            "n_open": np.array([0, 0]),
            "first_time": np.array([0, NO_TIME]),
            "last_time": np.array([NS_PER_DAY, NO_TIME]),
        }
    )
    accounts = accounts_table(metrics, np.array([7, 8]))
    assert accounts.schema == ACCOUNTS_SCHEMA
    assert accounts.column("trader_id").to_pylist() == [7, 8]
    assert accounts.column("first_time").null_count == 1
    daily = daily_table(
        DailyPnl(np.array([1, 1], np.int32), np.array([0, 3]), np.array([1.5, -2.0])),
        np.array([7, 8]),
    )
    assert daily.column("trader_id").to_pylist() == [8, 8]
    assert daily.column("day").cast(pa.int64()).to_pylist() == [0, 3 * NS_PER_DAY]
    decisions = DecisionRecord(
        subject=np.array([0], np.int32),
        trade_id=np.array([11]),
        leader=None,  # type: ignore[arg-type]
        time=np.array([5]),
        instrument=np.array([1], np.int32),
        side=np.array([-1], np.int8),
        taken=np.array([True]),
        support=np.array([2], np.int32),
        n_evaluators=np.array([3], np.int32),
        size=np.array([1.0]),
        in_force=np.array([[1, -1, 0]], np.int32),
        rebalance_time=np.array([0]),
    )
    table = decisions_table(decisions, np.array([7, 8]), ("A", "B"))
    # no leaders: no leader_id column; the padded evaluator codes become a list of ids
    assert "leader_id" not in table.column_names
    assert table.column("in_force").to_pylist() == [[8, 7]]
    assert table.column("instrument").to_pylist() == ["B"]


def test_rows_table_takes_exactly_the_fields() -> None:
    row = {n: 0.5 for n, _ in columns_of(PairedRow)}
    row |= {"strategy_a": "diverse", "strategy_b": "isolation", "exposure": "matched"}
    row |= {"n_subjects": 3, "ci_method": "moving_block_10d"}
    table = rows_table(PairedRow, [row, row])
    assert table.schema == schema_of(PairedRow)
    assert table.column("strategy_a").to_pylist() == ["diverse", "diverse"]
    with pytest.raises(ValueError, match=r"extra \['surplus'\], missing \[\]"):
        rows_table(PairedRow, [row | {"surplus": 1.0}])
    del row["p_holm"]
    with pytest.raises(ValueError, match=r"missing \['p_holm'\]"):
        rows_table(PairedRow, [row])


def test_null_markers() -> None:
    book = _book()
    cols = dict(columns_of(Book))
    assert cols["root_trade_id"].missing is NEGATIVE
    mask = cols["root_trade_id"].null_mask(book.root_trade_id)
    assert mask is not None and mask.tolist() == [True, False]
    assert cols["trade_id"].null_mask(book.trade_id) is None
    assert cols["close_time"].null_mask(book.close_time).tolist() == [False, True]
    only = record_table(book, Names.of([1, 2], ("A", "B")), only=["hop", "trade_id"])
    assert only.column_names == ["hop", "trade_id"]
