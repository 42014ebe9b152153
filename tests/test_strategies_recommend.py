"""The recommend strategies: own ideas as isolation takes them plus one leader copied at a
small allocation; checked against isolation and top / diverse with k = 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ideaflow.errors import ParameterError
from ideaflow.io import dataset_from_frames
from ideaflow.strategies import StrategyParams, run_strategy
from ideaflow.synth import generate


@pytest.fixture(scope="module")
def ds():
    p = generate("tiny", seed=5)
    return dataset_from_frames(p.trades, p.follows, p.prices, p.accounts)


@pytest.fixture(scope="module")
def params():
    return StrategyParams(k=3, recommend_allocation=0.25)


def _trades(result) -> pd.DataFrame:
    return result.table("trades").to_pandas()


def _accounts(result) -> pd.DataFrame:
    return result.accounts.set_index("trader_id")


def test_recommend_top_is_isolation_plus_a_quarter_of_top_with_one_leader(ds, params):
    rec = run_strategy(ds, "recommend-top", params)
    iso = run_strategy(ds, "isolation", params)
    top = run_strategy(ds, "top", params.replace(k=1))
    # the subject's own positions are isolation's, unchanged
    own = _trades(rec).query("hop == 0").sort_values("trade_id").reset_index(drop=True)
    mine = _trades(iso).sort_values("trade_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(own, mine)
    # PnL is linear in the position sizes: rec = isolation + 0.25 x top(k = 1), per subject
    a, b, c = _accounts(rec), _accounts(iso), _accounts(top)
    assert (a.index == b.index).all() and (a.index == c.index).all()
    np.testing.assert_allclose(
        a["pnl"].to_numpy(), b["pnl"].to_numpy() + 0.25 * c["pnl"].to_numpy(), rtol=1e-9, atol=1e-6
    )
    copies = _trades(rec).query("hop > 0")
    assert len(copies) > 0 and copies["trade_id"].min() > mine["trade_id"].max()
    assert _trades(rec)["trade_id"].is_unique
    assert rec.counts["copies_generated"] == len(copies)


def test_recommend_copies_diverse_first_evaluator(ds, params):
    rec = run_strategy(ds, "recommend", params)
    # diverse with k = 1 and the same clusters (max(2k, 4) of k = 3): its one evaluator
    div = run_strategy(ds, "diverse", params.replace(k=1, n_clusters=params.clusters))
    d_rec = rec.table("decisions").to_pandas()
    d_div = div.table("decisions").to_pandas()
    own = d_rec[d_rec["leader_id"] == d_rec["subject_id"]]
    leader_rec = own.set_index(["subject_id", "trade_id"])["in_force"].map(list)
    leader_div = d_div.set_index(["subject_id", "trade_id"])["in_force"].map(list)
    assert len(own) == len(d_div)
    assert leader_rec.loc[leader_div.index].tolist() == leader_div.tolist()
    # every copy is an idea of the leader in force for that subject
    copies = d_rec[d_rec["leader_id"] != d_rec["subject_id"]]
    assert len(copies) > 0
    assert all(list(f) == [leader] for f, leader in zip(copies["in_force"], copies["leader_id"]))
    assert (copies["size"] > 0).all()


def test_recommend_random_draws_one_other_leader(ds, params):
    rec = run_strategy(ds, "recommend-random", params)
    d = rec.table("decisions").to_pandas()
    copies = d[d["leader_id"] != d["subject_id"]]
    assert len(copies) > 0
    assert (copies["leader_id"] != copies["subject_id"]).all()
    again = run_strategy(ds, "recommend-random", params)
    pd.testing.assert_frame_equal(again.table("decisions").to_pandas(), d)
    other = run_strategy(ds, "recommend-random", params.replace(seed=9))
    d9 = other.table("decisions").to_pandas()
    assert not d9["leader_id"].equals(d["leader_id"]) or len(d9) != len(d)


@pytest.mark.parametrize("value", [0.0, 1.5, float("nan")])
def test_allocation_must_be_a_share(value):
    with pytest.raises(ParameterError, match="recommend_allocation"):
        StrategyParams(recommend_allocation=value)
