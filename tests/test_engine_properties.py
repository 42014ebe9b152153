"""Hypothesis properties of the replay engine (docs/contract.md §3-4).

Row order of the input does not matter; a root reaches an account at most once and never
its own trader; copies close with their parents; money is conserved.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import make_dataset
from ideaflow.data import OPEN_END
from ideaflow.engine import ReplayConfig, daily_pnl, replay
from ideaflow.records import Book, RootedBook, field_names

H = 3_600 * 10**9
TRADERS = [3, 5, 8, 13, 21]


@st.composite
def platforms(draw):
    n = draw(st.integers(1, 14))
    trades = []
    for k in range(n):
        open_h = draw(st.integers(0, 60))
        kind = draw(st.sampled_from(["open", "zero", "later", "later"]))
        close_h = (
            None
            if kind == "open"
            else open_h
            if kind == "zero"
            else open_h + draw(st.integers(1, 60))
        )
        op = draw(st.floats(50, 150))
        trades.append(
            dict(
                trade_id=draw(st.integers(0, 10**6)) * 16 + k,  # unique ids
                trader=draw(st.sampled_from(TRADERS)),
                instrument=draw(st.sampled_from(["X", "Y"])),
                side=draw(st.sampled_from([-1, 1])),
                open_time=open_h * H,
                close_time=None if close_h is None else close_h * H,
                open_price=op,
                close_price=None if close_h is None else op * draw(st.floats(0.5, 1.5)),
                amount=draw(st.floats(10, 8000)),
                leverage=draw(st.sampled_from([1.0, 3.0, 10.0])),
                fee=draw(st.sampled_from([0.0, 1.5, 7.0])),
            )
        )
    follows = []
    for _ in range(draw(st.integers(0, 12))):
        follower, leader = draw(st.permutations(TRADERS))[:2]
        start = draw(st.integers(0, 60)) * H
        end = draw(st.one_of(st.none(), st.integers(1, 40).map(lambda h, s=start: s + h * H)))
        overlap = any(
            f[0] == follower
            and f[1] == leader
            and f[2] < (end or OPEN_END)
            and start < (f[3] or OPEN_END)
            for f in follows
        )
        if not overlap:
            follows.append((follower, leader, start, end, draw(st.floats(10, 5000))))
    prices = draw(st.one_of(st.none(), st.just([("X", 5 * H, 100.0), ("X", 50 * H, 120.0)])))
    depth = draw(st.integers(1, 4))
    perm_t = draw(st.permutations(range(len(trades))))
    perm_f = draw(st.permutations(range(len(follows))))
    return trades, follows, prices, depth, perm_t, perm_f


def same_book(a: Book | RootedBook, b: Book | RootedBook) -> None:
    for name in field_names(Book):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(platforms())
def test_row_order_does_not_change_results(platform):
    trades, follows, prices, depth, perm_t, perm_f = platform
    config = ReplayConfig(strategy="mirror", depth=depth)
    first = replay(make_dataset(trades, follows, prices), config)
    shuffled = make_dataset([trades[i] for i in perm_t], [follows[i] for i in perm_f], prices)
    second = replay(shuffled, config)
    same_book(first.book, second.book)
    for name in first.metrics.__dataclass_fields__:
        np.testing.assert_array_equal(
            getattr(first.metrics, name), getattr(second.metrics, name), err_msg=name
        )
    assert first.counts == second.counts


@SETTINGS
@given(platforms())
def test_copy_invariants(platform):
    trades, follows, prices, depth, _, _ = platform
    ds = make_dataset(trades, follows, prices)
    book = replay(ds, ReplayConfig(strategy="mirror", depth=depth)).book
    row_of = {int(t): i for i, t in enumerate(book.trade_id)}
    copies = np.flatnonzero(book.hop > 0)
    assert np.all(book.hop <= depth)
    assert np.all(book.root_trade_id[book.hop == 0] == -1)
    # a root reaches an account at most once, never its own trader
    pairs = set()
    for i in copies:
        root = row_of[int(book.root_trade_id[i])]
        parent = row_of[int(book.parent_trade_id[i])]
        key = (int(book.root_trade_id[i]), int(book.account[i]))
        assert key not in pairs
        pairs.add(key)
        assert book.account[i] != book.account[root]
        assert book.hop[i] == book.hop[parent] + 1
        assert book.hop[root] == 0
        # copies open and close with their parents (and roots): same times and prices
        for col in ("open_time", "close_time", "instrument", "side"):
            assert getattr(book, col)[i] == getattr(book, col)[parent]
        np.testing.assert_equal(book.close_price[i], book.close_price[root])
        np.testing.assert_equal(book.open_price[i], book.open_price[root])
        assert book.marked[i] == book.marked[root]
        # every copy of a root has the root's return (PnL is 0 when unmarked)
        if book.pnl[root] != 0.0 or book.marked[root] or book.close_time[root] != OPEN_END:
            np.testing.assert_allclose(book.ret[i], book.ret[root], rtol=1e-9, atol=1e-12)
        else:
            assert book.pnl[i] == 0.0
        np.testing.assert_allclose(
            book.fee[i] / book.amount[i], book.fee[root] / book.amount[root], rtol=1e-9, atol=1e-15
        )


@SETTINGS
@given(platforms())
def test_money_is_conserved(platform):
    trades, follows, prices, depth, _, _ = platform
    ds = make_dataset(trades, follows, prices)
    for strategy in ("actual", "mirror"):
        res = replay(ds, ReplayConfig(strategy=strategy, depth=depth))
        m, book = res.metrics, res.book
        np.testing.assert_allclose(m.pnl.sum(), book.pnl.sum(), rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(m.final_equity, m.initial_equity + m.pnl, rtol=1e-12)
        per_account = np.bincount(book.account, weights=book.pnl, minlength=ds.n_traders)
        np.testing.assert_allclose(m.pnl, per_account, rtol=1e-9, atol=1e-6)
        daily = daily_pnl(book, ds.n_traders, prices=ds.prices, data_end=ds.data_end)
        account, day, pnl = daily.account, daily.day, daily.pnl
        daily_sum = np.bincount(account, weights=pnl, minlength=ds.n_traders)
        np.testing.assert_allclose(daily_sum, m.pnl, rtol=1e-9, atol=1e-6)
        assert np.all(np.diff(account) >= 0)
        same = np.diff(account) == 0
        assert np.all(np.diff(day)[same] > 0)
        assert m.n_trades.sum() == len(book)
        assert np.all(m.max_drawdown >= 0)
