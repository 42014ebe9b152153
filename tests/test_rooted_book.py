"""`RootedBook`: a book whose copies point at their root, read like a `Book`.

Hand-built rooted books are checked against the `Book` with the same rows written out in
full; a mirror replay's rooted book against its own gathered columns, its chunks against
the whole table, and the headline returns against those of the table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from builders import make_dataset, trade
from ideaflow.data import OPEN_END
from ideaflow.engine import ReplayConfig, account_metrics, daily_pnl, replay
from ideaflow.records import OWN, ROOT, Book, RootedBook, book_columns_held, field_names
from ideaflow.results.backtest import closed_returns
from ideaflow.results.tables import DeferredBookTable, book_chunks, book_table

TRADER_IDS = np.array([7, 8, 9], dtype=np.int64)
INSTRUMENTS = ("AAA", "BBB")
D = 86_400 * 10**9


def _rooted() -> RootedBook:
    """Roots 10 (account 0, closed) and 11 (account 1, open, marked); rows: 10, 11, a copy
    of 10 (account 2, amount 20) and a copy of 11 (account 0, amount 5)."""
    return RootedBook(
        own={
            "trade_id": np.array([10, 11, 12, 13], dtype=np.int64),
            "account": np.array([0, 1, 2, 0], dtype=np.int32),
            "amount": np.array([100.0, 50.0, 20.0, 5.0]),
            "fee": np.array([1.0, 0.5, 0.2, 0.05]),
            "pnl": np.array([9.0, 4.5, 1.8, 0.45]),
            "parent_trade_id": np.array([-1, -1, 10, 11], dtype=np.int64),
            "hop": np.array([0, 0, 1, 1], dtype=np.int16),
        },
        roots={
            "trade_id": np.array([10, 11], dtype=np.int64),
            "instrument": np.array([1, 0], dtype=np.int32),
            "side": np.array([1, -1], dtype=np.int8),
            "open_time": np.array([0, 5], dtype=np.int64),
            "close_time": np.array([D, OPEN_END], dtype=np.int64),
            "open_price": np.array([10.0, 20.0]),
            "close_price": np.array([11.0, np.nan]),
            "leverage": np.array([1.0, 2.0]),
            "marked": np.array([False, True]),
        },
        root_row=np.array([0, 1, 0, 1], dtype=np.int32),
    )


def _full() -> Book:
    """The same four positions, every column written out (`ret` = pnl / amount)."""
    pnl = np.array([9.0, 4.5, 1.8, 0.45])
    amount = np.array([100.0, 50.0, 20.0, 5.0])
    return Book(
        trade_id=np.array([10, 11, 12, 13], dtype=np.int64),
        account=np.array([0, 1, 2, 0], dtype=np.int32),
        instrument=np.array([1, 0, 1, 0], dtype=np.int32),
        side=np.array([1, -1, 1, -1], dtype=np.int8),
        open_time=np.array([0, 5, 0, 5], dtype=np.int64),
        close_time=np.array([D, OPEN_END, D, OPEN_END], dtype=np.int64),
        open_price=np.array([10.0, 20.0, 10.0, 20.0]),
        close_price=np.array([11.0, np.nan, 11.0, np.nan]),
        amount=amount,
        leverage=np.array([1.0, 2.0, 1.0, 2.0]),
        fee=np.array([1.0, 0.5, 0.2, 0.05]),
        pnl=pnl,
        ret=pnl / amount,
        marked=np.array([False, True, False, True]),
        root_trade_id=np.array([-1, -1, 10, 11], dtype=np.int64),
        parent_trade_id=np.array([-1, -1, 10, 11], dtype=np.int64),
        hop=np.array([0, 0, 1, 1], dtype=np.int16),
    )


def test_held_splits_the_book_columns() -> None:
    assert book_columns_held(OWN) == (
        "trade_id",
        "account",
        "amount",
        "fee",
        "pnl",
        "parent_trade_id",
        "hop",
    )
    assert book_columns_held(ROOT) == (
        "instrument",
        "side",
        "open_time",
        "close_time",
        "open_price",
        "close_price",
        "leverage",
        "marked",
    )


def test_a_rooted_book_reads_like_the_full_book() -> None:
    rooted, full = _rooted(), _full()
    assert len(rooted) == 4
    np.testing.assert_allclose(full.ret, 0.09)
    for name in field_names(Book):
        want = getattr(full, name)
        np.testing.assert_array_equal(getattr(rooted, name), want, err_msg=name)
        np.testing.assert_array_equal(rooted.column(name, slice(1, 3)), want[1:3])
        np.testing.assert_array_equal(rooted.column(name, [3, 0]), want[[3, 0]])
    taken = rooted.take(np.array([False, True, True, False]))
    assert isinstance(taken, Book) and taken.trade_id.tolist() == [11, 12]
    assert taken.root_trade_id.tolist() == [-1, 10] and taken.open_time.tolist() == [5, 0]
    # reading `ret` of some rows never writes into the book's own PnL
    rooted.column("ret", [0, 1])
    assert rooted.own["pnl"].tolist() == [9.0, 4.5, 1.8, 0.45]
    with pytest.raises(AttributeError, match="no Book column 'nope'"):
        rooted.nope  # noqa: B018


def test_tables_and_metrics_of_a_rooted_book_equal_the_full_books() -> None:
    rooted, full = _rooted(), _full()
    whole = book_table(full, TRADER_IDS, INSTRUMENTS)
    assert book_table(rooted, TRADER_IDS, INSTRUMENTS).equals(whole)
    chunks = list(book_chunks(rooted, TRADER_IDS, INSTRUMENTS, 3))
    assert [c.num_rows for c in chunks] == [3, 1]
    assert pa.concat_tables(chunks).equals(whole)
    # prices: instrument 1 (root 10's) at 10.5 on day 0, instrument 0 at 19 on day 0
    ds = make_dataset(
        [trade(1, 7, 0, None, 20.0, None, 1.0, instrument="AAA")],
        prices=[("AAA", 0, 19.0), ("BBB", 0, 10.5)],
    )
    for prices in (None, ds.prices):
        for kind in (account_metrics, daily_pnl):
            kwargs = {"prices": prices, "data_end": 2 * D}
            args = (3, 1_000.0) if kind is account_metrics else (3,)
            got, want = kind(rooted, *args, **kwargs), kind(full, *args, **kwargs)
            for name in field_names(got):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    # the copy of root 10 (account 2, amount 20, long): day-0 mark 20 * (10.5/10 - 1) = 1,
    # then the close at D adds 1.8 - 1 = 0.8 (a day-end mark is at D - 1, day 0)
    daily = daily_pnl(rooted, 3, prices=ds.prices, data_end=2 * D)
    rows = np.flatnonzero(daily.account == 2)
    assert daily.day[rows].tolist() == [0, 1]
    np.testing.assert_allclose(daily.pnl[rows], [1.0, 0.8])


def test_rooted_book_rejects_mismatched_columns() -> None:
    rooted = _rooted()
    with pytest.raises(ValueError, match="expected own columns"):
        RootedBook({"trade_id": rooted.own["trade_id"]}, rooted.roots, rooted.root_row)
    short = {**rooted.own, "fee": rooted.own["fee"][:2]}
    with pytest.raises(ValueError, match=r"found fee \(2\)"):
        RootedBook(short, rooted.roots, rooted.root_row)


def test_mirror_replay_gives_a_rooted_book_whose_returns_match_its_table() -> None:
    trades = [
        trade(1, 1, 0, D, 100.0, 110.0, 1_000.0, fee=2.0),
        trade(2, 1, 5, None, 100.0, None, 500.0),
        trade(3, 2, 6, 2 * D, 100.0, 90.0, 300.0, fee=1.0),
    ]
    follows = [(2, 1, 0, None, 2_000.0), (3, 1, 0, None, 1_000.0), (3, 2, 0, None, 500.0)]
    ds = make_dataset(trades, follows)
    book = replay(ds, ReplayConfig(strategy="mirror")).book
    assert isinstance(book, RootedBook)
    # 3 roots; trade 1 -> accounts 2, 3; trade 2 -> 2, 3; trade 3 -> 3
    assert len(book) == 8 and book.root_row.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert book.root_trade_id.tolist() == [-1, 1, 1, -1, 2, 2, -1, 3]
    deferred = DeferredBookTable(book, ds.trader_ids, ds.instruments)
    got = deferred.closed_returns()
    want = closed_returns(deferred())
    for label in ("single", "social"):
        np.testing.assert_array_equal(got[label], want[label])
    assert got["single"].shape == (2,) and got["social"].shape == (3,)
    np.testing.assert_allclose(got["single"], [0.1 - 2.0 / 1_000.0, -0.1 - 1.0 / 300.0])
