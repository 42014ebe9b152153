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


# ------------------------------------------------- the exploration study's own procedure


def test_study_procedure_hand_worked_on_six_points():
    # x = 1..6 in 3 equal-count bins {1, 2}, {3, 4}, {5, 6}: bin means 1.5, 3.5, 5.5 and
    # y means 1, 2, 4. The study fits the bin means on ln(mean x), unweighted.
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = np.array([0.5, 1.5, 1.0, 3.0, 3.5, 4.5])
    fit = binned_fit(x, y, bins=3, transform="log", procedure="study", n_boot=0)
    assert fit.table["n"].tolist() == [2, 2, 2]
    assert fit.table["x_mean"].tolist() == [1.5, 3.5, 5.5]
    assert fit.table["y_mean"].tolist() == [1.0, 2.0, 4.0]
    t = np.log([1.5, 3.5, 5.5])
    ybin = np.array([1.0, 2.0, 4.0])
    slope = ((t - t.mean()) * (ybin - ybin.mean())).sum() / ((t - t.mean()) ** 2).sum()
    intercept = ybin.mean() - slope * t.mean()
    resid = ybin - intercept - slope * t
    r2 = 1 - (resid**2).sum() / ((ybin - ybin.mean()) ** 2).sum()
    assert fit.slope == pytest.approx(slope, rel=1e-12)
    assert fit.coef[0] == pytest.approx(intercept, rel=1e-12)
    assert fit.r2 == pytest.approx(r2, rel=1e-12)
    assert fit.df_resid == 1 and fit.fit_on == "bins" and fit.procedure == "study"
    # today's default on bins uses the mean of ln x (ln 1.5 != (ln 1 + ln 2) / 2), and so
    # gives a different line
    default = binned_fit(x, y, bins=3, transform="log", fit_on="bins", n_boot=0)
    assert abs(default.slope - fit.slope) > 0.01


def test_study_procedure_reproduces_slope_intercept_and_r2_computed_by_hand():
    # 3,359 traders as in the study's per-trader data: gamma log-normal, performance
    # rising with ln(gamma) plus heavy noise; the reference is computed here step by step
    rng = np.random.default_rng(2025)
    n = 3359
    gamma = np.exp(rng.normal(-1.0, 1.2, n))
    performance = 0.0206 * np.log(gamma) + 0.01 + rng.standard_t(3, n) * 0.05
    fit = binned_fit(gamma, 100 * performance, bins=10, procedure="study", n_boot=0)

    # deciles by hand: edges at the 0, 10, ..., 100% quantiles (linear interpolation),
    # right-closed bins with the minimum in the first one
    edges = np.quantile(gamma, np.linspace(0, 1, 11))
    label = np.clip(np.searchsorted(edges, gamma, side="left") - 1, 0, 9)
    counts = np.bincount(label, minlength=10)
    assert counts.tolist() == fit.table["n"].tolist()
    assert set(counts.tolist()) <= {335, 336}
    mean_g = np.array([gamma[label == b].mean() for b in range(10)])
    mean_p = np.array([performance[label == b].mean() for b in range(10)])
    t = np.log(mean_g)
    y = 100 * mean_p
    slope = ((t - t.mean()) * (y - y.mean())).sum() / ((t - t.mean()) ** 2).sum()
    intercept = y.mean() - slope * t.mean()
    r2 = 1 - ((y - intercept - slope * t) ** 2).sum() / ((y - y.mean()) ** 2).sum()

    assert fit.slope == pytest.approx(slope, rel=1e-10)
    assert fit.coef[0] == pytest.approx(intercept, rel=1e-10)
    assert fit.r2 == pytest.approx(r2, rel=1e-10)
    assert fit.df_resid == 8
    # the planted slope is 2.06 (in 100 x performance per ln unit); ten bin means of
    # heavy-tailed data recover it to within a few tenths
    assert fit.slope == pytest.approx(2.06, abs=0.4)


def test_study_procedure_with_exact_bins_recovers_the_line_exactly():
    # ten point masses of 100 traders each: bin means are the values themselves, so the
    # line through them is the planted one and R^2 is 1
    g = np.repeat(np.exp(np.linspace(-3.0, 1.5, 10)), 100)
    perf = 0.05 + 0.0206 * np.log(g)
    fit = binned_fit(g, 100 * perf, bins=10, procedure="study", n_boot=0)
    assert fit.slope == pytest.approx(2.06, rel=1e-9)
    assert fit.coef[0] == pytest.approx(5.0, rel=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)


def test_study_procedure_needs_a_linear_fit():
    with pytest.raises(ParameterError, match="fit: procedure 'study' is a linear fit"):
        binned_fit(np.arange(1.0, 31.0), np.arange(30.0), fit="quadratic", procedure="study")
    with pytest.raises(ParameterError, match="procedure: expected one of default, study"):
        binned_fit(np.arange(1.0, 31.0), np.arange(30.0), procedure="paper")


def test_hc3_standard_errors_against_a_hand_computed_sandwich():
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, 400)
    y = 1.0 + 2.0 * x + rng.normal(0, 0.1 + x, x.size)  # variance grows with x
    fit = binned_fit(x, y, bins=5, transform="linear", cov_type="HC3", n_boot=0)
    design = np.column_stack([np.ones_like(x), x])
    bread = np.linalg.inv(design.T @ design)
    beta = bread @ design.T @ y
    resid = y - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    meat = (design * (resid / (1 - leverage))[:, None] ** 2).T @ design
    se = np.sqrt(np.diag(bread @ meat @ bread))
    assert fit.coef == pytest.approx(beta, rel=1e-10)
    assert fit.stderr == pytest.approx(se, rel=1e-10)
    assert fit.cov_type == "HC3"
    classical = binned_fit(x, y, bins=5, transform="linear", n_boot=0)
    assert classical.stderr[1] != pytest.approx(se[1], rel=0.01)
