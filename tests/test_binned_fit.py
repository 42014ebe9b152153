"""`binned_fit`: bins, coefficients, R^2 and p-values on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from ideaflow.analytics import binned_fit
from ideaflow.errors import ParameterError


def test_recovers_a_log_linear_relation():
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(0, 4, 4000))
    y = 0.5 + 0.02 * np.log(x) + rng.normal(0, 0.01, x.size)
    fit = binned_fit(x, y, bins=8, transform="log", fit="linear", n_boot=50)
    assert fit.slope == pytest.approx(0.02, abs=0.0005)
    assert fit.coef[0] == pytest.approx(0.5, abs=0.001)
    assert fit.pvalues[1] < 1e-10
    # R^2 = var(signal) / var(y) = 0.02^2 * 16/12 / (0.02^2 * 16/12 + 0.01^2) = 0.842
    assert fit.r2 == pytest.approx(0.842, abs=0.015)
    assert len(fit.table) == 8
    assert fit.table["n"].tolist() == [500] * 8


def test_quadratic_fit_matches_scipy_linregress_style_inference():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, 3000)
    y = 1.0 + 2.0 * x - 3.0 * x**2 + rng.normal(0, 0.2, x.size)
    fit = binned_fit(x, y, bins=10, transform="linear", fit="quadratic", n_boot=0)
    assert fit.coef == pytest.approx([1.0, 2.0, -3.0], abs=0.08)
    assert fit.curvature < 0 and fit.pvalues[2] < 1e-20
    # vertex of 1 + 2x - 3x^2 at 1/3, inside [0, 1]
    assert fit.peak_x == pytest.approx(1 / 3, abs=0.02)
    assert fit.peak_inside


def test_exact_line_and_its_standard_errors_against_linregress():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 10, 200)
    y = 3.0 - 0.5 * x + rng.normal(0, 1.0, x.size)
    fit = binned_fit(x, y, bins=5, transform="linear", fit="linear", n_boot=0)
    ref = sps.linregress(x, y)
    assert fit.slope == pytest.approx(ref.slope)
    assert fit.coef[0] == pytest.approx(ref.intercept)
    assert fit.stderr[1] == pytest.approx(ref.stderr)
    assert fit.pvalues[1] == pytest.approx(ref.pvalue)
    assert fit.r2 == pytest.approx(ref.rvalue**2)
    assert fit.df_resid == 198


def test_no_relation_gives_no_significant_slope():
    rng = np.random.default_rng(4)
    x = rng.uniform(1, 100, 2000)
    y = rng.normal(0, 1, x.size)
    fit = binned_fit(x, y, bins=10, transform="log", n_boot=0)
    assert fit.pvalues[1] > 0.05
    assert fit.r2 < 0.01


def test_point_masses_get_their_own_quantile_bins():
    x = np.r_[np.zeros(40), np.linspace(0.01, 0.99, 50), np.ones(10)]
    y = np.r_[np.full(40, 1.0), np.full(50, 2.0), np.full(10, 3.0)]
    fit = binned_fit(x, y, bins=10, transform="linear", fit="linear", n_boot=0)
    table = fit.table
    assert table["n"].iloc[0] == 40 and table["x_hi"].iloc[0] == 0.0
    assert table["n"].iloc[-1] == 10 and table["x_lo"].iloc[-1] == 1.0
    assert table["y_mean"].iloc[0] == 1.0 and table["y_mean"].iloc[-1] == 3.0
    assert table["n"].sum() == 100


def test_hand_worked_bins_and_intervals():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 3.0, 5.0, 7.0])
    fit = binned_fit(x, y, bins=2, transform="linear", fit="linear", n_boot=200, seed=1)
    assert fit.table["n"].tolist() == [2, 2]
    assert fit.table["y_mean"].tolist() == [2.0, 6.0]
    assert fit.table["x_mean"].tolist() == [1.5, 3.5]
    assert fit.slope == pytest.approx(2.0)
    assert fit.r2 == pytest.approx(1.0)
    lo, hi = fit.table["y_lo"].iloc[0], fit.table["y_hi"].iloc[0]
    assert 1.0 <= lo <= 2.0 <= hi <= 3.0


def test_fit_on_bin_means():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 5000)
    y = 4.0 * x + rng.normal(0, 0.1, x.size)
    fit = binned_fit(x, y, bins=10, transform="linear", fit_on="bins", n_boot=0)
    assert fit.slope == pytest.approx(4.0, abs=0.05)
    assert fit.df_resid == 8


def test_log_transform_drops_non_positive_and_counts_them():
    x = np.array([-1.0, 0.0, 1.0, 2.0, 4.0, 8.0, np.nan])
    y = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 1.0])
    fit = binned_fit(x, y, bins=2, transform="log", n_boot=0)
    assert fit.n == 4 and fit.n_dropped == 3
    assert fit.slope == pytest.approx(1 / np.log(2))
    assert fit.bin_of_point.tolist() == [-1, -1, 0, 0, 1, 1, -1]


def test_to_dict_is_json_ready():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, 100)
    fit = binned_fit(x, x**2, bins=4, transform="linear", fit="quadratic", n_boot=20)
    d = fit.to_dict()
    assert set(d["coef"]) == {"intercept", "slope", "curvature"}
    assert d["coef"]["curvature"] == pytest.approx(1.0)
    assert len(d["bins"]) == 4 and "peak_inside" in d


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transform": "sqrt"}, "transform: expected one of log, linear; found 'sqrt'"),
        ({"fit": "cubic"}, "fit: expected one of linear, quadratic"),
        ({"bins": 0}, "bins: expected an integer >= 1; found 0"),
        ({"binning": "kmeans"}, "binning: expected one of quantile, uniform"),
        ({"fit_on": "all"}, "fit_on: expected one of points, bins"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        binned_fit(np.arange(1.0, 11.0), np.arange(10.0), **kwargs)


def test_too_few_points_and_mismatched_lengths():
    with pytest.raises(ParameterError, match="at least 4 usable points"):
        binned_fit(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), fit="quadratic")
    with pytest.raises(ParameterError, match="same length; found 3 and 2"):
        binned_fit(np.ones(3), np.ones(2))


def test_two_point_masses_and_equal_count_bins_between_them():
    x = np.r_[np.zeros(60), np.linspace(0.05, 0.95, 96), np.ones(30)]
    y = x.copy()
    fit = binned_fit(x, y, bins=10, transform="linear", fit="linear", n_boot=0)
    n = fit.table["n"].tolist()
    # zeros and ones are point masses (> 186 / 10 points each): the other 96 points fill
    # the remaining 8 bins with 12 each
    assert n == [60] + [12] * 8 + [30]
    assert fit.table["x_mean"].is_monotonic_increasing
