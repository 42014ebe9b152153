"""`diverse` and `echo` pick different evaluators, written out, on a hand-built platform.

The platform has one subject and three style groups of traders. Every trader closes
exactly three positions in the lookback window of the second rebalance, so all of them
are candidates, and the groups differ only in the style features chosen below; the
evaluator sets expected from `diverse` (the best performer of each far group, farthest
first) and from `echo` (the subject's nearest neighbours in its own group) are worked
out by hand in the comments from that construction.
"""

from __future__ import annotations

import numpy as np
import pytest

import ideaflow
from builders import make_dataset, trade
from ideaflow.data import NS_PER_DAY, NS_PER_HOUR
from ideaflow.strategies import StrategyParams, StrategyRunner
from ideaflow.styles import FEATURE_NAMES, style_features

T0 = 1_609_459_200 * 1_000_000_000  # 2021-01-01 UTC in ns: the first open, so r_0
SUBJECT = 1

# Style groups. Within a group every position has the same instrument, side, leverage
# and (per trader) holding time:
# - A (the subject's group): EURUSD, long, leverage 1, short holds of 1, 2, 3, 6 hours;
# - B: GOLD, short, leverage 10, holds of 48 hours;
# - C: OIL, long, leverage 1, holds of 1 hour (the subject's own holding time).
# C thus differs from the subject only in its instrument; B in instrument, side,
# leverage and holding time.
GROUPS = {
    "A": {"instrument": "EURUSD", "side": 1, "leverage": 1.0},
    "B": {"instrument": "GOLD", "side": -1, "leverage": 10.0},
    "C": {"instrument": "OIL", "side": 1, "leverage": 1.0},
}
# trader id -> (group, holding hours, realised PnL in the window)
TRADERS = {
    SUBJECT: ("A", 1.0, 10.0),
    2: ("A", 2.0, 20.0),
    3: ("A", 3.0, 30.0),
    4: ("A", 6.0, 1000.0),  # the best performer of the platform, but in the near group
    5: ("B", 48.0, 100.0),
    6: ("B", 48.0, 300.0),  # best of B
    7: ("B", 48.0, 200.0),
    8: ("C", 1.0, 50.0),
    9: ("C", 1.0, 20.0),
    10: ("C", 1.0, 400.0),  # best of C
}
AMOUNT = 1000.0
# Walk-forward: rebalance every 10 days from the first open (r_0 = day 0, r_1 = day 10),
# lookback 10 days, so at r_1 the window is [day 0, day 10) and holds every position
# below; k = 2 evaluators, 3 clusters (one per group), 3 closed positions to be a
# candidate, 4 ideas to be a subject (only the subject has more than 3 trades).
PARAMS = dict(
    k=2,
    n_clusters=3,
    min_history=3,
    lookback_days=10,
    rebalance_days=10,
    min_ideas=4,
    window_hours=24,
    seed=0,
)
PERIOD = 1  # the subject's ideas 1001 and 1002 are opened in period 1 = [day 10, day 20)
IDEAS = (1001, 1002)  # (ids 10 * trader + j are the window positions)

# Expected evaluators of the subject in period 1 (see the test for the derivation).
DIVERSE = [6, 10]
ECHO = [2, 3]


def _position(trade_id, trader, close_day, hours, pnl):
    """One closed position of `trader` in its group's style with realised PnL `pnl`:
    pnl = side * leverage * amount * (close / open - 1), open price 1."""
    style = GROUPS[TRADERS[trader][0]]
    close_time = T0 + int(close_day * NS_PER_DAY)
    open_time = close_time - int(hours * NS_PER_HOUR)
    close_price = 1.0 + pnl / (style["side"] * style["leverage"] * AMOUNT)
    return trade(
        trade_id,
        trader,
        open_time,
        close_time,
        1.0,
        close_price,
        AMOUNT,
        instrument=style["instrument"],
        side=style["side"],
        leverage=style["leverage"],
    )


def platform():
    trades = []
    for trader, (_, hours, pnl) in TRADERS.items():
        # three positions per trader, all closed inside [day 0, day 10): two without PnL
        # (closing on days 2 and 5) and one with all of the trader's PnL, closing at day 8.5.
        # Everyone's PnL thus falls on the same day and is positive, so each trader's daily
        # PnL is proportional to the rest of the platform's: pnl_corr = 1 for all (constant).
        # Group B's first position opens exactly at day 0 (2 days before its day-2 close),
        # which makes day 0 the first open, r_0.
        for j, (close_day, p) in enumerate(((2.0, 0.0), (5.0, 0.0), (8.5, pnl))):
            trades.append(_position(10 * trader + j, trader, close_day, hours, p))
    # the subject's ideas of period 1 (opened after r_1 = day 10, closed after it)
    for trade_id, open_day in zip(IDEAS, (12.0, 12.5), strict=True):
        open_time = T0 + int(open_day * NS_PER_DAY)
        trades.append(
            trade(
                trade_id,
                SUBJECT,
                open_time,
                open_time + NS_PER_HOUR,
                1.0,
                1.0,
                100.0,
                instrument="EURUSD",
            )
        )
    return make_dataset(trades)


@pytest.fixture(scope="module")
def ds():
    return platform()


def test_the_platform_has_the_styles_the_derivation_assumes(ds):
    """The premises of the hand derivation: the window's style features as constructed."""
    assert int(ds.trades.open_time.min()) == T0
    feats = style_features(ds, T0, T0 + 10 * NS_PER_DAY, min_history=3)
    ids = ds.trader_ids[feats.traders]
    assert list(ids) == list(TRADERS)  # every trader is a candidate
    assert list(feats.n_closed) == [3] * len(TRADERS)
    col = {name: feats.matrix[:, i] for i, name in enumerate(FEATURE_NAMES)}
    group = np.array([TRADERS[int(t)][0] for t in ids])
    # the three instruments rank EURUSD (12 positions), GOLD (9), OIL (9, after GOLD by
    # code); the fourth share column is empty
    assert list(col["inst_share_1"]) == list((group == "A").astype(float))
    assert list(col["inst_share_2"]) == list((group == "B").astype(float))
    assert list(col["inst_share_3"]) == list((group == "C").astype(float))
    assert not col["inst_share_4"].any()
    assert (col["inst_concentration"] == 1.0).all()
    assert list(col["long_share"]) == list((group != "B").astype(float))
    hours = np.array([TRADERS[int(t)][1] for t in ids])
    np.testing.assert_allclose(col["log_holding_hours"], np.log1p(hours), rtol=1e-12)
    np.testing.assert_allclose(col["log_trade_rate"], np.log1p(3 / 10), rtol=1e-12)
    np.testing.assert_allclose(col["log_leverage"], np.log(np.where(group == "B", 10.0, 1.0)))
    np.testing.assert_allclose(col["pnl_corr"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(feats.pnl, [TRADERS[int(t)][2] for t in ids], rtol=1e-9)


def test_diverse_and_echo_pick_different_written_out_evaluators(ds):
    # Scaled style space at r_1 (StandardScaler over the 10 candidates, subject included).
    # Constant features (4th share, concentration, trade rate, pnl_corr) scale to 0. The
    # remaining differences:
    # - instrument shares are 0/1 columns: EURUSD held by 4 of 10 (std sqrt(.4*.6) = 0.49),
    #   GOLD and OIL by 3 of 10 (std sqrt(.3*.7) = 0.46). A trader of another group differs
    #   from the subject in two share columns, by 1/0.49 = 2.04 and 1/0.46 = 2.18 scaled:
    #   a distance of at least sqrt(2.04**2 + 2.18**2) = 2.99;
    # - log1p(holding hours) is 0.69, 1.10, 1.39, 1.95 in A, 3.89 in B, 0.69 in C; its std
    #   over the 10 candidates is 1.37, so A's traders 2, 3, 4 sit at scaled distances
    #   (1.10-0.69)/1.37 = 0.30, 0.51 and 0.92 from the subject (their only difference).
    #
    # echo: the k = 2 nearest candidates other than the subject: traders 2 (0.30) and 3
    # (0.51), nearest first; every trader outside group A is at >= 2.99.
    #
    # diverse: KMeans with 3 clusters finds the three groups (each group's spread, < 1 in
    # A and 0 in B and C, is far below the >= 2.99 between groups). Clusters farthest
    # from the subject first: B and C both differ from it by the same two share columns
    # (GOLD and OIL have the same std), and B also in side, leverage and holding time,
    # so the order is B, C, then A (which contains the subject). With k = 2 the subject
    # takes B's best trailing performer, then C's. Everyone's equity before the window is
    # the default 10,000, so trailing ROI ranks by window PnL: B's best is 6 (300 vs 200,
    # 100) and C's best is 10 (400 vs 50, 20). Trader 4 (PnL 1000, the platform's best)
    # is never reached: A, the subject's own group, comes last.
    runner = StrategyRunner(ds, StrategyParams(**PARAMS))
    frame = runner.frame
    assert list(ds.trader_ids[frame.subjects]) == [SUBJECT]
    assert frame.times[PERIOD] == T0 + 10 * NS_PER_DAY
    diverse = ds.trader_ids[runner.decisions("diverse").sets[0, PERIOD]]
    echo = ds.trader_ids[runner.decisions("echo").sets[0, PERIOD]]
    assert list(diverse) == DIVERSE
    assert list(echo) == ECHO
    assert not set(DIVERSE) & set(ECHO)
    # period 0 (r_0 = day 0) has an empty window: no candidates, no evaluators
    assert (runner.decisions("diverse").sets[0, 0] == -1).all()
    assert (runner.decisions("echo").sets[0, 0] == -1).all()


@pytest.mark.parametrize(("name", "expected"), [("diverse", DIVERSE), ("echo", ECHO)])
def test_written_decisions_name_the_evaluators_in_force(ds, name, expected):
    result = ideaflow.backtest(ds, name, **PARAMS)
    dec = result.decisions.set_index("trade_id")
    ideas = dec.loc[list(IDEAS)]
    assert (ideas["subject_id"] == SUBJECT).all()
    assert (ideas["rebalance_time"].astype("int64") == T0 + 10 * NS_PER_DAY).all()
    assert [list(v) for v in ideas["in_force"]] == [expected, expected]
    # the subject's period-0 trades had nobody to vote on them
    history = dec.loc[[10, 11, 12]]
    assert [list(v) for v in history["in_force"]] == [[], [], []]
