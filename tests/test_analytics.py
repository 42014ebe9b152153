"""Social-learning analytics (docs/contract.md §6) on tiny hand-built logs, values worked out here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ideaflow.analytics import (
    analyze,
    echo_chamber,
    exploration_columns,
    idea_flow,
    popularity_panel,
    source_diversity,
)
from ideaflow.analytics._accounting import ledger
from ideaflow.analytics.diversity import daily_csr
from ideaflow.analytics.popularity import per_trader_correlations
from ideaflow.errors import ParameterError
from ideaflow.io import dataset_from_frames
from ideaflow.reporting.analysis import analysis_figures

T0 = pd.Timestamp("2024-01-01")
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)


def make_ds(trades: list[tuple], follows: list[tuple] = (), accounts=None):
    """trades: (id, trader, instrument, side, open, close, open_price, close_price[, parent]);
    follows: (follower, leader, start, end or None)."""
    rows = []
    for t in trades:
        tid, trader, inst, side, op, cl, p0, p1 = t[:8]
        parent = t[8] if len(t) > 8 else None
        rows.append((tid, trader, inst, side, op, cl, p0, p1, 100.0, parent))
    tr = pd.DataFrame(
        rows,
        columns=[
            "trade_id",
            "trader_id",
            "instrument",
            "side",
            "open_time",
            "close_time",
            "open_price",
            "close_price",
            "amount",
            "parent_trade_id",
        ],
    )
    tr["parent_trade_id"] = tr["parent_trade_id"].astype("Int64")
    tr["side"] = tr["side"].astype(np.int8)
    fo = None
    if follows:
        fo = pd.DataFrame(
            [(f, ld, s, e, 1000.0) for f, ld, s, e in follows],
            columns=["follower_id", "leader_id", "start_time", "end_time", "allocation"],
        )
        fo["end_time"] = pd.to_datetime(fo["end_time"])
    return dataset_from_frames(tr, fo, accounts=accounts)


def flow_of(ds, trader_id, **kw):
    return idea_flow(ds, **kw)[int(ds.trader_code(trader_id))]


# --------------------------------------------------------------------------- idea flow


def test_isolated_trader_has_idea_flow_zero_and_pure_copier_one():
    ds = make_ds(
        [
            (1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.1),
            (2, 10, "EURUSD", -1, T0 + 2 * D, T0 + 3 * D, 1.0, 0.9),
            (3, 20, "EURUSD", 1, T0, T0 + D, 1.0, 1.1, 1),
            (4, 20, "EURUSD", -1, T0 + 2 * D, T0 + 3 * D, 1.0, 0.9, 2),
            (5, 30, "GBPUSD", 1, T0, T0 + D, 1.0, 1.0),
        ],
        [(20, 10, T0 - H, None)],
    )
    assert flow_of(ds, 30) == 0.0  # isolated
    assert flow_of(ds, 20) == 1.0  # pure copier
    assert flow_of(ds, 10) == 0.0  # a leader following nobody


def test_idea_flow_matches_instrument_side_window_and_active_follow():
    # u=20 follows 10 from T0 to T0+10d. 10 buys EURUSD at T0.
    ds = make_ds(
        [
            (1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.0),
            (2, 20, "EURUSD", 1, T0 + 5 * H, T0 + D, 1.0, 1.0),  # within 24 h: match
            (3, 20, "EURUSD", -1, T0 + 6 * H, T0 + D, 1.0, 1.0),  # opposite side: no
            (4, 20, "GBPUSD", 1, T0 + 6 * H, T0 + D, 1.0, 1.0),  # other instrument: no
            (5, 20, "EURUSD", 1, T0 + 25 * H, T0 + 2 * D, 1.0, 1.0),  # 25 h later: no
            (6, 10, "EURUSD", 1, T0 + 11 * D, T0 + 12 * D, 1.0, 1.0),
            (7, 20, "EURUSD", 1, T0 + 11 * D + H, T0 + 12 * D, 1.0, 1.0),  # follow ended
            (8, 20, "EURUSD", 1, T0, T0 + D, 1.0, 1.0),  # same instant: match
        ],
        [(20, 10, T0 - H, T0 + 10 * D)],
    )
    assert flow_of(ds, 20) == pytest.approx(2 / 6)
    # a 26-hour window also catches trade 5
    assert flow_of(ds, 20, window_hours=26) == pytest.approx(3 / 6)


def test_idea_flow_needs_the_follow_active_at_the_trade_time():
    ds = make_ds(
        [
            (1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.0),
            (2, 20, "EURUSD", 1, T0 + H, T0 + D, 1.0, 1.0),
        ],
        [(20, 10, T0 + 2 * H, None)],  # starts after u's trade
    )
    assert flow_of(ds, 20) == 0.0


def test_trader_without_trades_has_nan_idea_flow():
    ds = make_ds([(1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.0)], [(99, 10, T0, None)])
    assert np.isnan(flow_of(ds, 99))


def test_idea_flow_window_is_validated():
    ds = make_ds([(1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.0)])
    with pytest.raises(ParameterError, match="window_hours"):
        idea_flow(ds, window_hours=-1)


# --------------------------------------------------------------------------- diversity


def _diversity(ds):
    led = ledger(ds)
    daily = daily_csr(led.daily_account, led.daily_day, led.daily_pnl, ds.n_traders)
    return source_diversity(ds, daily)


def test_two_leaders_trading_identically_have_diversity_zero():
    trades = []
    tid = 1
    for day, ret in enumerate([0.1, -0.05, 0.2]):
        for leader in (10, 20):
            trades.append((tid, leader, "EURUSD", 1, T0 + day * D, T0 + day * D + H, 1.0, 1 + ret))
            tid += 1
    trades.append((tid, 30, "GBPUSD", 1, T0, T0 + H, 1.0, 1.0))
    ds = _diversity_ds = make_ds(trades, [(30, 10, T0, None), (30, 20, T0, None)])
    div = _diversity(_diversity_ds)
    u = int(ds.trader_code(30))
    assert div["leader_corr"][u] == pytest.approx(1.0)
    assert div["diversity"][u] == pytest.approx(0.0, abs=1e-12)
    assert div["n_leader_pairs"][u] == 1
    # fewer than two leaders: undefined
    assert np.isnan(div["diversity"][int(ds.trader_code(10))])


def test_opposite_leaders_have_diversity_two_and_union_of_days_is_used():
    # leader 10 gains +10 on day 0 and loses 10 on day 1; leader 20 does the opposite;
    # leader 40 only trades on day 2 (+10): over the union {0,1,2} with 10: x=(10,-10,0),
    # y=(0,0,10): mean 0 and 10/3; cov = sum((x)(y-10/3)) = 0 -> correlation 0.
    trades = [
        (1, 10, "EURUSD", 1, T0, T0 + H, 1.0, 1.1),
        (2, 10, "EURUSD", 1, T0 + D, T0 + D + H, 1.0, 0.9),
        (3, 20, "EURUSD", -1, T0, T0 + H, 1.0, 1.1),
        (4, 20, "EURUSD", -1, T0 + D, T0 + D + H, 1.0, 0.9),
        (5, 40, "EURUSD", 1, T0 + 2 * D, T0 + 2 * D + H, 1.0, 1.1),
        (6, 30, "GBPUSD", 1, T0, T0 + H, 1.0, 1.0),
        (7, 50, "GBPUSD", 1, T0, T0 + H, 1.0, 1.0),
    ]
    ds = make_ds(
        trades, [(30, 10, T0, None), (30, 20, T0, None), (50, 10, T0, None), (50, 40, T0, None)]
    )
    div = _diversity(ds)
    assert div["diversity"][int(ds.trader_code(30))] == pytest.approx(2.0)
    assert div["diversity"][int(ds.trader_code(50))] == pytest.approx(1.0)


def test_cluster_entropy_in_nats():
    trades = [(i + 1, 10 + i, "EURUSD", 1, T0, T0 + H, 1.0, 1.0) for i in range(4)]
    trades.append((9, 99, "EURUSD", 1, T0, T0 + H, 1.0, 1.0))
    ds = make_ds(trades, [(99, 10 + i, T0, None) for i in range(4)] + [(10, 11, T0, None)])
    led = ledger(ds)
    daily = daily_csr(led.daily_account, led.daily_day, led.daily_pnl, ds.n_traders)
    labels = np.full(ds.n_traders, -1)
    labels[ds.trader_code([10, 11, 12, 13])] = [0, 0, 1, 2]
    out = source_diversity(ds, daily, labels=labels)
    # shares 1/2, 1/4, 1/4 -> H = ln 2 / 2 + 2 * ln 4 / 4 = 1.5 ln 2
    assert out["cluster_entropy"][int(ds.trader_code(99))] == pytest.approx(1.5 * np.log(2))
    assert out["cluster_entropy"][int(ds.trader_code(10))] == 0.0  # one leader, one cluster
    assert np.isnan(out["cluster_entropy"][int(ds.trader_code(12))])  # no leaders


# --------------------------------------------------------------------------- echo chamber


def test_tie_density_one_when_leaders_all_follow_one_another():
    trades = [(i + 1, t, "EURUSD", 1, T0, T0 + H, 1.0, 1.0) for i, t in enumerate([1, 2, 3, 9])]
    follows = [(9, 1, T0, None), (9, 2, T0, None), (9, 3, T0, None)]
    follows += [(a, b, T0, None) for a in (1, 2, 3) for b in (1, 2, 3) if a != b]
    ds = make_ds(trades, follows)
    out = echo_chamber(ds)
    assert out["tie_density"][int(ds.trader_code(9))] == 1.0
    # 1's leaders are {2, 3}, who follow each other: 2 ties / (2 * 1) = 1 as well
    assert out["tie_density"][int(ds.trader_code(1))] == 1.0


def test_tie_density_counts_directed_ties():
    trades = [(i + 1, t, "EURUSD", 1, T0, T0 + H, 1.0, 1.0) for i, t in enumerate([1, 2, 3, 9])]
    follows = [(9, 1, T0, None), (9, 2, T0, None), (9, 3, T0, None), (1, 2, T0, None)]
    ds = make_ds(trades, follows)
    # one tie (1 -> 2) among 3 leaders: 1 / (3 * 2)
    assert echo_chamber(ds)["tie_density"][int(ds.trader_code(9))] == pytest.approx(1 / 6)


def test_reciprocity_zero_in_a_three_cycle_and_one_in_a_mutual_pair():
    trades = [(i + 1, t, "EURUSD", 1, T0, T0 + H, 1.0, 1.0) for i, t in enumerate([1, 2, 3, 4, 5])]
    follows = [(1, 2, T0, None), (2, 3, T0, None), (3, 1, T0, None)]
    follows += [(4, 5, T0, None), (5, 4, T0, None)]
    ds = make_ds(trades, follows)
    rec = echo_chamber(ds)["reciprocity"]
    assert [rec[int(ds.trader_code(t))] for t in (1, 2, 3)] == [0.0, 0.0, 0.0]
    assert rec[int(ds.trader_code(4))] == 1.0
    assert rec[int(ds.trader_code(5))] == 1.0


def test_reciprocity_shares_mixed_ties():
    # 1 follows 2 and 3; 2 follows 1; 4 follows 1. Ties of 1: out {2,3}, in {2,4};
    # reciprocated: 1->2 and 2->1 -> 2 / 4
    trades = [(i + 1, t, "EURUSD", 1, T0, T0 + H, 1.0, 1.0) for i, t in enumerate([1, 2, 3, 4])]
    follows = [(1, 2, T0, None), (1, 3, T0, None), (2, 1, T0, None), (4, 1, T0, None)]
    ds = make_ds(trades, follows)
    rec = echo_chamber(ds)["reciprocity"]
    assert rec[int(ds.trader_code(1))] == 0.5
    assert rec[int(ds.trader_code(3))] == 0.0


# --------------------------------------------------------------------------- exploration


def test_exploration_counts_starts_and_ends_per_month():
    month = pd.Timedelta(days=30.4375)
    trades = [
        (1, 1, "EURUSD", 1, T0, T0 + H, 1.0, 1.0),
        (2, 1, "EURUSD", 1, T0 + 2 * month, T0 + 2 * month + H, 1.0, 1.0),
        (3, 2, "EURUSD", 1, T0, T0 + H, 1.0, 1.0),
        (4, 3, "EURUSD", 1, T0, T0 + H, 1.0, 1.0),
    ]
    # trader 1 active 2 months + 1 hour; follows 2 (ended) and 3 (open): 2 starts + 1 end
    follows = [(1, 2, T0, T0 + D), (1, 3, T0 + 2 * D, None)]
    ds = make_ds(trades, follows)
    cols = exploration_columns(ds)
    u = int(ds.trader_code(1))
    assert cols["follow_starts"][u] == 2
    assert cols["follow_ends"][u] == 1
    months = (2 * month + H) / month
    assert cols["months_active"][u] == pytest.approx(months)
    assert cols["exploration_rate"][u] == pytest.approx(3 / months)
    assert np.isnan(cols["exploration_rate"][int(ds.trader_code(2))])  # never followed
    # time-average of active leaders: 1 day with leader 2 + (span - 2 days) with leader 3
    span = 2 * month + H
    assert cols["mean_active_leaders"][u] == pytest.approx((D + span - 2 * D) / span)


# --------------------------------------------------------------------------- popularity


def test_popularity_panel_follower_counts_and_trailing_roi():
    # trader 1 (equity 10,000) closes +100 in period 1 (days 0-30] and +202 in period 2;
    # trader 2 follows 1 from day 10 to day 40: 1 follower at t1 = day 30, 0 at t2 = day 60
    trades = [
        (1, 1, "EURUSD", 1, T0, T0 + 5 * D, 1.0, 2.0),  # pnl 100
        (2, 1, "EURUSD", 1, T0 + 35 * D, T0 + 45 * D, 1.0, 3.02),  # pnl 202
        (3, 2, "EURUSD", 1, T0, T0 + 70 * D, 1.0, 1.0),
    ]
    ds = make_ds(trades, [(2, 1, T0 + 10 * D, T0 + 40 * D)])
    panel = popularity_panel(ds, ledger(ds), period_days=30)
    mine = panel[panel["trader"] == int(ds.trader_code(1))].reset_index(drop=True)
    assert mine["k"].tolist() == [1, 2]
    assert mine["followers"].tolist() == [1, 0]
    assert mine["trailing_roi"].tolist() == pytest.approx([0.01, 202 / 10_100])
    assert mine["next_roi"].iloc[0] == pytest.approx(202 / 10_100)
    assert np.isnan(mine["next_roi"].iloc[1])


def test_per_trader_correlations_of_popularity_and_performance():
    panel = pd.DataFrame(
        {
            "trader": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "k": [1, 2, 3] * 3,
            "followers": [1, 2, 3, 3, 2, 1, 0, 0, 0],
            "trailing_roi": [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3],
        }
    )
    r = per_trader_correlations(panel, min_periods=3)
    # trader 2 never had a follower: undefined and left out
    assert r.to_dict() == {0: pytest.approx(1.0), 1: pytest.approx(-1.0)}


# --------------------------------------------------------------------------- analyze


def _small_platform():
    trades = [
        (1, 10, "EURUSD", 1, T0, T0 + D, 1.0, 1.1),
        (2, 20, "EURUSD", 1, T0 + H, T0 + D, 1.0, 1.1),
        (3, 20, "EURUSD", -1, T0 + 2 * H, T0 + D, 1.0, 1.05),
        (4, 30, "EURUSD", 1, T0, T0 + D, 1.0, 1.1, 1),
        (5, 30, "EURUSD", 1, T0 + 50 * H, T0 + 3 * D, 1.0, 1.2),
        (6, 40, "EURUSD", -1, T0, T0 + D, 1.0, 0.9),
    ]
    follows = [(20, 10, T0 - H, None), (30, 10, T0 - H, None), (30, 20, T0 - H, None)]
    return make_ds(trades, follows)


def test_analyze_traders_table_on_a_hand_built_log():
    result = analyze(_small_platform(), n_boot=20)
    t = result.traders.set_index("trader_id")
    assert list(t.index) == [10, 20, 30, 40]
    assert t["n_trades"].tolist() == [1, 2, 2, 1]
    assert t["idea_flow"].tolist() == [0.0, 0.5, 0.5, 0.0]
    assert t["social_share"].tolist() == [0.0, 0.0, 0.5, 0.0]
    assert t["n_followers"].tolist() == [2, 1, 0, 0]
    assert t["n_leaders"].tolist() == [0, 1, 2, 0]
    assert t.loc[30, "tie_density"] == 0.5  # 20 -> 10 among {10, 20}
    # ROI: 10 gains 100 * 0.1 on 10,000; 20 gains 10 and loses 5
    assert t.loc[10, "roi"] == pytest.approx(0.001)
    assert t.loc[20, "roi"] == pytest.approx(0.0005)
    social = result.findings["social_vs_single"]
    assert social["social"]["n"] == 1
    assert social["social"]["mean"] == pytest.approx(0.1)
    assert social["single"]["n"] == 5


def test_analyze_writes_outputs_deterministically(tmp_path):
    ds = _small_platform()
    paths_a = analyze(ds, n_boot=30, seed=3).write(tmp_path / "a", figures=analysis_figures)
    paths_b = analyze(ds, n_boot=30, seed=3).write(tmp_path / "b", figures=analysis_figures)
    assert sorted(p.name for p in paths_a.values()) == [
        "exploration.png",
        "findings.json",
        "in_degree.png",
        "inverted_u.png",
        "popularity_vs_performance.png",
        "summary.json",
        "traders.parquet",
    ]
    for key, path in paths_a.items():
        if key != "summary":  # seconds per stage differ between runs
            assert path.read_bytes() == paths_b[key].read_bytes(), key
    findings = json.loads(paths_a["findings"].read_text())
    assert findings["inverted_u"]["n_traders"] == 4
    summary = json.loads(paths_a["summary"].read_text())
    assert "replay" in summary["timings_s"]
    assert summary["parameters"]["n_boot"] == 30 and summary["parameters"]["seed"] == 3
    assert len(pd.read_parquet(paths_a["traders"])) == 4


def test_analyze_rejects_bad_parameters():
    ds = _small_platform()
    with pytest.raises(ParameterError, match="bins: expected an integer >= 2"):
        analyze(ds, bins=1)
    with pytest.raises(ParameterError, match="leaders: expected one of ever, end"):
        analyze(ds, leaders="sometimes")
    with pytest.raises(ParameterError, match="colour: not an option of analyze"):
        analyze(ds, colour="red")


# --------------------------------------------------------------------------- planted U


def planted_platform(seed: int, curvature: float, n_followers: int = 300):
    """A generated platform whose ROI is planted as 0.02 + c (s - s^2) + noise, where s =
    share of copied trades (the idea flow): an inverted U peaking at 0.5 when c > 0."""
    rng = np.random.default_rng(seed)
    rows = []
    tid = 0
    leader_trades: dict[int, list[tuple]] = {}
    for leader in range(5):
        for j in range(10):
            tid += 1
            opened = T0 + (leader * 10 + j) * 3 * H
            side = 1 if rng.random() < 0.5 else -1
            # 10 trades of 100 at +20 each: the leaders' ROI is the 0.02 baseline too
            rows.append((tid, leader, "EURUSD", side, opened, opened + H, 1.0, 1.0 + side * 0.2))
            leader_trades.setdefault(leader, []).append(rows[-1])
    follows = []
    for u in range(100, 100 + n_followers):
        k = int(rng.integers(0, 11))
        share = k / 10
        roi = 0.02 + curvature * (share - share**2) + rng.normal(0, 0.005)
        close = 1.0 + 10 * roi  # 10 trades of 100 on equity 10,000
        leader = int(rng.integers(0, 5))
        if k:
            follows.append((u, leader, T0 - H, None))
        picks = rng.choice(10, size=k, replace=False)
        for j in range(10):
            tid += 1
            if j < k:
                parent = leader_trades[leader][picks[j]]
                # a short copy gains when the price falls: mirror the close price
                copy_close = 1.0 + parent[3] * (close - 1.0)
                rows.append(
                    (tid, u, "EURUSD", parent[3], parent[4], parent[5], 1.0, copy_close, parent[0])
                )
            else:
                opened = T0 + 200 * H + j * H
                rows.append((tid, u, "GBPUSD", 1, opened, opened + H, 1.0, close))
    return make_ds(rows, follows)


def test_planted_inverted_u_is_found():
    ds = planted_platform(seed=11, curvature=0.08)
    iu = analyze(ds, n_boot=100, bins=10).findings["inverted_u"]
    assert iu["curvature"] < 0 and iu["curvature_p"] < 0.001
    assert iu["peak_inside"] and iu["peak_x"] == pytest.approx(0.5, abs=0.05)
    assert iu["found"]
    # the middle bins beat both ends, by about 0.08 * 0.25 / 0.02 = +100%
    assert iu["uplift_vs_lowest_pct"]["value"] > 50
    assert iu["uplift_vs_highest_pct"]["value"] > 50
    assert iu["uplift_vs_lowest_pct"]["lo"] > 0


def test_no_inverted_u_where_none_is_planted():
    ds = planted_platform(seed=12, curvature=0.0)
    iu = analyze(ds, n_boot=50, bins=10).findings["inverted_u"]
    assert not iu["found"]
    assert iu["curvature_p"] > 0.05


def test_leader_cap_keeps_the_most_active_leaders():
    from ideaflow.analytics._graph import cap_per_group

    indptr = np.array([0, 3, 4])
    members = np.array([1, 2, 3, 0])
    score = np.array([5.0, 1.0, 3.0, 3.0])  # per member code
    new_indptr, kept = cap_per_group(indptr, members, score, 2)
    # group 0 keeps 2 and 3 (score 3, ties by lower code drop 1 with score 1)
    assert new_indptr.tolist() == [0, 2, 3]
    assert kept.tolist() == [2, 3, 0]


def test_leaders_at_the_end_only_use_active_follows():
    trades = [(i + 1, t, "EURUSD", 1, T0, T0 + 5 * D, 1.0, 1.0) for i, t in enumerate([1, 2, 3, 9])]
    # 9 followed 1 only until day 1; 1, 2 and 3 follow each other
    follows = [(9, 1, T0, T0 + D), (9, 2, T0, None), (9, 3, T0, None), (2, 3, T0, None)]
    ds = make_ds(trades, follows)
    u = int(ds.trader_code(9))
    assert echo_chamber(ds)["tie_density"][u] == pytest.approx(1 / 6)
    assert echo_chamber(ds, leaders="end")["tie_density"][u] == pytest.approx(1 / 2)


def test_leader_correlation_kernel_matches_a_dense_reference():
    from ideaflow.analytics import leader_correlation

    rng = np.random.default_rng(7)
    n_accounts, n_days = 12, 40
    rows = [
        (a, d, float(rng.normal()))
        for a in range(n_accounts)
        for d in range(n_days)
        if rng.random() < 0.3
    ]
    account, day, pnl = (np.array(c) for c in zip(*rows))
    daily = daily_csr(account, day + 15_000, pnl, n_accounts)
    leaders = [[1, 2, 3], [], [4, 5, 6, 7, 8], [9, 10]]
    indptr = np.cumsum([0] + [len(x) for x in leaders])
    members = np.concatenate([np.array(x, dtype=np.int32) for x in leaders])
    mean_corr, n_pairs, n_used = leader_correlation(indptr, members, daily)

    def series(a):
        s = np.full(n_days, np.nan)
        s[day[account == a]] = pnl[account == a]
        return s

    for u, group in enumerate(leaders):
        corrs = []
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                x, y = series(a), series(b)
                union = ~np.isnan(x) | ~np.isnan(y)
                corrs.append(np.corrcoef(np.nan_to_num(x[union]), np.nan_to_num(y[union]))[0, 1])
        if corrs:
            assert mean_corr[u] == pytest.approx(np.mean(corrs))
            assert n_pairs[u] == len(corrs)
        else:
            assert np.isnan(mean_corr[u]) and n_pairs[u] == 0
    assert n_used.tolist() == [3, 0, 5, 2]
