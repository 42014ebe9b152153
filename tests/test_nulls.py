"""Null models and honest intervals (ideaflow.analytics.nulls), values worked out here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ideaflow
from ideaflow.analytics import analyze, matched_trades
from ideaflow.analytics._bootstrap import mean_median_interval
from ideaflow.analytics.nulls import (
    _fit_quadratic_hc3,
    idea_flow_null,
    inverted_u_tests,
    lind_mehlum,
    social_vs_single_by_root,
)
from ideaflow.errors import ParameterError
from ideaflow.io import load_dataset
from test_analytics import T0, D, H, make_ds, planted_platform

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"

# ------------------------------------------------------------------ idea flow vs chance


def echo_log():
    """Leader 1 opens EURUSD long every 10 days; follower 2 opens the same an hour later
    (originals, no parent), and 3 unrelated GBPUSD trades; 100 days of data."""
    trades = []
    tid = 0
    for k in range(10):
        t = T0 + k * 10 * D
        tid += 1
        trades.append((tid, 1, "EURUSD", 1, t, t + 2 * H, 1.0, 1.01))
        tid += 1
        trades.append((tid, 2, "EURUSD", 1, t + H, t + 2 * H, 1.0, 1.01))
    for k in range(3):
        t = T0 + (5 + 30 * k) * D
        tid += 1
        trades.append((tid, 2, "GBPUSD", 1, t, t + H, 1.0, 1.0))
    return make_ds(trades, [(2, 1, T0 - D, None)])


def test_echoes_of_a_leader_beat_a_time_shifted_leader():
    ds = echo_log()
    out = idea_flow_null(ds, window_hours=24, null="shift", n_null=9, seed=1)
    # originals: 10 of leader 1 (no leader) + 13 of follower 2, of which 10 echo
    assert out["n_original_trades"] == 23
    assert out["observed_original_share"] == pytest.approx(10 / 23)
    assert out["copy_share"] == 0.0
    # slow reference: the same seeded offsets (one per trader code and replicate), each
    # leader trade moved circularly over the span, and the echoes matched by brute force
    rng = np.random.default_rng(1)
    start = int(ds.trades.open_time.min())
    span = int(ds.data_end) - start
    leader_code = int(ds.trader_code(1))
    lead_times = np.array([(T0 + k * 10 * D).value for k in range(10)])
    echo_times = lead_times + H.value
    shares = []
    for _ in range(9):
        offsets = rng.integers(int(0.05 * span), int(0.95 * span), ds.n_traders)
        moved = start + (lead_times - start + offsets[leader_code]) % span
        window = 24 * H.value
        hits = sum(bool(np.any((moved >= t - window) & (moved <= t))) for t in echo_times)
        shares.append(hits / 23)
    assert out["null_original_share"] == pytest.approx(np.mean(shares), abs=1e-15)
    assert out["null_original_share"] < out["observed_original_share"]
    assert out["p_value"] == pytest.approx(1 / 10)
    assert out["excess"] == pytest.approx(10 / 23 - np.mean(shares))


def test_observed_matching_is_the_same_as_idea_flows():
    ds = load_dataset(SAMPLE)
    out = idea_flow_null(ds, n_null=2, seed=0, max_queries=10**9)
    matched = matched_trades(ds, window_hours=24)
    originals = ds.trades.parent < 0
    assert out["observed_original_share"] == pytest.approx(matched[originals].mean(), abs=1e-15)
    assert out["observed_all_share"] == pytest.approx(matched.mean(), abs=1e-12)


def test_shuffling_among_a_single_other_trader_changes_nothing():
    # two traders: the only "random other trader" is the real leader, so the null equals
    # the observation and the p-value is 1
    ds = echo_log()
    out = idea_flow_null(ds, null="shuffle", n_null=4, seed=3)
    assert out["null_original_share"] == pytest.approx(out["observed_original_share"])
    assert out["p_value"] == 1.0


def test_null_parameters_are_checked():
    ds = echo_log()
    with pytest.raises(ParameterError, match="null: expected one of shift, shuffle; found 'x'"):
        idea_flow_null(ds, null="x")
    with pytest.raises(ParameterError, match="n_null: expected an integer >= 1; found 0"):
        idea_flow_null(ds, n_null=0)


# ------------------------------------------------------------------ inverted U, robust


def test_lind_mehlum_t_values_from_a_hand_computed_hc3_covariance():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 500)
    y = 0.2 + 1.0 * x - 1.0 * x**2 + rng.normal(0, 0.05 + 0.2 * x, x.size)
    res = _fit_quadratic_hc3(x, y)
    lm = lind_mehlum(res, float(x.min()), float(x.max()))
    X = np.column_stack([np.ones_like(x), x, x * x])
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    cov = bread @ ((X * (e / (1 - h))[:, None] ** 2).T @ X) @ bread
    for xe, key in ((x.min(), "t_lowest"), (x.max(), "t_highest")):
        g = np.array([0.0, 1.0, 2.0 * xe])
        assert lm[key] == pytest.approx(g @ beta / np.sqrt(g @ cov @ g), rel=1e-9)
    # vertex at 0.5: rising at 0, falling at 1, so the U test rejects
    assert lm["slope_at_lowest"] > 0 > lm["slope_at_highest"]
    assert lm["t"] == pytest.approx(min(lm["t_lowest"], -lm["t_highest"]))
    assert lm["p_value"] < 1e-6


def test_monotone_relation_is_not_an_inverted_u_for_lind_mehlum():
    # concave but increasing over the whole range: the curvature is negative and
    # significant, yet the slope at the top is still positive
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 2000)
    y = 2.0 * x - 0.5 * x**2 + rng.normal(0, 0.05, x.size)
    out = inverted_u_tests(x, y, n_perm=50, n_boot=50, seed=1)
    assert out["curvature"] < 0 and out["curvature_p_hc3"] < 1e-6
    assert out["lind_mehlum"]["p_value"] > 0.5
    assert not out["found"]


def test_best_bin_chosen_after_the_fact_is_not_significant_without_an_effect():
    rng = np.random.default_rng(6)
    flow = rng.uniform(0, 1, 600)
    roi = rng.normal(0, 0.1, 600)
    out = inverted_u_tests(flow, roi, n_perm=400, n_boot=200, seed=2)
    d = out["best_minus_lowest_pts"]
    # the best of 10 bin means always beats the first: the gap is positive by selection
    assert d["value"] > 0 and d["null_mean"] > 0
    assert d["p_value_selection_aware"] > 0.1


def test_planted_inverted_u_passes_the_robust_tests():
    ds = planted_platform(seed=11, curvature=0.08)
    rb = analyze(ds, n_boot=100, bins=10, n_perm=200).findings["inverted_u"]["robust"]
    assert rb["found"]
    assert rb["lind_mehlum"]["p_value"] < 0.01
    assert rb["best_minus_lowest_pts"]["p_value_selection_aware"] < 0.01


# ------------------------------------------------------------ social vs single by root


def test_root_means_hand_worked():
    # root 1 (+0.10) with 3 copies, root 5 (-0.05) alone, an open copy left out
    ret = np.array([0.10, 0.10, 0.10, 0.10, -0.05, 0.3])
    is_copy = np.array([False, True, True, True, False, True])
    closed = np.array([True, True, True, True, True, False])
    trade_id = np.array([1, 2, 3, 4, 5, 6])
    root = np.array([-1, 1, 1, 1, -1, 1])
    out = social_vs_single_by_root(ret, is_copy, closed, trade_id, root, n_boot=200, seed=1)
    assert out["n_roots"] == 2 and out["n_trades"] == 5
    assert out["social_mean"]["value"] == pytest.approx(0.10)
    assert out["single_mean"]["value"] == pytest.approx(0.025)
    assert out["mean_difference"]["value"] == pytest.approx(0.075)


def test_root_bootstrap_is_wider_than_the_trade_bootstrap_when_copies_cluster():
    # 60 roots with 30 copies each: the copies add no information about the mean
    rng = np.random.default_rng(7)
    root_ret = rng.normal(0, 0.05, 60)
    ret = np.repeat(root_ret, 31)
    is_copy = np.tile(np.r_[False, np.ones(30, dtype=bool)], 60)
    trade_id = np.arange(ret.size) + 1
    root = np.where(is_copy, np.repeat(trade_id[::31], 31), -1)
    closed = np.ones(ret.size, dtype=bool)
    by_root = social_vs_single_by_root(ret, is_copy, closed, trade_id, root, n_boot=400, seed=2)
    by_trade = mean_median_interval(ret[is_copy], n_boot=400, seed=2)
    root_width = by_root["social_mean"]["hi"] - by_root["social_mean"]["lo"]
    trade_width = by_trade["mean_hi"] - by_trade["mean_lo"]
    # sd of a mean over 60 roots vs over 1,800 copies treated as independent: ~sqrt(30)
    assert root_width / trade_width == pytest.approx(np.sqrt(30), rel=0.35)


def test_analyze_reports_the_nulls():
    ds = echo_log()
    res = analyze(ds, n_boot=20, n_null=3, n_perm=20)
    f = res.findings
    assert f["idea_flow_null"]["null"] == "shift"
    assert "by_root" in f["social_vs_single"]
    assert "excess idea flow over chance" in ideaflow.text(res)


def test_shift_null_matches_a_brute_force_reference_on_the_sample():
    ds = load_dataset(SAMPLE)
    out = idea_flow_null(ds, null="shift", n_null=2, seed=5, max_queries=1500)
    tr, f = ds.trades, ds.follows
    rng = np.random.default_rng(5)
    originals = np.flatnonzero(tr.parent < 0)
    query = np.sort(rng.choice(originals, size=1500, replace=False))
    start = int(tr.open_time.min())
    span = int(ds.data_end) - start
    window = 24 * H.value
    key = tr.instrument.astype(np.int64) * 2 + (tr.side > 0)
    shares = []
    for _ in range(2):
        offsets = rng.integers(int(0.05 * span), int(0.95 * span), ds.n_traders)
        moved = start + (tr.open_time - start + offsets[tr.trader]) % span
        hits = 0
        for j in query:
            u, t = tr.trader[j], tr.open_time[j]
            active = (f.follower == u) & (f.start_time <= t) & (t < f.end_time)
            leaders = f.leader[active]
            if leaders.size == 0:
                continue
            cand = np.isin(tr.trader, leaders) & (key == key[j])
            hits += bool(np.any(cand & (moved >= t - window) & (moved <= t)))
        shares.append(hits / 1500)
    assert out["n_queried"] == 1500
    assert out["null_original_share"] == pytest.approx(np.mean(shares), abs=1e-15)


def test_analyze_checks_the_null_options():
    ds = echo_log()
    with pytest.raises(ParameterError, match="n_null: expected an integer >= 1; found 0"):
        analyze(ds, n_null=0)
    with pytest.raises(ParameterError, match="null: expected one of shift, shuffle; found 'x'"):
        analyze(ds, null="x")
