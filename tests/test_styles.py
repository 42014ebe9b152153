"""Style features over a window, by hand, and their clustering."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ideaflow.data import NS_PER_DAY
from ideaflow.io import dataset_from_frames
from ideaflow.styles import FEATURE_NAMES, cluster_styles, fit_style_clusters, style_features

T0 = pd.Timestamp("2021-01-01", tz="UTC")


def _ds():
    h = pd.Timedelta(hours=1)
    d = pd.Timedelta(days=1)
    rows = [
        # trader, instrument, side, open, hold, leverage, close_price
        (1, "EURUSD", 1, T0, 1 * h, 1.0, 1.1),  # pnl +100 on day 0
        (1, "EURUSD", 1, T0 + d, 3 * h, 2.0, 0.9),  # pnl -200 on day 1
        (1, "GBPUSD", -1, T0 + 2 * d, 1 * h, 1.0, 1.0),  # pnl 0 on day 2
        (2, "GBPUSD", 1, T0 + 3 * d, 7 * h, 1.0, 1.05),  # +50 on day 3
        (2, "GBPUSD", -1, T0, 2 * h, 1.0, 1.02),  # -20 on day 0
        (3, "GBPUSD", 1, T0, 1 * h, 1.0, 1.0),  # only one position: no row
        (2, "OIL", 1, T0 - 2 * d, 1 * h, 1.0, 1.0),  # closed before the window
        (1, "OIL", 1, T0 + 9 * d, 1 * d, 1.0, 1.0),  # closed at the window's end
        (2, "OIL", 1, T0 + 5 * d, None, 1.0, None),  # still open
    ]
    trades = pd.DataFrame(
        {
            "trade_id": np.arange(1, len(rows) + 1),
            "trader_id": [r[0] for r in rows],
            "instrument": [r[1] for r in rows],
            "side": np.array([r[2] for r in rows], dtype=np.int8),
            "open_time": [r[3] for r in rows],
            "close_time": pd.Series(
                [pd.NaT if r[4] is None else r[3] + r[4] for r in rows], dtype="datetime64[ns, UTC]"
            ),
            "open_price": 1.0,
            "close_price": [np.nan if r[6] is None else r[6] for r in rows],
            "amount": 1000.0,
            "leverage": [r[5] for r in rows],
        }
    )
    return dataset_from_frames(trades)


def test_style_features_by_hand():
    ds = _ds()
    start = int(T0.value)
    feats = style_features(ds, start, start + 10 * NS_PER_DAY, min_history=2)
    assert feats.names == FEATURE_NAMES
    assert ds.trader_ids[feats.traders].tolist() == [1, 2]
    assert feats.n_closed.tolist() == [3, 2]
    np.testing.assert_allclose(feats.pnl, [-100.0, 30.0])
    m = dict(zip(FEATURE_NAMES, feats.matrix.T))
    # the window's most traded instruments: GBPUSD (4 closes, with trader 3's), EURUSD (2)
    np.testing.assert_allclose(m["inst_share_1"], [1 / 3, 1.0])
    np.testing.assert_allclose(m["inst_share_2"], [2 / 3, 0.0])
    np.testing.assert_allclose(m["inst_share_3"], [0.0, 0.0])
    np.testing.assert_allclose(m["inst_concentration"], [5 / 9, 1.0])
    np.testing.assert_allclose(m["long_share"], [2 / 3, 1 / 2])
    np.testing.assert_allclose(
        m["log_holding_hours"],
        [(2 * math.log1p(1) + math.log1p(3)) / 3, (math.log1p(7) + math.log1p(2)) / 2],
    )
    np.testing.assert_allclose(m["log_trade_rate"], [math.log1p(0.3), math.log1p(0.2)])
    np.testing.assert_allclose(m["log_leverage"], [math.log(2) / 3, 0.0])
    # daily PnL over the 10 days vs everyone else's (trader 3 closed 0 on day 0)
    one = np.zeros(10)
    one[[0, 1, 2]] = [100.0, -200.0, 0.0]
    two = np.zeros(10)
    two[[0, 3]] = [-20.0, 50.0]
    expected = np.corrcoef(one, two)[0, 1]
    np.testing.assert_allclose(m["pnl_corr"], [expected, expected])


def test_empty_window_and_min_history():
    ds = _ds()
    start = int(T0.value) + 20 * NS_PER_DAY
    empty = style_features(ds, start, start + NS_PER_DAY)
    assert len(empty) == 0 and empty.matrix.shape == (0, len(FEATURE_NAMES))
    only_one = style_features(ds, int(T0.value), int(T0.value) + 10 * NS_PER_DAY, min_history=3)
    assert ds.trader_ids[only_one.traders].tolist() == [1]


def test_clusters_separate_distinct_styles_deterministically():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 0.1, size=(20, 3))
    b = rng.normal(5.0, 0.1, size=(20, 3))
    matrix = np.vstack([a, b])
    labels = fit_style_clusters(matrix, 2, seed=1).labels
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1
    assert labels[0] != labels[20]
    np.testing.assert_array_equal(labels, fit_style_clusters(matrix, 2, seed=1).labels)
    # more clusters than distinct rows: no warning, at most one cluster per distinct row
    dup = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    assert len(set(fit_style_clusters(dup, 5).labels)) == 2
    ds = _ds()
    feats = style_features(ds, int(T0.value), int(T0.value) + 10 * NS_PER_DAY, min_history=2)
    assert cluster_styles(feats, 2).tolist() in ([0, 1], [1, 0])


def test_clustering_an_empty_or_single_set():
    assert fit_style_clusters(np.zeros((0, 3)), 4).labels.shape == (0,)
    single = fit_style_clusters(np.ones((3, 2)), 4)
    assert single.labels.tolist() == [0, 0, 0] and single.centers.shape == (1, 2)
    with pytest.raises(ValueError, match="features"):
        single.transform(np.ones((1, 3)))
