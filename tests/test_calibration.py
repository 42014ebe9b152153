"""The calibrated generator: its facts match the stylized facts within the tolerances of
the calibration table (datasets/README.md), on a reduced `calibrated` preset, and one
override (`planted=false`) gives the null platform."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ideaflow.analytics import facts
from ideaflow.io import dataset_from_frames
from ideaflow.synth import PRESETS, generate, resolve_params

REDUCED = {"n_traders": 800, "days": 120}


def facts_of(overrides: dict, seed: int = 0) -> dict:
    platform = generate("calibrated", seed=seed, overrides=overrides)
    fr = platform.frames()
    ds = dataset_from_frames(fr["trades"], fr["follows"], fr["prices"], fr["accounts"])
    return facts(ds, n_boot=50, min_tail=30).facts


@pytest.fixture(scope="module")
def planted():
    return facts_of(REDUCED)


@pytest.fixture(scope="module")
def null():
    return facts_of({**REDUCED, "planted": "false"})


def test_losing_majority_after_costs(planted):
    # target: 70-80% of accounts losing (brokers' disclosures; ESMA 2018: 74-89%);
    # tolerance 0.65-0.85
    assert 0.65 <= planted["losing_share"]["value"] <= 0.85


def test_follower_in_degree_is_heavy_tailed(planted):
    # target: a power-law tail, 2 <= alpha <= 4.5, fitted over a range of follower counts
    # spanning at least a factor of 5 (800 traders; a decade and more on full presets)
    tail = planted["in_degree_tail"]
    assert 2.0 <= tail["value"] <= 4.5
    assert tail["k_max"] >= 5 * tail["k_min"]


def test_popularity_weighs_far_more_than_performance(planted):
    # target: popularity weighs >= 5x performance in whom people start to mirror
    assert planted["mirror_choice"]["ratio_lower_bound"] >= 5.0
    assert planted["mirror_choice"]["b_popularity"]["lo"] > 0


def test_explorers_do_better(planted):
    # target: the sign of the 2025 study's exploration slope (positive)
    assert planted["exploration_slope"]["value"] > 0


def test_the_null_platform_is_one_override_away(planted, null):
    params = resolve_params("calibrated", {"planted": "false"})
    assert params.social_learning == 0 and params.w_popularity == 0 and not params.planted
    assert params.explore_skill_corr == 0 and params.cluster_error == 0
    # without preferential attachment the tail is light, and popularity no longer leads
    assert null["in_degree_tail"]["value"] > planted["in_degree_tail"]["value"] + 1
    assert null["mirror_choice"]["ratio_lower_bound"] < 2.0


def test_skill_can_be_negative_and_explorers_are_ranked_by_it():
    p = PRESETS["calibrated"]
    a = generate("calibrated", seed=1, overrides=REDUCED).truth
    skill = a["skill"].to_numpy()
    assert skill.min() < 0 < skill.max()
    # Normal(-1.0, 1.2): the sample mean within 4 standard errors
    assert abs(skill.mean() - p.skill_mean) < 4 * p.skill_scale / math.sqrt(skill.size)
    # Gaussian copula with rho = 0.8: Spearman = 6/pi * asin(rho / 2) = 0.786
    expected = 6 / np.pi * np.arcsin(p.explore_skill_corr / 2)
    rho = sps.spearmanr(skill, a["exploration_rate"]).statistic
    assert rho == pytest.approx(expected, abs=0.05)
    # the copula only re-pairs: the same draws of exploration rates, in another order
    b = generate("calibrated", seed=1, overrides={**REDUCED, "explore_skill_corr": 0.0}).truth
    assert np.array_equal(np.sort(a["exploration_rate"]), np.sort(b["exploration_rate"]))
    assert np.array_equal(a["skill"], b["skill"])


def test_default_skill_is_still_exponential():
    truth = generate("tiny", seed=0).truth
    assert truth["skill"].min() >= 0
