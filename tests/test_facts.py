"""Stylized facts (`ideaflow.analytics.facts`, `ideaflow facts`), values worked out here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import special
from scipy import stats as sps

from ideaflow.analytics import facts, power_law_tail
from ideaflow.analytics.facts import new_follows
from ideaflow.analytics.tails import discrete_power_law_alpha
from ideaflow.cli import main
from ideaflow.errors import ParameterError
from ideaflow.reporting.facts import facts_table
from test_analytics import T0, D, H, make_ds

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"

# ------------------------------------------------------------------ power-law tail


def test_discrete_power_law_mle_solves_the_likelihood_equation():
    k = sps.zipf(2.5).rvs(4000, random_state=np.random.default_rng(1))
    alpha = discrete_power_law_alpha(k, 1)
    # d/d alpha of the log-likelihood: -n zeta'(alpha)/zeta(alpha) - sum ln k = 0
    h = 1e-6
    dlogzeta = (math.log(special.zeta(alpha + h, 1)) - math.log(special.zeta(alpha - h, 1))) / (
        2 * h
    )
    assert -dlogzeta == pytest.approx(np.log(k).mean(), rel=1e-5)
    assert alpha == pytest.approx(2.5, abs=0.06)


def test_tail_fit_reports_its_range_and_covers_the_planted_exponent():
    rng = np.random.default_rng(2)
    # a body that is not a power law (uniform on 1..4) and a Zipf(2.2) tail from 5 on
    body = rng.integers(1, 5, 3000)
    tail = sps.zipf(2.2).rvs(20000, random_state=rng)
    tail = tail[tail >= 5][:1500]
    out = power_law_tail(np.r_[body, tail, np.zeros(100, dtype=np.int64)], n_boot=100, seed=1)
    assert out["n_with_followers"] == 4500
    assert out["k_min"] >= 4 and out["k_max"] == tail.max()
    assert out["lo"] <= 2.2 <= out["hi"]
    assert out["value"] == pytest.approx(2.2, abs=0.12)


def test_tail_fit_needs_enough_traders():
    out = power_law_tail(np.array([1, 2, 3]), min_tail=50, n_boot=10)
    assert math.isnan(out["value"]) and "fewer than 50" in out["error"]


# ------------------------------------------------------------------ facts by hand


def hand_log():
    # trader 1 wins 10, trader 2 loses 10, trader 3 copies trader 1 (wins), trader 4 flat
    return make_ds(
        [
            (1, 1, "EURUSD", 1, T0, T0 + D, 1.0, 1.1),
            (2, 2, "EURUSD", 1, T0, T0 + 2 * D, 1.0, 0.9),
            (3, 3, "EURUSD", 1, T0, T0 + D, 1.0, 1.1, 1),
            (4, 4, "GBPUSD", -1, T0 + H, T0 + H + 3 * D, 1.0, 1.0),
        ],
        [(3, 1, T0 - H, None)],
    )


def test_facts_on_a_hand_built_log():
    f = facts(hand_log(), n_boot=50, min_tail=5).facts
    ls = f["losing_share"]
    assert ls["value"] == 0.25 and ls["n"] == 4 and ls["n_losing"] == 1
    # Wilson interval for 1 of 4 at 95%
    z = sps.norm.ppf(0.975)
    centre = (0.25 + z * z / 8) / (1 + z * z / 4)
    half = z * math.sqrt(0.25 * 0.75 / 4 + z * z / 64) / (1 + z * z / 4)
    assert ls["lo"] == pytest.approx(centre - half) and ls["hi"] == pytest.approx(centre + half)
    assert ls["published"]["interval"] == [0.74, 0.89]
    assert f["copy_share"]["value"] == 0.25 and f["copy_share"]["n_copies"] == 1
    # originals held 1, 2 and 3 days
    assert f["holding_hours"]["value"] == 48.0 and f["holding_hours"]["n"] == 3
    assert f["leverage"]["value"] == 1.0 and f["leverage"]["share_10x_or_more"] == 0.0
    # one original each over at most a month: one per month active
    assert f["trading_frequency"]["value"] == 1.0 and f["trading_frequency"]["n"] == 3
    # trader 1 carries the only copy and the only follow
    lc = f["leader_concentration"]
    assert lc["value"] == 1.0 and lc["n"] == 1
    assert f["roi"]["n"] == 4
    table = facts_table(f)
    assert "share of accounts losing money" in table and "74-89% [4]" in table


def test_facts_rejects_bad_options_and_empty_logs():
    with pytest.raises(ParameterError, match="n_boot: expected an integer >= 0; found -1"):
        facts(hand_log(), n_boot=-1)
    with pytest.raises(ParameterError, match="bins_x: not an option of facts"):
        facts(hand_log(), bins_x=3)


# ------------------------------------------------------------------ the command


def test_facts_command_writes_json_and_plot_deterministically(tmp_path):
    args = ["facts", str(SAMPLE), "--n-boot", "30", "--no-progress"]
    first = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "share of accounts losing money" in first.output
    assert "follower in-degree tail exponent (MLE)" in first.output
    second = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert second.exit_code == 0
    for name in ("facts.json", "facts.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    data = json.loads((tmp_path / "a" / "facts.json").read_text())
    assert {"losing_share", "copy_share", "in_degree_tail", "exploration_slope"} <= set(data)
    assert 0 < data["losing_share"]["value"] < 1
    assert data["in_degree_tail"]["k_min"] >= 1


def test_facts_command_bad_input_exits_2(tmp_path):
    result = CliRunner().invoke(
        main, ["facts", str(SAMPLE), "--out", str(tmp_path / "o"), "--n-boot", "-5"]
    )
    assert result.exit_code == 2
    assert "n_boot: expected an integer >= 0; found -5" in result.output
    assert "Traceback" not in result.output


def test_new_follows_counts_starts_in_half_open_periods():
    ds = make_ds(
        [(1, 1, "EURUSD", 1, T0, T0 + D, 1.0, 1.1), (2, 5, "EURUSD", 1, T0, T0 + D, 1.0, 1.0)],
        [(2, 1, T0 + D, None), (3, 1, T0 + 2 * D, None), (4, 1, T0 + 5 * D, None)],
    )
    leader = int(ds.trader_code(1))
    other = int(ds.trader_code(5))
    t = np.array([(T0 + D).value, T0.value, T0.value], dtype=np.int64)
    to = np.array([(T0 + 5 * D).value, (T0 + D).value, (T0 + 9 * D).value], dtype=np.int64)
    got = new_follows(ds, np.array([leader, leader, other]), t, to)
    # (1d, 5d]: the starts at 2d and 5d; (0, 1d]: the start at 1d; nobody follows 5
    assert got.tolist() == [2, 1, 0]
