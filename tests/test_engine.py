"""Engine API (docs/contract.md §3-4): hand-worked replays, metrics, frames, parameter errors.

Datasets are built from tiny Python lists with `builders.make_dataset`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from builders import make_dataset, trade
from ideaflow.engine import (
    EquityIndex,
    ReplayConfig,
    account_metrics,
    daily_pnl,
    position_pnl,
    replay,
)
from ideaflow.errors import ParameterError
from ideaflow.records import Book, field_names
from ideaflow.results import backtest_result
from ideaflow.results.frames import accounts_frame, daily_frame, trades_frame

D = 86_400 * 10**9  # one day in ns
H = 3_600 * 10**9  # one hour in ns


def rows_by_id(result):
    """Book rows as {trade_id: {column: value}}."""
    book = result.book
    names = [
        "account",
        "open_time",
        "close_time",
        "amount",
        "fee",
        "pnl",
        "ret",
        "marked",
        "root_trade_id",
        "parent_trade_id",
        "hop",
    ]
    return {
        int(book.trade_id[i]): {n: getattr(book, n)[i].item() for n in names}
        for i in range(len(book))
    }


def mirror(ds, depth=1):
    return replay(ds, ReplayConfig(strategy="mirror", depth=depth))


# ------------------------------------------------------------------ accounting


def test_position_pnl_long_and_short_with_leverage_and_fee():
    # long: 1 * 2 * 1000 * (110/100 - 1) - 3 = 197
    # short: -1 * 3 * 500 * (55/50 - 1) - 1.5 = -151.5
    pnl = position_pnl([1, -1], [2.0, 3.0], [1000.0, 500.0], [100.0, 50.0], [110.0, 55.0], [3, 1.5])
    np.testing.assert_allclose(pnl, [197.0, -151.5])
    assert position_pnl(1, 1, 100.0, 10.0, 12.0, 0.0) == pytest.approx(20.0)


def test_actual_replay_pnl_ret_and_parent_chain():
    ds = make_dataset(
        [
            trade(1, 10, 0, D, 100.0, 110.0, 1000.0, leverage=2.0, fee=3.0),
            trade(2, 20, 0, D, 100.0, 110.0, 400.0, parent=1),
            trade(3, 30, H, 2 * D, 50.0, 55.0, 500.0, side=-1, leverage=3.0, fee=1.5, parent=2),
        ],
        follows=[(20, 10, 0, None, 1000.0)],  # ignored by `actual`
    )
    res = replay(ds)
    rows = rows_by_id(res)
    assert list(res.book.trade_id) == [1, 2, 3]
    assert rows[1]["pnl"] == pytest.approx(197.0)
    assert rows[1]["ret"] == pytest.approx(0.197)
    assert rows[2]["pnl"] == pytest.approx(40.0)  # 400 * 0.1
    assert rows[3]["pnl"] == pytest.approx(-151.5)
    assert rows[3]["ret"] == pytest.approx(-0.303)
    assert (rows[1]["root_trade_id"], rows[1]["parent_trade_id"], rows[1]["hop"]) == (-1, -1, 0)
    assert (rows[2]["root_trade_id"], rows[2]["parent_trade_id"], rows[2]["hop"]) == (1, 1, 1)
    assert (rows[3]["root_trade_id"], rows[3]["parent_trade_id"], rows[3]["hop"]) == (1, 2, 2)
    assert res.counts["n_trades_in"] == 3
    assert res.counts["n_logged_copies"] == 2
    assert res.counts["copies_generated"] == 0
    m = res.metrics
    np.testing.assert_allclose(m.pnl, [197.0, 40.0, -151.5])
    np.testing.assert_array_equal(m.n_social, [0, 1, 1])


def test_open_trades_marked_with_prices_and_unmarked_without():
    # X has prices: open long 1000 at 100 marked at the last bar (120, at 3D) -> 200 - fee 5
    # Y has none: unmarked, pnl 0 (no fee charged)
    ds = make_dataset(
        [
            trade(1, 10, 0, None, 100.0, None, 1000.0, fee=5.0),
            trade(2, 10, D, None, 50.0, None, 1000.0, instrument="Y", fee=5.0),
            trade(3, 20, 0, 2 * D, 100.0, 90.0, 100.0),
        ],
        prices=[("X", D, 130.0), ("X", 3 * D, 120.0)],
    )
    res = replay(ds)
    rows = rows_by_id(res)
    assert rows[1]["pnl"] == pytest.approx(195.0) and rows[1]["marked"]
    assert rows[2]["pnl"] == 0.0 and not rows[2]["marked"]
    assert res.counts["marked_open"] == 1
    assert res.counts["unmarked_open"] == 1
    assert res.metrics.pnl[0] == pytest.approx(195.0)
    assert res.metrics.n_open[0] == 2
    assert np.isnan(res.metrics.win_rate[0])
    # without prices both are unmarked
    ds2 = make_dataset([trade(1, 10, 0, None, 100.0, None, 1000.0, fee=5.0)])
    res2 = replay(ds2)
    assert res2.counts == {**res2.counts, "marked_open": 0, "unmarked_open": 1}
    assert res2.book.pnl[0] == 0.0


# ------------------------------------------------------------------ mirror, depth 1


def test_proportional_sizing_uses_closes_at_the_same_instant():
    # L=1 closes trade 1 at D with +2000 (10,000 at 100 -> 120): E_L(D) = 12,000.
    # Trade 2 opens at D (closes first): copy = 600 * 3000 / 12000 = 150, fee 6 * 150/600.
    ds = make_dataset(
        [
            trade(1, 1, 0, D, 100.0, 120.0, 10_000.0),
            trade(2, 1, D, 2 * D, 100.0, 90.0, 600.0, fee=6.0),
        ],
        follows=[(2, 1, 0, None, 3000.0)],
    )
    res = mirror(ds)
    rows = rows_by_id(res)
    # copies get ids max(id) + 1 + k: 3 = copy of 1, 4 = copy of 2
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[3]["amount"] == pytest.approx(3000.0)  # 10,000 * 3000 / 10,000
    assert rows[3]["pnl"] == pytest.approx(600.0)
    assert rows[4]["amount"] == pytest.approx(150.0)
    assert rows[4]["fee"] == pytest.approx(1.5)
    assert rows[4]["pnl"] == pytest.approx(150 * -0.1 - 1.5)  # -16.5
    assert rows[2]["pnl"] == pytest.approx(600 * -0.1 - 6.0)  # -66
    assert (rows[4]["root_trade_id"], rows[4]["parent_trade_id"], rows[4]["hop"]) == (2, 2, 1)
    assert rows[4]["close_time"] == 2 * D and rows[4]["open_time"] == D
    assert list(res.book.trade_id) == [1, 3, 2, 4]  # sorted by (open_time, trade_id)
    np.testing.assert_allclose(res.metrics.pnl, [2000.0 - 66.0, 600.0 - 16.5])
    np.testing.assert_allclose(res.metrics.final_equity, [11_934.0, 10_583.5])
    assert res.counts["copies_generated"] == 2
    assert res.counts["copies_by_hop"] == {"1": 2}


def test_zero_duration_trade_is_copied_and_closes_after_the_opens_of_its_instant():
    # Trade 1 opens and closes at D (+1000). Trade 2 opens at D too: sizing must not yet
    # see trade 1's PnL (E_L = 10,000); trade 3 at 2D sees it (E_L = 11,000).
    ds = make_dataset(
        [
            trade(1, 1, D, D, 100.0, 110.0, 10_000.0),
            trade(2, 1, D, 3 * D, 100.0, 100.0, 1000.0),
            trade(3, 1, 2 * D, 3 * D, 100.0, 100.0, 1100.0),
        ],
        follows=[(2, 1, 0, None, 1000.0)],
    )
    rows = rows_by_id(mirror(ds))
    copies = {r["root_trade_id"]: r for tid, r in rows.items() if r["hop"] == 1}
    assert copies[1]["amount"] == pytest.approx(1000.0)  # 10,000 * 1000 / 10,000
    assert copies[1]["pnl"] == pytest.approx(100.0)
    assert copies[1]["close_time"] == D
    assert copies[2]["amount"] == pytest.approx(100.0)  # 1000 * 1000 / 10,000
    assert copies[3]["amount"] == pytest.approx(100.0)  # 1100 * 1000 / 11,000


def test_follow_start_inclusive_end_exclusive():
    ds = make_dataset(
        [
            trade(1, 1, D, 5 * D, 100.0, 100.0, 1000.0),
            trade(2, 1, 2 * D, 5 * D, 100.0, 100.0, 1000.0),
        ],
        follows=[
            (2, 1, D, 2 * D, 500.0),  # active at D, not at 2D
            (3, 1, 2 * D, None, 500.0),  # active from 2D
            (4, 1, 0, D, 500.0),  # ended at D: never active for these trades
        ],
    )
    res = mirror(ds)
    rows = rows_by_id(res)
    got = sorted(
        (r["root_trade_id"], int(ds.trader_ids[r["account"]])) for r in rows.values() if r["hop"]
    )
    assert got == [(1, 2), (2, 3)]


def test_bankrupt_leader_makes_no_copies():
    # L loses 2 * 10,000 * (50/100 - 1) = -10,000 -> E_L = 0 <= 0 at 2D
    ds = make_dataset(
        [
            trade(1, 1, 0, D, 100.0, 50.0, 10_000.0, leverage=2.0),
            trade(2, 1, 2 * D, 3 * D, 100.0, 110.0, 500.0),
        ],
        follows=[(2, 1, D + 1, None, 1000.0), (3, 1, D + 1, None, 1000.0)],
    )
    res = mirror(ds)
    assert res.counts["copies_generated"] == 0
    assert res.counts["copies_skipped_bankrupt"] == 2
    assert res.metrics.final_equity[0] == pytest.approx(50.0)  # 0 + 500 * 0.1


def test_unmarked_open_root_copies_have_zero_pnl_and_marked_ones_follow_the_mark():
    ds = make_dataset(
        [
            trade(1, 1, 0, None, 100.0, None, 1000.0, fee=10.0),
            trade(2, 1, 0, None, 100.0, None, 1000.0, instrument="Y", fee=10.0),
        ],
        follows=[(2, 1, 0, None, 5000.0)],
        prices=[("X", D, 110.0)],
    )
    res = mirror(ds)
    rows = rows_by_id(res)
    copy_x = next(r for r in rows.values() if r["root_trade_id"] == 1)
    copy_y = next(r for r in rows.values() if r["root_trade_id"] == 2)
    assert copy_x["amount"] == pytest.approx(500.0) and copy_x["marked"]
    assert copy_x["pnl"] == pytest.approx(500 * 0.1 - 5.0)
    assert copy_y["pnl"] == 0.0 and not copy_y["marked"]
    assert copy_y["fee"] == pytest.approx(5.0)
    assert res.counts["marked_open"] == 2 and res.counts["unmarked_open"] == 2


def test_mirror_drops_logged_copies():
    ds = make_dataset(
        [
            trade(1, 1, 0, D, 100.0, 110.0, 1000.0),
            trade(2, 2, 0, D, 100.0, 110.0, 999.0, parent=1),
        ],
        follows=[(2, 1, 0, None, 2000.0)],
    )
    res = mirror(ds)
    rows = rows_by_id(res)
    assert sorted(rows) == [1, 3]
    assert rows[3]["amount"] == pytest.approx(200.0)
    assert res.counts["logged_copies_dropped"] == 1
    assert res.counts["n_trades_in"] == 2


# ------------------------------------------------------------------ depth


def _depth_dataset():
    # R=1 roots; B=3 follows R from 0, A=2 from 5 (so B's hop-1 copy is generated first);
    # C=4 follows A and B (tie at hop 2 -> lowest source id A wins); E=6 follows B;
    # D=5 follows C (hop 3).
    return make_dataset(
        [trade(100, 1, 10, 20, 100.0, 110.0, 1000.0, fee=10.0)],
        follows=[
            (3, 1, 0, None, 5000.0),
            (2, 1, 5, None, 2000.0),
            (4, 2, 0, None, 1000.0),
            (4, 3, 0, None, 4000.0),
            (6, 3, 0, None, 1000.0),
            (5, 4, 0, None, 5000.0),
        ],
    )


def test_depth_two_tie_goes_to_lowest_source_id():
    ds = _depth_dataset()
    res = mirror(ds, depth=2)
    rows = rows_by_id(res)
    tid = ds.trader_ids
    got = {
        k: (int(tid[r["account"]]), r["parent_trade_id"], r["hop"], r["amount"])
        for k, r in rows.items()
    }
    # hop 1 in follow order: B (start 0) -> 101, A (start 5) -> 102
    # hop 2, sources by id: A first claims C (200 * 1000 / 10,000 = 20), then B -> E (50)
    assert got[101] == (3, 100, 1, pytest.approx(500.0))
    assert got[102] == (2, 100, 1, pytest.approx(200.0))
    assert got[103] == (4, 102, 2, pytest.approx(20.0))
    assert got[104] == (6, 101, 2, pytest.approx(50.0))
    assert len(rows) == 5
    assert rows[103]["fee"] == pytest.approx(0.2)  # 2 * 20 / 200
    assert res.counts["copies_by_hop"] == {"1": 2, "2": 2}


def test_depth_three_reaches_the_next_level():
    ds = _depth_dataset()
    rows = rows_by_id(mirror(ds, depth=3))
    assert rows[105]["parent_trade_id"] == 103 and rows[105]["hop"] == 3
    assert int(ds.trader_ids[rows[105]["account"]]) == 5
    assert rows[105]["amount"] == pytest.approx(10.0)  # 20 * 5000 / 10,000
    assert rows[105]["pnl"] == pytest.approx(10 * 0.1 - 0.1)


def test_cycle_terminates_and_never_reaches_the_root_trader():
    # A=1 -> B=2 -> C=3 -> A: B follows A, C follows B, A follows C
    ds = make_dataset(
        [trade(1, 1, 10, 20, 100.0, 100.0, 1000.0), trade(2, 2, 30, 40, 100.0, 100.0, 1000.0)],
        follows=[(2, 1, 0, None, 1000.0), (3, 2, 0, None, 1000.0), (1, 3, 0, None, 1000.0)],
    )
    res = mirror(ds, depth=5)
    b = res.book
    for root, trader in ((1, 1), (2, 2)):
        reached = ds.trader_ids[b.account[b.root_trade_id == root]]
        assert sorted(reached) == sorted({1, 2, 3} - {trader})
    assert res.counts["copies_by_hop"] == {"1": 2, "2": 2, "3": 0, "4": 0, "5": 0}


# ------------------------------------------------------------------ metrics


def test_max_drawdown_on_a_hand_path():
    # E: 10,000 -> 11,000 (peak) -> 8,800 (dd 0.2) -> 9,300 -> 7,700 (dd 0.3)
    #    -> 12,700 (peak) -> 11,430 (dd 0.1)
    pnls = [1000.0, -2200.0, 500.0, -1600.0, 5000.0, -1270.0]
    trades = [
        trade(i + 1, 1, 0, (i + 1) * D, 100.0, 100.0 * (1 + p / 10_000.0), 10_000.0)
        for i, p in enumerate(pnls)
    ]
    res = replay(make_dataset(trades))
    assert res.metrics.max_drawdown[0] == pytest.approx(0.3)
    assert res.metrics.pnl[0] == pytest.approx(sum(pnls))
    assert res.metrics.win_rate[0] == pytest.approx(3 / 6)


def test_sharpe_counts_quiet_days_as_zero_returns():
    # Opens on day 0; +200 on day 1 (E 10,200, r 0.02); day 2 quiet; +102 on day 3
    # (E 10,302, r 102/10,200 = 0.01). Returns over days 0..3: [0, 0.02, 0, 0.01].
    ds = make_dataset(
        [
            trade(1, 1, 0, D + H, 100.0, 120.0, 1000.0),
            trade(2, 1, H, 3 * D + H, 100.0, 110.2, 1000.0),
        ]
    )
    res = replay(ds)
    mean = 0.03 / 4
    var = ((0 - mean) ** 2 * 2 + (0.02 - mean) ** 2 + (0.01 - mean) ** 2) / 3
    assert var == pytest.approx(2.75e-4 / 3)
    assert res.metrics.sharpe[0] == pytest.approx(mean / math.sqrt(var) * math.sqrt(365.0))
    res2 = replay(ds, ReplayConfig(sharpe_annualization=1.0))
    assert res2.metrics.sharpe[0] == pytest.approx(mean / math.sqrt(var))


def test_sharpe_nan_for_one_day_or_zero_spread():
    one_day = make_dataset([trade(1, 1, 0, H, 100.0, 110.0, 1000.0)])
    assert np.isnan(replay(one_day).metrics.sharpe[0])
    # two days with returns [0, 0]: zero spread
    flat = make_dataset([trade(1, 1, 0, D + H, 100.0, 100.0, 1000.0)])
    assert np.isnan(replay(flat).metrics.sharpe[0])


def test_win_rate_counts_strictly_positive_closed_trades():
    ds = make_dataset(
        [
            trade(1, 1, 0, D, 100.0, 110.0, 1000.0),
            trade(2, 1, 0, D, 100.0, 90.0, 1000.0),
            trade(3, 1, 0, D, 100.0, 100.0, 1000.0),
            trade(4, 1, 0, None, 100.0, None, 1000.0),
        ]
    )
    m = replay(ds).metrics
    assert m.win_rate[0] == pytest.approx(1 / 3)
    assert (m.n_trades[0], m.n_closed[0], m.n_open[0]) == (4, 3, 1)


def test_day_end_marks_enter_drawdown_and_daily_pnl():
    # Long 1000 at 100 on day 0; day-end prices 80 (day 0) and 120 (day 1); closes day 2
    # at 110. Marks: -200, +200; close +100. E: 9,800 (dd 0.02), 10,200, 10,100.
    ds = make_dataset(
        [trade(1, 1, H, 2 * D + 12 * H, 100.0, 110.0, 1000.0)],
        prices=[("X", 0, 100.0), ("X", 12 * H, 80.0), ("X", D + 12 * H, 120.0)],
        accounts={2: 5000.0},
    )
    res = replay(ds)
    assert res.metrics.max_drawdown[0] == pytest.approx(0.02)
    daily = daily_pnl(res.book, ds.n_traders, prices=ds.prices, data_end=ds.data_end)
    account, day, pnl = daily.account, daily.day, daily.pnl
    np.testing.assert_array_equal(account, [0, 0, 0])
    np.testing.assert_array_equal(day, [0, 1, 2])
    np.testing.assert_allclose(pnl, [-200.0, 400.0, -100.0])
    # without prices: realised only, no drawdown
    m = account_metrics(res.book, ds.n_traders, ds.initial_equity, data_end=ds.data_end)
    assert m.max_drawdown[0] == 0.0
    daily = daily_pnl(res.book, ds.n_traders, data_end=ds.data_end)
    account, day, pnl = daily.account, daily.day, daily.pnl
    np.testing.assert_array_equal(day, [2])
    np.testing.assert_allclose(pnl, [100.0])
    # trader 2 only appears in accounts: a row with E_end = E_0
    assert res.metrics.final_equity[1] == 5000.0 and res.metrics.n_trades[1] == 0
    assert np.isnan(res.metrics.sharpe[1]) and np.isnan(res.metrics.win_rate[1])


def test_daily_pnl_of_marked_open_position_on_the_last_day():
    ds = make_dataset(
        [trade(1, 1, 0, None, 100.0, None, 1000.0), trade(2, 1, 0, D, 100.0, 101.0, 1000.0)],
        prices=[("X", 3 * D + H, 105.0)],
    )
    res = replay(ds)
    daily = daily_pnl(res.book, ds.n_traders, prices=ds.prices, data_end=ds.data_end)
    day, pnl = daily.day, daily.pnl
    np.testing.assert_array_equal(day, [1, 3])
    np.testing.assert_allclose(pnl, [10.0, 50.0])
    assert res.metrics.last_time[0] == 3 * D + H


def test_equity_index_at():
    ds = make_dataset(
        [
            trade(1, 1, 0, 2 * D, 100.0, 110.0, 1000.0),
            trade(2, 1, 0, D, 100.0, 80.0, 1000.0),
            trade(3, 2, 0, None, 100.0, None, 1000.0),
        ],
        accounts={2: 500.0},
    )
    res = replay(ds)
    index = EquityIndex.from_book(res.book, ds.n_traders, ds.initial_equity)
    got = index.at([0, 0, 0, 0, 1], [D - 1, D, 2 * D - 1, 2 * D, 10 * D])
    np.testing.assert_allclose(got, [10_000.0, 9_800.0, 9_800.0, 9_900.0, 500.0])
    assert index.at(0, 3 * D) == pytest.approx(9_900.0)


# ------------------------------------------------------------------ frames


def test_frames_have_ids_names_and_nullable_columns():
    ds = make_dataset(
        [
            trade(5, 10, 0, D, 100.0, 110.0, 1000.0, instrument="EURUSD"),
            trade(7, 10, D, None, 100.0, None, 600.0, instrument="GOLD"),
        ],
        follows=[(20, 10, 0, None, 3000.0)],
    )
    res = mirror(ds)
    trades = trades_frame(res.book, ds.trader_ids, ds.instruments)
    assert list(trades.columns) == [
        "trade_id",
        "trader_id",
        "instrument",
        "side",
        "open_time",
        "close_time",
        "open_price",
        "close_price",
        "amount",
        "leverage",
        "fee",
        "pnl",
        "ret",
        "marked",
        "root_trade_id",
        "parent_trade_id",
        "hop",
    ]
    assert list(trades["trade_id"]) == [5, 8, 7, 9]
    assert list(trades["trader_id"]) == [10, 20, 10, 20]
    assert list(trades["instrument"].astype(str)) == ["EURUSD", "EURUSD", "GOLD", "GOLD"]
    assert str(trades["open_time"].dtype) == "datetime64[ns, UTC]"
    assert trades["close_time"].isna().tolist() == [False, False, True, True]
    assert trades["open_time"].iloc[2] == pd.Timestamp("1970-01-02", tz="UTC")
    assert str(trades["root_trade_id"].dtype) == "Int64"
    assert trades["root_trade_id"].isna().tolist() == [True, False, True, False]
    assert trades["parent_trade_id"].iloc[3] == 7
    accounts = accounts_frame(res.metrics, ds.trader_ids)
    assert list(accounts["trader_id"]) == [10, 20]
    assert list(accounts.columns) == [
        "trader_id",
        "initial_equity",
        "final_equity",
        "pnl",
        "roi",
        "n_trades",
        "n_social",
        "n_closed",
        "n_open",
        "win_rate",
        "max_drawdown",
        "sharpe",
        "first_time",
        "last_time",
    ]
    assert accounts["n_social"].tolist() == [0, 2]
    daily = daily_frame(res.daily(ds), ds.trader_ids)
    assert daily["trader_id"].tolist() == [10, 20]
    assert daily["day"].tolist() == [pd.Timestamp("1970-01-02", tz="UTC")] * 2


def test_backtest_result_of_a_replay():
    ds = make_dataset([trade(1, 1, 0, D, 100.0, 110.0, 1000.0)], follows=[(2, 1, 0, None, 1.0)])
    result = backtest_result(mirror(ds), ds)
    assert result.strategy == "mirror"
    assert result.params["depth"] == 1
    assert len(result.trades) == 2 and len(result.accounts) == 2
    assert result.counts["copies_generated"] == 1


def test_empty_follow_graph_and_no_trades_of_a_trader():
    ds = make_dataset([trade(1, 1, 0, D, 100.0, 110.0, 1000.0)], accounts={9: 1.0})
    res = mirror(ds, depth=3)
    assert len(res.book) == 1
    assert res.metrics.n_trades.tolist() == [1, 0]
    assert res.metrics.first_time[1] == np.iinfo(np.int64).min


# ------------------------------------------------------------------ parameters


def test_parameter_errors():
    ds = make_dataset([trade(1, 1, 0, D, 100.0, 110.0, 1000.0)])
    with pytest.raises(ParameterError, match="strategy: expected one of actual, mirror"):
        replay(ds, ReplayConfig(strategy="herd"))
    with pytest.raises(ParameterError, match=r"depth: expected an integer in \[1, 100\]; found 0"):
        replay(ds, ReplayConfig(strategy="mirror", depth=0))
    with pytest.raises(ParameterError, match="depth: expected an integer >= 1; found 1.5"):
        replay(ds, ReplayConfig(strategy="mirror", depth=1.5))  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="sharpe_annualization: expected a finite number"):
        replay(ds, ReplayConfig(sharpe_annualization=-1.0))
    with pytest.raises(ParameterError, match="config: expected a ReplayConfig; found dict"):
        replay(ds, {"strategy": "mirror"})  # type: ignore[arg-type]
    book = replay(ds).book
    with pytest.raises(ParameterError, match=r"initial_equity: expected a scalar or 1 values"):
        account_metrics(book, 1, [1.0, 2.0])
    with pytest.raises(ParameterError, match="initial_equity: expected finite values > 0"):
        account_metrics(book, 1, 0.0)
    with pytest.raises(ParameterError, match="n_accounts: expected more than the largest"):
        daily_pnl(book, 0)
    with pytest.raises(ParameterError, match="annualization: expected a finite number > 0"):
        account_metrics(book, 1, 1.0, annualization=float("nan"))
    index = EquityIndex.from_book(book, 1, 1.0)
    with pytest.raises(ParameterError, match=r"accounts: expected codes in \[0, 1\)"):
        index.at([1], [0])


def test_book_take():
    ds = make_dataset([trade(1, 1, 0, D, 100.0, 110.0, 1000.0), trade(2, 1, 0, D, 1.0, 2.0, 1.0)])
    book = replay(ds).book
    both = book.take(np.array([1, 0]))
    assert both.trade_id.tolist() == [2, 1]
    assert both.pnl.tolist() == [book.pnl[1], book.pnl[0]]
    assert len(both) == 2 and len(book.take(book.trade_id == 2)) == 1


def test_replay_through_dataset_from_frames_is_independent_of_row_order():
    from ideaflow.io import dataset_from_frames

    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    trades = pd.DataFrame(
        {
            "trade_id": [1, 2, 3, 4],
            "trader_id": [10, 10, 20, 30],
            "instrument": ["X", "X", "Y", "X"],
            "side": ["buy", "sell", "long", "buy"],
            "open_time": [t0, t0 + pd.Timedelta(days=1), t0, t0],
            "close_time": [t0 + pd.Timedelta(days=1), pd.NaT, t0 + pd.Timedelta(days=2), t0],
            "open_price": [100.0, 100.0, 50.0, 10.0],
            "close_price": [120.0, np.nan, 40.0, 11.0],
            "amount": [10_000.0, 600.0, 500.0, 100.0],
            "fee": [0.0, 6.0, 0.0, 0.0],
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [20, 30],
            "leader_id": [10, 20],
            "start_time": [t0, t0],
            "end_time": [pd.NaT, pd.NaT],
            "allocation": [3000.0, 1000.0],
        }
    )
    prices = pd.DataFrame(
        {"instrument": ["X"], "time": [t0 + pd.Timedelta(days=3)], "price": [90.0]}
    )
    config = ReplayConfig(strategy="mirror", depth=2)
    ds = dataset_from_frames(trades, follows, prices)
    res = replay(ds, config)
    rows = rows_by_id(res)
    # E_10 at day 1 = 12,000 (trade 1 closed at +2000): copy of trade 2 = 600 * 3000 / 12000
    copy_of_2 = next(r for r in rows.values() if r["root_trade_id"] == 2 and r["hop"] == 1)
    assert copy_of_2["amount"] == pytest.approx(150.0)
    assert copy_of_2["pnl"] == pytest.approx(-150 * (90 / 100 - 1) - 1.5)  # short, marked
    shuffled = dataset_from_frames(trades.iloc[::-1], follows.iloc[::-1], prices)
    again = replay(shuffled, config)
    for name in field_names(Book):
        np.testing.assert_array_equal(getattr(res.book, name), getattr(again.book, name))
    pd.testing.assert_frame_equal(
        accounts_frame(res.metrics, ds.trader_ids),
        accounts_frame(again.metrics, shuffled.trader_ids),
    )


def test_no_trades_at_all():
    ds = make_dataset([], follows=[(2, 1, 0, None, 10.0)], accounts={1: 50.0})
    for strategy in ("actual", "mirror"):
        res = replay(ds, ReplayConfig(strategy=strategy, depth=2))
        assert len(res.book) == 0
        assert res.metrics.final_equity.tolist() == [50.0, 10_000.0]
        assert res.metrics.n_trades.tolist() == [0, 0]
        assert (
            len(trades_frame(res.book, ds.trader_ids, ds.instruments)) == 0
            and len(daily_frame(res.daily(ds), ds.trader_ids)) == 0
        )


def test_progress_bar_and_stage_timings(capsys):
    ds = make_dataset([trade(1, 1, 0, D, 100.0, 110.0, 1000.0)], follows=[(2, 1, 0, None, 1.0)])
    res = replay(ds, ReplayConfig(strategy="mirror"), progress=True)
    # stages, plus the event loop alone inside the replay stage
    assert set(res.timings) == {"marks", "replay", "replay_kernel", "book", "metrics"}
    assert res.timings["replay_kernel"] <= res.timings["replay"]
    assert "replay" in capsys.readouterr().err
