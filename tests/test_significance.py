"""Bootstrap p-values, Holm's adjustment, uplift against a base away from zero, verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from ideaflow.errors import ParameterError
from ideaflow.significance import bootstrap_p_values, holm, uplift_or_points, verdict


def test_holm_by_hand():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06
    got = holm(np.array([0.01, 0.04, 0.03, 0.005]))
    np.testing.assert_allclose(got, [0.03, 0.06, 0.06, 0.02])
    # NaNs are not in the family (m = 2); adjusted values are capped at 1
    np.testing.assert_allclose(holm(np.array([np.nan, 0.2, 0.5])), [np.nan, 0.4, 0.5])
    np.testing.assert_allclose(holm(np.array([0.6, 0.7])), [1.0, 1.0])
    assert holm(np.array([])).shape == (0,)
    with pytest.raises(ParameterError, match=r"p_values: expected numbers in \[0, 1\]"):
        holm(np.array([0.2, 1.5]))


def _holm_reference(p: list[float]) -> list[float]:
    """Holm's definition, loop by loop: the i-th smallest (1-based) of m gets
    max over j <= i of min(1, (m - j + 1) * p_(j))."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - rank + 1) * p[i]))
        out[i] = running
    return out


def test_holm_agrees_with_its_definition():
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 30)))
        np.testing.assert_allclose(holm(p), _holm_reference(p.tolist()))


def test_bootstrap_p_values_by_hand():
    boot = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])  # deviations -2, -1, 0, 1, 2
    # |deviation| >= 1.5 twice: (1 + 2) / (5 + 1)
    assert bootstrap_p_values(np.array([1.5]), boot)[0] == pytest.approx(0.5)
    assert bootstrap_p_values(np.array([-2.5]), boot)[0] == pytest.approx(1 / 6)
    assert bootstrap_p_values(np.array([0.0]), boot)[0] == pytest.approx(1.0)
    assert np.isnan(bootstrap_p_values(np.array([np.nan]), boot)[0])
    with pytest.raises(ParameterError, match="boot: expected 2 columns"):
        bootstrap_p_values(np.array([1.0, 2.0]), boot)


def test_uplift_only_against_a_base_away_from_zero():
    assert uplift_or_points(0.13, 0.10, 0.05, 0.15) == pytest.approx(30.0)
    assert uplift_or_points(-0.05, -0.10, -0.15, -0.02) == pytest.approx(50.0)
    assert np.isnan(uplift_or_points(0.13, 0.001, -0.01, 0.02))  # base near zero


def test_verdict_words():
    line = verdict("matched", "diverse", "isolation", 0.0123, 0.004, 0.021, 0.012)
    assert line == (
        "at matched exposure, diverse beats isolation by 1.23 points [+0.40, +2.10] "
        "of mean ROI (Holm p = 0.012)"
    )
    line = verdict("as-logged", "placebo", "isolation", -0.01, -0.02, -0.005)
    assert (
        line
        == "at as-logged exposure, placebo trails isolation: -1.00 points [-2.00, -0.50] of mean ROI"
    )
    line = verdict("matched", "placebo", "isolation", 0.001, -0.002, 0.004, 1.0)
    assert line.startswith(
        "at matched exposure, placebo is indistinguishable from isolation: +0.10"
    )
