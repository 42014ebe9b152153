"""Kernels of the copy replay and of position accounting, called directly on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from ideaflow.kernels.accounting import (
    book_pnl_nb,
    chain_roots_nb,
    copy_rates_nb,
    daily_price_table_nb,
    first_price_day_nb,
    last_price_at_nb,
    position_pnl_nb,
)
from ideaflow.kernels.fanout import mirror_replay_depth1_nb
from ideaflow.kernels.order import close_order_nb
from ideaflow.kernels.replay import (
    STATUS_OK,
    assemble_rooted_book_nb,
    count_hop1_candidates_nb,
    mirror_replay_nb,
)

END = np.iinfo(np.int64).max
D = 86_400 * 10**9


def test_chain_roots_follows_parents_in_any_row_order():
    root, hop = chain_roots_nb(np.array([-1, 0, 1, -1, 3, 1]))
    assert root.tolist() == [0, 0, 0, 3, 3, 0]
    assert hop.tolist() == [0, 1, 2, 0, 1, 2]
    # a parent stored after its child (same open time, higher id)
    root, hop = chain_roots_nb(np.array([2, -1, 1]))
    assert root.tolist() == [1, 1, 1]
    assert hop.tolist() == [2, 0, 1]


def test_position_pnl_and_book_pnl():
    pnl = position_pnl_nb(
        np.array([1, -1], dtype=np.int8),
        np.array([2.0, 3.0]),
        np.array([1000.0, 500.0]),
        np.array([100.0, 50.0]),
        np.array([110.0, 55.0]),
        np.array([3.0, 1.5]),
    )
    np.testing.assert_allclose(pnl, [197.0, -151.5])
    marks = np.array([120.0, np.nan])  # instrument 0 priced, 1 not
    pnl, ret, marked, exit_price = book_pnl_nb(
        np.array([1, 1, -1], dtype=np.int8),
        np.ones(3),
        np.array([1000.0, 1000.0, 500.0]),
        np.array([100.0, 100.0, 100.0]),
        np.array([90.0, np.nan, np.nan]),
        np.array([1.0, 2.0, 5.0]),
        np.array([D, END, END]),
        np.array([1, 0, 1], dtype=np.int32),
        marks,
    )
    np.testing.assert_allclose(pnl, [-101.0, 198.0, 0.0])  # closed; marked; unmarked (no fee)
    np.testing.assert_allclose(ret, [-0.101, 0.198, 0.0])
    assert marked.tolist() == [False, True, False]
    assert np.isnan(exit_price[2]) and exit_price[1] == 120.0


def test_price_lookups():
    time = np.array([0, D + 5, 3 * D, 2 * D], dtype=np.int64)  # instrument 0: 3 bars, 1: one
    price = np.array([10.0, 11.0, 12.0, 50.0])
    indptr = np.array([0, 3, 4, 4], dtype=np.int64)  # instrument 2 has no prices
    last = last_price_at_nb(time, price, indptr, np.int64(2 * D))
    assert last[0] == 11.0 and last[1] == 50.0 and np.isnan(last[2])
    assert first_price_day_nb(time, indptr).tolist() == [0, 2, END]
    table = daily_price_table_nb(time, price, indptr, np.int64(0), np.int64(4))
    np.testing.assert_array_equal(table[0], [10.0, 11.0, 11.0, 12.0])
    np.testing.assert_array_equal(table[1], [np.nan, np.nan, 50.0, 50.0])
    assert np.isnan(table[2]).all()


def _follows(rows, n_traders):
    """CSR follows from (follower, leader, start, end, allocation), sorted as data.py says."""
    rows = sorted(rows, key=lambda r: (r[1], r[2], r[0]))
    leader = np.array([r[1] for r in rows], dtype=np.int32)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(leader, minlength=n_traders))))
    return (
        indptr.astype(np.int64),
        np.array([r[0] for r in rows], dtype=np.int32),
        np.array([r[2] for r in rows], dtype=np.int64),
        np.array([r[3] for r in rows], dtype=np.int64),
        np.array([r[4] for r in rows], dtype=np.float64),
    )


def _run(trader, open_time, close_time, amount, pnl, follows, n_traders, depth=1, capacity=1024):
    """mirror_replay_nb on lists; the roots' PnL also gives the copies' rate (pnl/amount)."""
    trader = np.array(trader, dtype=np.int32)
    open_time = np.array(open_time, dtype=np.int64)
    close_time = np.array(close_time, dtype=np.int64)
    amount = np.array(amount, dtype=np.float64)
    pnl = np.array(pnl, dtype=np.float64)
    f_indptr, f_follower, f_start, f_end, f_alloc = _follows(follows, n_traders)
    leads = np.diff(f_indptr) > 0
    active = np.flatnonzero(leads[trader])
    ac = close_time[active]
    later = np.flatnonzero((ac != END) & (ac > open_time[active]))
    close_order = later[np.argsort(ac[later], kind="stable")]
    args = (
        active,
        trader,
        open_time,
        amount,
        pnl,
        pnl / np.maximum(amount, 1e-300),
        close_time == open_time,
        close_order,
        close_time,
        f_indptr,
        f_follower,
        f_start,
        f_end,
        f_alloc,
        np.full(n_traders, 10_000.0),
    )
    out = mirror_replay_nb(*args, np.int64(depth), np.int64(capacity))
    if depth == 1:
        # the engine's depth-1 path must give the general kernel's copies bit for bit
        _assert_depth1_matches(out, mirror_replay_depth1_nb(*args))
    return out


def _assert_depth1_matches(general, fast):
    copy_start, acct, amount, n, skipped, status = fast
    assert status == general[7] == STATUS_OK
    assert n == general[5] and skipped == general[6]
    np.testing.assert_array_equal(copy_start, general[0])
    np.testing.assert_array_equal(acct, general[1][:n])
    np.testing.assert_array_equal(amount, general[2][:n])


def test_mirror_kernel_sizes_with_realised_equity_and_closes_first():
    # trader 0 leads 1 (allocation 3000); root 0 closes at D with +2000, root 1 opens at D
    out = _run(
        trader=[0, 0],
        open_time=[0, D],
        close_time=[D, 2 * D],
        amount=[10_000.0, 600.0],
        pnl=[2000.0, -60.0],
        follows=[(1, 0, 0, END, 3000.0)],
        n_traders=2,
    )
    copy_start, acct, amount, parent, hop, n, skipped, status = out
    assert status == STATUS_OK and n == 2 and skipped == 0
    assert copy_start.tolist() == [0, 1, 2]
    assert acct[:n].tolist() == [1, 1]
    np.testing.assert_allclose(amount[:n], [3000.0, 150.0])  # 600 * 3000 / 12,000
    assert len(parent) == 0 and len(hop) == 0  # depth 1: parent = root, hop 1


def test_mirror_kernel_bankrupt_source_makes_no_copies():
    # root 0 (t=0) is copied to 1 and 2 (0.5 each: 5000 * 1 / 10,000); it loses 10,000,
    # so trader 0 has E = 0 when it opens root 1: no copies, 2 skipped
    out = _run(
        trader=[0, 0],
        open_time=[0, 2 * D],
        close_time=[D, 3 * D],
        amount=[5000.0, 100.0],
        pnl=[-10_000.0, 10.0],
        follows=[(1, 0, 0, END, 1.0), (2, 0, 0, END, 1.0)],
        n_traders=3,
    )
    copy_start, acct, amount = out[0], out[1], out[2]
    assert sorted(acct[:2].tolist()) == [1, 2]
    assert out[5] == 2 and out[6] == 2
    assert copy_start.tolist() == [0, 2, 2]
    np.testing.assert_allclose(amount[:2], [0.5, 0.5])


def test_mirror_kernel_growth_matches_a_large_capacity():
    rng = np.random.default_rng(3)
    n_traders = 12
    follows = []
    for f in range(n_traders):
        for leader in rng.choice(n_traders, size=5, replace=False):
            if leader != f:
                follows.append((f, int(leader), int(rng.integers(0, 5)) * D, END, 100.0))
    n = 40
    open_time = np.sort(rng.integers(0, 20, size=n)) * D
    close_time = open_time + rng.integers(0, 5, size=n) * D
    args = dict(
        trader=rng.integers(0, n_traders, size=n).tolist(),
        open_time=open_time.tolist(),
        close_time=close_time.tolist(),
        amount=rng.uniform(100, 1000, size=n).tolist(),
        pnl=rng.uniform(-50, 50, size=n).tolist(),
        follows=follows,
        n_traders=n_traders,
        depth=3,
    )
    small = _run(capacity=16, **args)
    large = _run(capacity=100_000, **args)
    n_small = small[5]
    assert n_small == large[5] and n_small > 16
    assert small[6] == large[6]
    np.testing.assert_array_equal(small[0], large[0])
    for k in range(1, 5):
        np.testing.assert_array_equal(small[k][:n_small], large[k][:n_small])
    # no account reached twice by one root, never the root's trader
    for r in range(n):
        accts = small[1][small[0][r] : small[0][r + 1]]
        assert len(set(accts.tolist())) == len(accts)
        assert args["trader"][r] not in accts.tolist()


def test_mirror_kernel_zero_duration_root_closes_after_the_opens():
    # root 0 opens and closes at D (+1000): root 1 at D sizes with 10,000, root 2 at 2D
    # with 11,000
    out = _run(
        trader=[0, 0, 0],
        open_time=[D, D, 2 * D],
        close_time=[D, 3 * D, 3 * D],
        amount=[10_000.0, 1000.0, 1100.0],
        pnl=[1000.0, 0.0, 0.0],
        follows=[(1, 0, 0, END, 1000.0)],
        n_traders=2,
    )
    np.testing.assert_allclose(out[2][: out[5]], [1000.0, 100.0, 100.0])


def test_count_hop1_candidates():
    f_indptr, _, f_start, f_end, _ = _follows(
        [(1, 0, 0, 5, 1.0), (2, 0, 3, END, 1.0), (2, 1, 0, END, 1.0)], 3
    )
    count = count_hop1_candidates_nb(
        np.array([0, 1, 2]),
        np.array([0, 0, 1], dtype=np.int32),
        np.array([0, 4, 9], dtype=np.int64),
        f_indptr,
        f_start,
        f_end,
    )
    assert count == 1 + 2 + 1


def test_assemble_orders_roots_then_copies_per_open_time():
    # roots 10 (t=0, 1 copy), 11 (t=0, no copy), 12 (t=5, 2 copies, the second a hop 2);
    # every root returns 10% gross; fees scale with amount / parent amount
    copy_start = np.array([0, 1, 1, 3], dtype=np.int64)
    group_start = np.array([0, 2, 3], dtype=np.int64)
    out = assemble_rooted_book_nb(
        group_start,
        copy_start,
        np.array([10, 11, 12], dtype=np.int64),
        np.array([0, 1, 0], dtype=np.int32),
        np.array([100.0, 50.0, 200.0]),
        np.array([5.0, 0.0, 20.0]),
        np.array([5.0, 0.0, 0.0]),
        np.array([0.1, 0.0, 0.1]),
        np.array([True, False, True]),
        np.array([2, 2, 3], dtype=np.int32),
        np.array([10.0, 20.0, 2.0]),
        np.array([-1, -1, 1], dtype=np.int32),
        np.array([1, 1, 2], dtype=np.int8),
        np.int64(100),
    )
    trade_id, account, amount, fee, pnl, parent_id, hop, root_row = out
    assert trade_id.tolist() == [10, 11, 100, 12, 101, 102]
    assert account.tolist() == [0, 1, 2, 0, 2, 3]
    assert amount.tolist() == [100.0, 50.0, 10.0, 200.0, 20.0, 2.0]
    assert root_row.tolist() == [0, 1, 0, 2, 2, 2]
    assert parent_id.tolist() == [-1, -1, 10, -1, 12, 101]
    assert hop.tolist() == [0, 0, 1, 0, 1, 2]
    # fees: 5 * 10/100 = 0.5; 20 * 20/200 = 2; 2 * 2/20 = 0.2 (from its parent copy)
    np.testing.assert_allclose(fee, [5.0, 0.0, 0.5, 20.0, 2.0, 0.2])
    # copy PnL = amount * 0.1 - fee: 0.5, 0, 0; roots keep their given PnL
    np.testing.assert_allclose(pnl, [5.0, 0.0, 0.5, 0.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
def test_mirror_kernel_empty_inputs(depth):
    out = _run([], [], [], [], [], [], n_traders=1, depth=depth)
    assert out[5] == 0 and out[0].tolist() == [0]


def test_mirror_kernel_wide_level_sorts_sources_by_code():
    # trader 0 is followed by 1..100 (a hop-2 level of 100 sources: the merge-sort path);
    # each i follows-on to i + 100, and 300 follows both 50 and 20: 20 claims it
    follows = [(i, 0, 0, END, 10.0) for i in range(100, 0, -1)]
    follows += [(i + 100, i, 0, END, 10.0) for i in range(1, 101)]
    follows += [(300, 50, 0, END, 10.0), (300, 20, 0, END, 10.0)]
    out = _run([0], [5], [9], [1000.0], [0.0], follows, n_traders=301, depth=2)
    copy_start, acct, amount, parent, hop, n = out[:6]
    assert n == 100 + 101
    hop2 = {int(acct[k]): int(acct[parent[k]]) for k in range(n) if hop[k] == 2}
    assert hop2[300] == 20
    assert all(hop2[i + 100] == i for i in range(1, 101))
    # hop-2 copies are generated by source in ascending code order
    sources = [int(acct[parent[k]]) for k in range(n) if hop[k] == 2]
    assert sources == sorted(sources)


@pytest.mark.parametrize("seed", range(12))
def test_depth1_kernel_equals_the_general_kernel_on_random_platforms(seed):
    # dense random platforms: leaders following leaders (credits), cycles, bankrupt
    # leaders (large losses), zero-duration roots, never-closed roots, follow windows
    rng = np.random.default_rng(seed)
    n_traders = int(rng.integers(3, 15))
    follows = []
    for fo in range(n_traders):
        for leader in rng.choice(n_traders, size=int(rng.integers(0, 4)), replace=False):
            if leader != fo:
                start = int(rng.integers(0, 6)) * D
                end = END if rng.random() < 0.5 else start + int(rng.integers(1, 8)) * D
                follows.append((fo, int(leader), start, end, float(rng.uniform(50, 5000))))
    n = int(rng.integers(1, 80))
    open_time = np.sort(rng.integers(0, 12, size=n)) * D
    duration = rng.integers(0, 4, size=n) * D
    close_time = np.where(rng.random(n) < 0.15, END, open_time + duration)
    amount = rng.uniform(100, 5000, size=n)
    pnl = amount * rng.uniform(-3.0, 1.0, size=n)  # some leaders go bankrupt
    out = _run(
        trader=rng.integers(0, n_traders, size=n).tolist(),
        open_time=open_time.tolist(),
        close_time=close_time.tolist(),
        amount=amount.tolist(),
        pnl=np.where(close_time == END, 0.0, pnl).tolist(),
        follows=follows,
        n_traders=n_traders,
    )
    assert out[7] == STATUS_OK


def test_depth1_kernel_credits_a_leaders_received_copies():
    # 0 leads 1 (alloc 5000), 1 leads 2 (alloc 1000). Root A of 0 (amount 2000, +50%)
    # is copied to 1 with 2000 * 5000 / 10,000 = 1000 and closes at D: 1's equity becomes
    # 10,000 + 500 = 10,500. Root B of 1 at 2D (amount 2100) is copied to 2 with
    # 2100 * 1000 / 10,500 = 200.
    out = _run(
        trader=[0, 1],
        open_time=[0, 2 * D],
        close_time=[D, 3 * D],
        amount=[2000.0, 2100.0],
        pnl=[1000.0, 0.0],
        follows=[(1, 0, 0, END, 5000.0), (2, 1, 0, END, 1000.0)],
        n_traders=3,
    )
    n = out[5]
    assert out[1][:n].tolist() == [1, 2]
    np.testing.assert_allclose(out[2][:n], [1000.0, 200.0])


@pytest.mark.parametrize("n", [0, 1, 40, 5_000])
def test_close_order_equals_a_stable_argsort_of_close_times(n):
    # ties, roots still open, zero-duration roots, and a burst of closes at one instant
    # (a bucket beyond the insertion-sort size)
    rng = np.random.default_rng(n)
    open_time = np.sort(rng.integers(0, 1000, size=n)) * D
    close_time = open_time + rng.integers(0, 30, size=n) * D
    close_time[rng.random(n) < 0.1] = END
    close_time[rng.random(n) < 0.1] = 2_000 * D
    active = np.flatnonzero(rng.random(n) < 0.8)
    ac = close_time[active]
    later = np.flatnonzero((ac != END) & (ac > open_time[active]))
    expected = later[np.argsort(ac[later], kind="stable")]
    got = close_order_nb(active, open_time, close_time)
    np.testing.assert_array_equal(got, expected)


def test_copy_rates_by_hand():
    # short x2 from 100 to 110: gross -0.2; fee 1 on 50 adds -0.02; no exit price: zeros
    valued, gross, rate = copy_rates_nb(
        np.array([-1, 1], dtype=np.int8),
        np.array([2.0, 1.0]),
        np.array([50.0, 10.0]),
        np.array([100.0, 100.0]),
        np.array([1.0, 0.5]),
        np.array([110.0, np.nan]),
    )
    assert valued.tolist() == [True, False]
    np.testing.assert_allclose(gross, [-0.2, 0.0])
    np.testing.assert_allclose(rate, [-0.22, 0.0])
