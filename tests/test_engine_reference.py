"""The engine against a slow, straightforward pure-Python reference replay (docs/contract.md §3-4).

The reference keeps an explicit event list and dictionaries; it is checked against the
kernels on random small datasets (ties in time, zero-duration trades, open trades with and
without prices, bankruptcies, logged copies, depth 1..3) on every output column.
"""

from __future__ import annotations

import numpy as np
import pytest

from ideaflow.data import OPEN_END
from ideaflow.engine import ReplayConfig, replay
from reference import random_spec, ref_metrics, ref_replay

H = 3_600 * 10**9


def compare(ds, spec, strategy, depth):
    result = replay(ds, ReplayConfig(strategy=strategy, depth=depth))
    expected, skipped = ref_replay(spec, strategy, depth)
    book = result.book
    assert len(book) == len(expected)
    exp = sorted(expected, key=lambda p: (p["open_time"], p["trade_id"]))
    assert book.trade_id.tolist() == [p["trade_id"] for p in exp]
    ids = ds.trader_ids
    assert ids[book.account].tolist() == [p["trader"] for p in exp]
    assert book.open_time.tolist() == [p["open_time"] for p in exp]
    assert book.close_time.tolist() == [
        OPEN_END if p["close_time"] is None else p["close_time"] for p in exp
    ]
    for col in ("amount", "fee", "pnl", "ret", "leverage", "open_price"):
        np.testing.assert_allclose(
            getattr(book, col), [p[col] for p in exp], rtol=1e-9, atol=1e-9, err_msg=col
        )
    np.testing.assert_array_equal(book.side, [p["side"] for p in exp])
    np.testing.assert_array_equal(book.marked, [p["marked"] for p in exp])
    np.testing.assert_array_equal(book.root_trade_id, [p["root"] for p in exp])
    np.testing.assert_array_equal(book.parent_trade_id, [p["parent"] for p in exp])
    np.testing.assert_array_equal(book.hop, [p["hop"] for p in exp])
    assert result.counts["copies_skipped_bankrupt"] == skipped
    assert result.counts["copies_generated"] == sum(p["hop"] > 0 for p in expected) * (
        strategy == "mirror"
    )
    ref = ref_metrics(expected, spec)
    m = result.metrics
    for col in ("final_equity", "pnl", "roi", "win_rate", "max_drawdown", "sharpe"):
        want = [ref[int(t)][col] for t in ids]
        np.testing.assert_allclose(getattr(m, col), want, rtol=1e-7, atol=1e-9, err_msg=col)
    for col in ("n_trades", "n_social", "n_closed", "n_open", "first_time", "last_time"):
        assert getattr(m, col).tolist() == [ref[int(t)][col] for t in ids], col
    return result


@pytest.mark.parametrize("seed", range(50))
def test_engine_matches_reference_on_random_datasets(seed):
    ds, spec = random_spec(seed)
    compare(ds, spec, "actual", 1)
    compare(ds, spec, "mirror", 1 + seed % 3)


def test_reference_check_covers_the_interesting_cases():
    # the random datasets above do exercise bankruptcies, marks, zero durations, depth
    seen = dict(skipped=0, marked=0, unmarked=0, hop2=0, zero=0)
    for seed in range(50):
        ds, spec = random_spec(seed)
        res = replay(ds, ReplayConfig(strategy="mirror", depth=1 + seed % 3))
        seen["skipped"] += res.counts["copies_skipped_bankrupt"]
        seen["marked"] += res.counts["marked_open"]
        seen["unmarked"] += res.counts["unmarked_open"]
        seen["hop2"] += int(res.counts["copies_by_hop"].get("2", 0))
        seen["zero"] += int(np.count_nonzero(res.book.open_time == res.book.close_time))
    assert all(v > 0 for v in seen.values()), seen
