"""Bootstraps for comparing strategies: hand-worked cases and a null-platform coverage check."""

from __future__ import annotations

import numpy as np
import pytest

from ideaflow.errors import ParameterError
from ideaflow.stats import (
    block_interval,
    block_intervals,
    moving_block_bootstrap,
    per_subject_bootstrap,
    per_subject_interval,
    per_subject_intervals,
    relative_uplift,
    share_beating,
)


def test_moving_blocks_of_a_tiny_series():
    # blocks of 2 from [1, 2, 3, 4] sum to 3, 5 or 7; two blocks per replicate
    boot = moving_block_bootstrap(np.array([1.0, 2.0, 3.0, 4.0]), block=2, n_boot=400, seed=1)
    assert set(np.unique(boot)) <= {6.0, 8.0, 10.0, 12.0, 14.0}
    assert len(np.unique(boot)) == 5
    assert boot.mean() == pytest.approx(10.0, abs=0.3)
    # a partial last block: T = 5, block 2 -> two blocks and one day
    boot5 = moving_block_bootstrap(np.arange(1.0, 6.0), block=2, n_boot=50, seed=0)
    assert boot5.min() >= 3 + 3 + 1 and boot5.max() <= 9 + 9 + 4


def test_one_block_covering_everything_gives_the_total():
    series = np.array([0.5, -1.0, 2.0])
    boot = moving_block_bootstrap(series, block=10, n_boot=20, seed=0)
    np.testing.assert_allclose(boot, 1.5)
    interval = block_interval(series, block=10, n_boot=20)
    assert (interval.estimate, interval.low, interval.high) == (1.5, 1.5, 1.5)
    assert interval.method == "block" and interval.covers(1.5)


def test_columns_share_the_same_blocks():
    series = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    boot = moving_block_bootstrap(series, block=3, n_boot=100, seed=2)
    np.testing.assert_allclose(boot[:, 1], 2 * boot[:, 0])
    est, lo, hi = block_intervals(series, block=3, n_boot=100, seed=2)
    np.testing.assert_allclose(est, [45.0, 90.0])
    assert np.all(lo <= est) and np.all(est <= hi)


def test_per_subject_bootstrap_and_helpers():
    interval = per_subject_interval(np.array([0.1, 0.1, 0.1]), n_boot=50)
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((0.1, 0.1, 0.1))
    assert interval.method == "per_subject"
    boot = per_subject_bootstrap(np.array([0.0, 1.0]), n_boot=1000, seed=0)
    assert set(np.unique(boot)) == {0.0, 0.5, 1.0}
    assert relative_uplift(0.13, 0.10) == pytest.approx(30.0)
    assert relative_uplift(-0.05, -0.10) == pytest.approx(50.0)
    assert np.isnan(relative_uplift(0.1, 0.0))
    assert share_beating(
        np.array([1.0, 2.0, 3.0, np.nan]), np.array([0.0, 2.0, 4.0, 1.0])
    ) == pytest.approx(1 / 3)


def test_bad_bootstrap_parameters_are_named():
    with pytest.raises(ParameterError, match="block_days: expected an integer >= 1; found 0"):
        moving_block_bootstrap(np.zeros(5), block=0)
    with pytest.raises(ParameterError, match="n_boot: expected an integer >= 10"):
        block_interval(np.zeros(5), n_boot=3)
    with pytest.raises(ParameterError, match=r"alpha: expected a number in \(0, 1\)"):
        per_subject_interval(np.zeros(5), alpha=1.5)


def test_null_platform_block_intervals_cover_zero_about_95_percent():
    """Strategy differences with zero true mean, correlated across subjects through a
    common market factor (with mild autocorrelation): the moving-block interval of the
    mean covers 0 in about 95% of platforms; the per-subject one is overconfident."""
    rng = np.random.default_rng(12345)
    reps, days, subjects = 200, 250, 60
    shocks = rng.normal(size=(days, reps))
    factor = np.empty_like(shocks)
    factor[0] = shocks[0]
    for t in range(1, days):  # AR(1), phi = 0.3
        factor[t] = 0.3 * factor[t - 1] + shocks[t]
    beta = rng.normal(1.0, 0.3, size=(subjects, reps))
    noise = rng.normal(size=(days, subjects, reps))
    diff = beta[None, :, :] * factor[:, None, :] + noise  # (day, subject, replication)
    daily_mean = diff.mean(axis=1)  # (day, replication)
    estimate, low, high = block_intervals(daily_mean, block=10, n_boot=1000, seed=7)
    block_coverage = np.mean((low <= 0.0) & (high >= 0.0))
    assert 0.88 <= block_coverage <= 0.99

    per_subject = diff.sum(axis=0)  # each subject's total difference (subject, replication)
    boot = per_subject_bootstrap(per_subject, n_boot=500, seed=7)  # (boot, replication)
    lo, hi = np.quantile(boot, [0.025, 0.975], axis=0)
    naive_coverage = np.mean((lo <= 0.0) & (hi >= 0.0))
    assert naive_coverage < 0.5 < block_coverage


@pytest.mark.parametrize("shape", [(1001,), (257, 3)])
def test_per_subject_bootstrap_blocks_give_the_one_shot_replicates(monkeypatch, shape):
    import ideaflow.stats as stats_module

    values = np.random.default_rng(3).normal(0.01, 0.05, shape)
    # the one-shot reference: every replicate's subjects drawn at once, each column's
    # replicate mean taken by numpy over that column's resampled values
    idx = np.random.default_rng(9).integers(0, shape[0], size=(137, shape[0]))
    columns = values.reshape(shape[0], -1)
    expected = np.stack([columns[:, c][idx].mean(axis=1) for c in range(columns.shape[1])], 1)
    expected = expected.reshape((137,) + shape[1:])
    # blocks of 3 replicates (the last one shorter): the same draws, the same means
    monkeypatch.setattr(stats_module, "BOOT_CELLS", 3 * shape[0])
    got = per_subject_bootstrap(values, n_boot=137, seed=9)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ParameterError, match="n_boot: expected an integer >= 10"):
        per_subject_bootstrap(values, n_boot=5, seed=9)


def test_per_subject_intervals_equal_one_call_per_column():
    """The batched intervals (one set of draws per number of finite values) are exactly
    the intervals of one call per column, non-finite values left out."""
    rng = np.random.default_rng(4)
    a = rng.normal(0.01, 0.05, 300)
    b = rng.normal(0.0, 0.02, 300)
    c = a.copy()
    c[[3, 70]] = np.nan  # fewer finite values: drawn apart
    d = np.full(5, np.inf)  # none finite
    got = per_subject_intervals([a, b, c, a - b, d], n_boot=200, seed=5)
    for column, interval in zip([a, b, c, a - b], got[:4], strict=True):
        assert interval == per_subject_interval(column, n_boot=200, seed=5)
    finite_c = c[np.isfinite(c)]
    idx = np.random.default_rng(5).integers(0, 298, size=(200, 298))
    lo, hi = np.quantile(finite_c[idx].mean(axis=1), [0.025, 0.975])
    assert (got[2].estimate, got[2].low, got[2].high) == (finite_c.mean(), lo, hi)
    assert np.isnan([got[4].estimate, got[4].low, got[4].high]).all()
    assert got[4].method == "per_subject"


def test_pairwise_sum_kernel_is_numpy_sum_bit_for_bit():
    from ideaflow.kernels.bootstrap import pairwise_sum_nb, resampled_means_nb

    rng = np.random.default_rng(6)
    for n in [1, 7, 8, 9, 127, 128, 129, 255, 256, 257, 1000, 4097, 70_001]:
        x = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-8, 8, n)
        assert pairwise_sum_nb(x, 0, n) == np.add.reduce(x)
        assert pairwise_sum_nb(x, 1, n - 1) == np.add.reduce(x[1:])
    values = rng.normal(size=(2, 1001))
    idx = rng.integers(0, 1001, size=(3, 1001))
    expected = np.stack([values[0][idx].mean(axis=1), values[1][idx].mean(axis=1)], axis=1)
    np.testing.assert_array_equal(resampled_means_nb(values, idx), expected)
