"""No look-ahead: perturb everything after a cut (sides, close prices, follows) and check
that every decision before the cut is unchanged, for every strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ideaflow.io import dataset_from_frames
from ideaflow.strategies import STRATEGIES, StrategyParams, StrategyRunner
from ideaflow.strategies.books import decisions_frame
from ideaflow.strategies.decide import EVALUATOR_STRATEGIES, placebo_decisions

T0 = pd.Timestamp("2021-01-01", tz="UTC")
N_DAYS = 150
CUT = T0 + pd.Timedelta(days=80.3)
PARAMS = StrategyParams(
    k=3, rebalance_days=14, lookback_days=28, min_history=3, min_ideas=8, window_hours=48, seed=4
)


def platform(rng: np.random.Generator, n_traders: int = 30, n_trades: int = 1500):
    opens = T0 + pd.to_timedelta(np.sort(rng.uniform(0, N_DAYS, n_trades)), unit="D")
    closes = opens + pd.to_timedelta(rng.exponential(3.0, n_trades), unit="D")
    still_open = closes > T0 + pd.Timedelta(days=N_DAYS)
    open_price = rng.uniform(1, 2, n_trades)
    trades = pd.DataFrame(
        {
            "trade_id": np.arange(1, n_trades + 1),
            "trader_id": rng.integers(1, n_traders + 1, n_trades),
            "instrument": rng.choice(["A", "B", "C", "D"], n_trades),
            "side": rng.choice(np.array([1, -1], dtype=np.int8), n_trades),
            "open_time": opens,
            "close_time": closes.where(~still_open),
            "open_price": open_price,
            "close_price": np.where(
                still_open, np.nan, open_price * np.exp(rng.normal(0, 0.03, n_trades))
            ),
            "amount": rng.uniform(100, 1000, n_trades),
            "leverage": rng.choice([1.0, 2.0, 5.0], n_trades),
        }
    )
    rows = []
    for follower in range(1, n_traders + 1):
        for leader in rng.choice(np.arange(1, n_traders + 1), 3, replace=False):
            if leader != follower:
                start = T0 + pd.Timedelta(days=float(rng.uniform(0, N_DAYS)))
                end = start + pd.Timedelta(days=float(rng.uniform(5, 60)))
                rows.append((follower, int(leader), start, end, 1000.0))
    follows = pd.DataFrame(
        rows, columns=["follower_id", "leader_id", "start_time", "end_time", "allocation"]
    )
    return trades, follows


def perturb(trades: pd.DataFrame, follows: pd.DataFrame, rng: np.random.Generator):
    """Change what happens after CUT: sides of later trades, later close prices, follows."""
    trades = trades.copy()
    later_open = trades["open_time"] > CUT
    flip = later_open & (rng.random(len(trades)) < 0.5)
    trades.loc[flip, "side"] = (-trades.loc[flip, "side"]).astype(np.int8)
    later_close = trades["close_time"].notna() & (trades["close_time"] > CUT)
    trades.loc[later_close, "close_price"] *= np.exp(rng.normal(0, 0.2, int(later_close.sum())))
    follows = follows.copy()
    later_start = follows["start_time"] > CUT
    leaders = follows["leader_id"].to_numpy().copy()
    # later follows all point at one trader (a popularity shock after the cut)
    leaders[later_start.to_numpy()] = np.where(follows.loc[later_start, "follower_id"] == 1, 2, 1)
    follows["leader_id"] = leaders
    ends_later = follows["end_time"] > CUT
    follows.loc[ends_later, "end_time"] = follows.loc[ends_later, "end_time"] + pd.Timedelta(
        days=30
    )
    follows = follows.drop_duplicates(["follower_id", "leader_id"], keep="first")
    return trades, follows


def per_subject(runner: StrategyRunner, decisions) -> pd.DataFrame:
    """Decisions per subject (copy strategies share one account between subjects with the
    same schedule; expand it so each subject's own decisions are compared)."""
    frame = runner.frame
    table = decisions_frame(frame, decisions)
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    ids = frame.ds.trader_ids[frame.subjects]
    mapping = pd.DataFrame({"subject": ids, "subject_id": ids[account_subject[account_of]]})
    out = mapping.merge(table, on="subject_id", how="inner")
    out = out.drop(columns="subject_id").rename(columns={"subject": "subject_id"})
    return out.sort_values(["subject_id", "time", "trade_id"], kind="stable")


def _before_cut(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[frame["time"] < CUT].reset_index(drop=True).copy()
    out["in_force"] = out["in_force"].map(lambda x: tuple(int(v) for v in x))
    return out


@pytest.fixture(scope="module")
def runners():
    rng = np.random.default_rng(2024)
    trades, follows = platform(rng)
    # pairs must not overlap in the base either (only keep each pair's first follow)
    follows = follows.drop_duplicates(["follower_id", "leader_id"], keep="first")
    base = dataset_from_frames(trades, follows)
    trades2, follows2 = perturb(trades, follows, rng)
    changed = dataset_from_frames(trades2, follows2)
    assert changed.data_end == base.data_end  # same rebalance calendar
    return StrategyRunner(base, PARAMS), StrategyRunner(changed, PARAMS)


@pytest.mark.parametrize("name", [s for s in STRATEGIES if s != "placebo"])
def test_decisions_before_the_cut_ignore_the_future(runners, name):
    base, changed = runners
    a = per_subject(base, base.decisions(name))
    b = per_subject(changed, changed.decisions(name))
    before_a, before_b = _before_cut(a), _before_cut(b)
    assert len(before_a) > 50
    if name in EVALUATOR_STRATEGIES:
        assert (before_a["support"] != 0).any()  # the votes are exercised
        assert (a["time"] >= CUT).any() and not a.equals(b)  # the perturbation bites
    pd.testing.assert_frame_equal(before_a, before_b)


def test_placebo_before_the_cut_depends_only_on_its_rejection_counts(runners):
    """placebo's rate comes from the whole diverse run (a control, docs/contract.md §5): with the
    same per-subject counts, its decisions before the cut are unchanged."""
    base, changed = runners
    counts_from = base.decisions("diverse")
    a = decisions_frame(base.frame, placebo_decisions(base.frame, counts_from))
    b = decisions_frame(changed.frame, placebo_decisions(changed.frame, counts_from))
    pd.testing.assert_frame_equal(_before_cut(a), _before_cut(b))
