"""Per-account kernels: grouping by account, metrics, daily PnL, equity index."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ideaflow.kernels.metrics import (
    FLAG_CLOSED,
    FLAG_MARKED,
    FLAG_SOCIAL,
    NO_TIME,
    account_metrics_nb,
    daily_pnl_nb,
    equity_at_nb,
    equity_index_nb,
    group_positions_nb,
    lower_bound_nb,
    upper_bound_nb,
)

END = np.iinfo(np.int64).max
D = 86_400 * 10**9
H = 3_600 * 10**9
NO_ROOTS = np.zeros(0, dtype=np.int32)  # every position is its own root
NO_MARKS = (
    False,
    np.zeros((0, 0)),
    np.int64(0),
    np.zeros(0, dtype=np.int64),
    NO_ROOTS,
    np.zeros(0, dtype=np.int32),
    np.zeros(0),
    np.zeros(0),
    np.zeros(0),
)


def _group(
    account, n_accounts, open_time, close_time, pnl, social=None, marked=None, end=0, roots=None
):
    n = len(account)
    return group_positions_nb(
        np.asarray(account, dtype=np.int32),
        NO_ROOTS if roots is None else np.asarray(roots, dtype=np.int32),
        np.int64(n_accounts),
        np.asarray(open_time, dtype=np.int64),
        np.asarray(close_time, dtype=np.int64),
        np.asarray(pnl, dtype=np.float64),
        np.zeros(n, dtype=np.bool_) if social is None else np.asarray(social),
        np.zeros(n, dtype=np.bool_) if marked is None else np.asarray(marked),
        np.int64(end),
    )


# one counting pass / two radix passes / two radix passes over several parallel chunks
@pytest.mark.parametrize(("n_accounts", "n"), [(5, 50_000), (70_000, 50_000), (9_000, 700_000)])
def test_group_positions_is_a_stable_sort_by_account(n_accounts, n):
    rng = np.random.default_rng(n_accounts)
    account = rng.integers(0, n_accounts, size=n).astype(np.int32)
    open_time = np.arange(n, dtype=np.int64)
    close_time = np.where(rng.random(n) < 0.1, END, open_time + 7)
    pnl = rng.normal(size=n)
    social = rng.random(n) < 0.3
    indptr, records = _group(account, n_accounts, open_time, close_time, pnl, social, end=10**9)
    order = np.argsort(account, kind="stable")
    assert (
        indptr.tolist()
        == np.concatenate(([0], np.cumsum(np.bincount(account, minlength=n_accounts)))).tolist()
    )
    np.testing.assert_array_equal(records["row"], order)
    np.testing.assert_array_equal(records["pnl"], pnl[order])
    np.testing.assert_array_equal(records["open_time"], open_time[order])
    ends = np.where(close_time == END, 10**9, close_time)[order]
    np.testing.assert_array_equal(records["end_time"], ends)
    flags = records["flags"]
    np.testing.assert_array_equal((flags & FLAG_CLOSED) > 0, (close_time != END)[order])
    np.testing.assert_array_equal((flags & FLAG_SOCIAL) > 0, social[order])
    assert not np.any(flags & FLAG_MARKED)


def test_group_positions_reads_root_columns_through_root_row():
    # roots 0 (open 10, closed at 50) and 1 (open 20, open, marked); positions: root 0,
    # root 1, a copy of 0 and a copy of 1 (the copies in accounts 2 and 0)
    indptr, records = _group(
        [1, 0, 2, 0],
        3,
        [10, 20],
        [50, END],
        [1.0, 2.0, 3.0, 4.0],
        social=np.array([False, False, True, True]),
        marked=np.array([False, True]),
        end=99,
        roots=[0, 1, 0, 1],
    )
    assert indptr.tolist() == [0, 2, 3, 4]
    assert records["row"].tolist() == [1, 3, 0, 2]
    assert records["open_time"].tolist() == [20, 20, 10, 10]
    assert records["end_time"].tolist() == [99, 99, 50, 50]
    assert records["pnl"].tolist() == [2.0, 4.0, 1.0, 3.0]
    flags = records["flags"]
    assert ((flags & FLAG_CLOSED) > 0).tolist() == [False, False, True, True]
    assert ((flags & FLAG_MARKED) > 0).tolist() == [True, True, False, False]
    assert ((flags & FLAG_SOCIAL) > 0).tolist() == [False, True, False, True]


def test_day_end_marks_of_a_copy_use_its_root_and_its_own_amount():
    # root 0: long, leverage 2, open price 100, amount 1000; its copy (account 1) has
    # amount 250. Day-end price 110 on day 0, close on day 1 at +X: the copy's day-0
    # mark is 1 * 2 * 250 * (110 / 100 - 1) = +50, the root's +200
    indptr, records = _group([0, 1], 2, [H], [D + H], [300.0, 75.0], end=D + H, roots=[0, 0])
    marks = (
        True,
        np.array([[110.0, 115.0]]),
        np.int64(0),
        np.array([0], dtype=np.int64),
        np.array([0, 0], dtype=np.int32),
        np.array([0], dtype=np.int32),
        np.array([2.0]),
        np.array([1000.0, 250.0]),
        np.array([100.0]),
    )
    account, day, pnl = daily_pnl_nb(indptr, records, marks)
    assert account.tolist() == [0, 0, 1, 1] and day.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(pnl, [200.0, 100.0, 50.0, 25.0])


def test_account_metrics_on_a_hand_path():
    # account 0: E0 = 1000; +100 day 1, -220 day 1 (same instant as nothing else), +50 day 3
    # E: 1100 (peak), 880 (dd 0.2), 930. Account 1: no positions.
    indptr, records = _group(
        [0, 0, 0, 0],
        2,
        [0, 0, H, 2 * D],
        [D, D + H, 3 * D, END],
        [100.0, -220.0, 50.0, 0.0],
        social=np.array([False, True, False, False]),
        end=3 * D,
    )
    out = account_metrics_nb(indptr, records, np.array([1000.0, 500.0]), math.sqrt(365.0), NO_MARKS)
    final, pnl, n_trades, n_social, n_closed, n_open, win, mdd, sharpe, first, last = out
    np.testing.assert_allclose(final, [930.0, 500.0])
    np.testing.assert_allclose(pnl, [-70.0, 0.0])
    assert n_trades.tolist() == [4, 0] and n_social.tolist() == [1, 0]
    assert n_closed.tolist() == [3, 0] and n_open.tolist() == [1, 0]
    assert win[0] == pytest.approx(2 / 3) and np.isnan(win[1])
    assert mdd.tolist() == [pytest.approx(0.2), 0.0]
    # days 0..3: returns 0, (880 - 1000) / 1000 = -0.12, 0, 50 / 880
    rets = np.array([0.0, -0.12, 0.0, 50 / 880])
    expected = rets.mean() / rets.std(ddof=1) * math.sqrt(365.0)
    assert sharpe[0] == pytest.approx(expected) and np.isnan(sharpe[1])
    assert first.tolist() == [0, NO_TIME]
    assert last.tolist() == [3 * D, NO_TIME]


def test_day_end_marks_through_the_marks_tuple():
    # one long position (scale 1000, open 100) from day 0 to its close on day 2 (+100);
    # day-end prices 80 and 120: marks -200, +400 (to +200), then close -100 (to +100)
    indptr, records = _group([0], 1, [H], [2 * D + H], [100.0], end=2 * D + H)
    table = np.array([[80.0, 120.0, 120.0]])
    marks = (
        True,
        table,
        np.int64(0),
        np.array([0], dtype=np.int64),
        NO_ROOTS,
        np.array([0], dtype=np.int32),
        np.array([1.0]),  # side * leverage
        np.array([1000.0]),  # amount
        np.array([100.0]),
    )
    account, day, pnl = daily_pnl_nb(indptr, records, marks)
    assert account.tolist() == [0, 0, 0] and day.tolist() == [0, 1, 2]
    np.testing.assert_allclose(pnl, [-200.0, 400.0, -100.0])
    out = account_metrics_nb(indptr, records, np.array([10_000.0]), 1.0, marks)
    assert out[7][0] == pytest.approx(0.02)
    # without marks: one realised day
    account, day, pnl = daily_pnl_nb(indptr, records, NO_MARKS)
    assert day.tolist() == [2] and pnl.tolist() == [100.0]


def test_daily_pnl_sums_events_per_day_and_skips_unmarked_open():
    indptr, records = _group(
        [1, 0, 1, 1],
        3,
        [0, 0, 0, 0],
        [D + 1, 2 * D, D + 5, END],
        [1.0, 2.0, 3.0, 0.0],
        end=5 * D,
    )
    account, day, pnl = daily_pnl_nb(indptr, records, NO_MARKS)
    assert account.tolist() == [0, 1] and day.tolist() == [2, 1]
    np.testing.assert_allclose(pnl, [2.0, 4.0])


def test_equity_index_sorts_closes_and_answers_at_or_before():
    account = np.array([0, 0, 1, 0], dtype=np.int32)
    close_time = np.array([5, 2, 3, END], dtype=np.int64)
    pnl = np.array([10.0, -1.0, 7.0, 99.0])
    indptr, times, cum = equity_index_nb(account, close_time, pnl, np.int64(2))
    assert indptr.tolist() == [0, 2, 3]
    assert times.tolist() == [2, 5, 3]
    np.testing.assert_allclose(cum, [-1.0, 9.0, 7.0])
    got = equity_at_nb(
        indptr,
        times,
        cum,
        np.array([100.0, 50.0]),
        np.array([0, 0, 0, 0, 1, 1], dtype=np.int64),
        np.array([1, 2, 4, 5, 2, 3], dtype=np.int64),
    )
    np.testing.assert_allclose(got, [100.0, 99.0, 99.0, 109.0, 50.0, 57.0])


def test_bounds_on_a_sorted_slice():
    values = np.array([9, 1, 3, 3, 5, 0], dtype=np.int64)  # the slice [1, 5) is sorted
    assert [lower_bound_nb(values, 1, 5, x) for x in (0, 1, 3, 4, 6)] == [1, 1, 2, 4, 5]
    assert [upper_bound_nb(values, 1, 5, x) for x in (0, 1, 3, 4, 6)] == [1, 2, 4, 4, 5]
    assert lower_bound_nb(values.astype(np.int32), 2, 2, 3) == 2  # empty slice
