"""Gross exposure, return on exposure and `exposure="matched"` (docs/strategies.md,
"Exposure"), on platforms built here with the expected numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ideaflow
from ideaflow.engine.metrics import account_metrics
from ideaflow.errors import ParameterError
from ideaflow.io import dataset_from_frames
from ideaflow.strategies import StrategyParams, StrategyRunner, compare, run_strategy
from ideaflow.strategies.books import strategy_book
from ideaflow.strategies.exposure import match_exposure
from test_strategies import HERD_FOLLOWS, HERD_PARAMS, HERD_ROWS, VOTE_PARAMS, VOTE_ROWS, make_ds

T0 = pd.Timestamp("2021-01-01", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


def leveraged_ds():
    # (trade_id, trader, instrument, side, open day, close day, close price, amount, leverage)
    rows = [
        (1, 1, "A", 1, 0.0, 2.0, 1.1, 1000.0, 2.0),  # pnl +200, 2,000 x 2 days
        (2, 1, "B", 1, 1.0, 5.0, 0.95, 500.0, 1.0),  # pnl -25, 500 x 4 days
        (3, 1, "C", -1, 4.0, 6.0, 0.9, 1000.0, 1.0),  # pnl +100, 1,000 x 2 days
        (4, 2, "A", 1, 1.0, 2.0, 1.0, 100.0, 1.0),
        (5, 2, "A", 1, 2.0, 3.0, 1.0, 100.0, 1.0),
        (6, 2, "A", 1, 8.0, None, None, 100.0, 1.0),  # open: held to the end of the data
        (7, 3, "B", 1, 10.0, 11.0, 1.0, 100.0, 1.0),  # the data end at day 11
    ]
    frame = pd.DataFrame(
        rows,
        columns=["trade_id", "trader_id", "instrument", "side", "o", "c", "cp", "amount", "lev"],
    )
    trades = pd.DataFrame(
        {
            "trade_id": frame["trade_id"].astype("int64"),
            "trader_id": frame["trader_id"].astype("int64"),
            "instrument": frame["instrument"],
            "side": frame["side"].astype("int8"),
            "open_time": [day(d) for d in frame["o"]],
            "close_time": pd.Series(
                [pd.NaT if pd.isna(d) else day(d) for d in frame["c"]],
                dtype="datetime64[ns, UTC]",
            ),
            "open_price": 1.0,
            "close_price": frame["cp"].astype(float),
            "amount": frame["amount"],
            "leverage": frame["lev"],
        }
    )
    return dataset_from_frames(trades)


def test_gross_exposure_and_return_on_exposure_by_hand():
    params = StrategyParams(min_ideas=3)
    acc = run_strategy(leveraged_ds(), "isolation", params).accounts.set_index("trader_id")
    # subject 1: notional-days 4,000 + 2,000 + 2,000 over its active days 0..6
    assert acc.loc[1, "gross_exposure"] == pytest.approx(8000.0 / 6.0)
    assert acc.loc[1, "pnl"] == pytest.approx(275.0)
    assert acc.loc[1, "return_on_exposure"] == pytest.approx(275.0 * 6.0 / 8000.0)
    # subject 2: 100 x (1 + 1 + 3 days, the open one to the data end at day 11) over the
    # days 1..11; no PnL
    assert acc.loc[2, "gross_exposure"] == pytest.approx(500.0 / 10.0)
    assert acc.loc[2, "return_on_exposure"] == 0.0
    assert (acc["exposure_factor"] == 1.0).all() and (acc["holding_scale"] == 1.0).all()


def test_matched_scales_diverse_to_isolation_exposure_without_changing_decisions():
    ds = make_ds(VOTE_ROWS)
    logged = StrategyRunner(ds, VOTE_PARAMS)
    matched = StrategyRunner(ds, VOTE_PARAMS.replace(exposure="matched"))
    a, m = logged.run("diverse"), matched.run("diverse")
    iso = matched.run("isolation").accounts.set_index("trader_id")
    acc_a, acc_m = a.accounts.set_index("trader_id"), m.accounts.set_index("trader_id")
    # subject 1 (amount 1,000, leverage 1): isolation holds every idea, 9.69 days in all
    # (0.5 + 0.8 + 0.7 + 0.8 + 0.5 + 1.0 + 0.99 + 1.0 + 2.0 + 1.4 + 0 for the one opened
    # at the end of the data); diverse rejects 12, 15 and 18 (0.7 + 1.0 + 2.0 days)
    factor = 9.69 / (9.69 - 3.7)
    assert acc_m.loc[1, "exposure_factor"] == pytest.approx(factor)
    assert acc_m.loc[1, "gross_exposure"] == pytest.approx(iso.loc[1, "gross_exposure"])
    assert acc_a.loc[1, "pnl"] == pytest.approx(300.0)  # ideas 2 and 11 earn 100 and 200
    assert acc_m.loc[1, "pnl"] == pytest.approx(300.0 * factor)
    assert acc_m.loc[1, "roi"] == pytest.approx(0.03 * factor)
    # decisions unchanged; sizes, amounts, fees, PnL and the daily rows scaled
    cols = ["subject_id", "trade_id", "taken", "support", "in_force"]
    pd.testing.assert_frame_equal(a.decisions[cols], m.decisions[cols])
    one = m.decisions["subject_id"] == 1
    expected = np.where(m.decisions.loc[one, "taken"], factor, 0.0)
    np.testing.assert_allclose(m.decisions.loc[one, "size"], expected)
    ta = a.trades[a.trades["trader_id"] == 1].set_index("trade_id")
    tm = m.trades[m.trades["trader_id"] == 1].set_index("trade_id")
    np.testing.assert_allclose(tm["amount"], ta["amount"] * factor)
    np.testing.assert_allclose(tm["pnl"], ta["pnl"] * factor)
    daily = m.daily.groupby("trader_id")["pnl"].sum()
    assert daily.loc[1] == pytest.approx(acc_m.loc[1, "pnl"])
    assert m.counts["exposure"] == "matched" and a.counts["exposure"] == "as-logged"


def test_a_subject_without_exposure_stays_at_zero_and_is_counted():
    ds = make_ds(VOTE_ROWS)
    params = VOTE_PARAMS.replace(exposure="matched", min_support=1)
    result = compare(ds, ["isolation", "diverse"], params, n_boot=50)
    acc = result.results["diverse"].accounts.set_index("trader_id")
    # subject 2 has one idea, voted on by nobody: support 0 < 1, rejected
    assert acc.loc[2, "gross_exposure"] == 0.0 and acc.loc[2, "pnl"] == 0.0
    assert acc.loc[2, "exposure_factor"] == 1.0 and np.isnan(acc.loc[2, "return_on_exposure"])
    row = result.comparison.set_index("strategy").loc["diverse"]
    assert row["n_zero_exposure"] == 1 and row["n_subjects"] == 2
    # the zero-exposure subject is in the means, with ROI 0 and return on exposure 0
    assert row["mean_roi"] == pytest.approx(acc["roi"].mean())
    assert row["mean_roe"] == pytest.approx(acc.loc[1, "return_on_exposure"] / 2)


def test_matched_shared_accounts_match_a_separate_book_per_subject():
    rows = [
        *HERD_ROWS,
        (9, 3, "B", 1, 0.3, 0.9, 1.0, 1.0, 10.0),
        (10, 3, "B", 1, 0.35, 2.4, 1.0, 1.0, 10.0),
    ]
    ds = make_ds(rows, HERD_FOLLOWS, equity={1: 10_000.0, 3: 30_000.0})
    params = HERD_PARAMS.replace(exposure="matched")
    runner = StrategyRunner(ds, params)
    result = runner.run("herd")
    acc = result.accounts.set_index("trader_id")
    iso = runner.run("isolation").accounts.set_index("trader_id")
    # 1 and 3 still share one account (kept under 1), each at its own scale
    assert acc.loc[3, "positions_of"] == 1
    np.testing.assert_allclose(acc["gross_exposure"], iso["gross_exposure"])
    frame = runner.frame
    scaled, factor, holding = match_exposure(frame, runner.decisions("herd"), runner.actual)
    book = strategy_book(frame, scaled, runner.actual)
    account_of, _ = scaled.accounts(frame.n_subjects)
    ids = ds.trader_ids[frame.subjects]
    for s, subject in enumerate(ids):
        # slow reference: the subject's own book, its account's positions times its scale
        own = book.take(np.flatnonzero(book.account == account_of[s]))
        own = own.__class__(
            **{
                **{f: getattr(own, f) for f in own.__dataclass_fields__},
                "account": np.zeros(len(own), dtype=np.int32),
                "amount": own.amount * holding[s],
                "fee": own.fee * holding[s],
                "pnl": own.pnl * holding[s],
            }
        )
        ref = account_metrics(own, 1, frame.initial_equity[s], data_end=ds.data_end)
        for column in ("pnl", "roi", "max_drawdown", "sharpe", "final_equity"):
            got, want = acc.loc[subject, column], getattr(ref, column)[0]
            assert got == pytest.approx(want, rel=1e-9, nan_ok=True), (subject, column)
    daily = result.daily.groupby("trader_id")["pnl"].sum()
    np.testing.assert_allclose(daily.loc[acc.index], acc["pnl"], rtol=1e-9)


def test_exposure_mode_is_validated():
    with pytest.raises(ParameterError, match="exposure: expected one of as-logged, matched"):
        StrategyParams(exposure="equal")


# --- the planted platform: style clusters that err together -------------------------------
def planted_platform(seed: int, n_per: int = 12, n_days: int = 240, cluster_error: float = 0.3):
    """Four style clusters (leverage, holding time, trade rate) of `n_per` traders. Every
    day one instrument moves 1% up or down; each trader trading that day opens within 6
    hours on the move's side, unless its cluster errs that day (probability
    `cluster_error`, the whole cluster on the wrong side), then flips its side with its
    own probability (0 to 0.45). Ideas earn money on average; a vote by other clusters'
    members catches a cluster's shared errors."""
    rng = np.random.default_rng(seed)
    leverage = [1.0, 1.5, 2.5, 4.0]
    hold_hours = [12.0, 18.0, 30.0, 42.0]
    rate = [0.9, 0.75, 0.6, 0.5]
    flip = rng.uniform(0.0, 0.45, size=4 * n_per)
    rows = []
    for j in range(n_days):
        move = rng.choice([1, -1])
        errs = rng.random(4) < cluster_error
        for trader in range(4 * n_per):
            c = trader // n_per
            if rng.random() > rate[c]:
                continue
            side = -move if errs[c] else move
            if rng.random() < flip[trader]:
                side = -side
            opened = j * 24.0 + rng.uniform(0, 6.0)
            closed = opened + hold_hours[c] * rng.uniform(0.8, 1.2)
            rows.append((trader + 1, f"I{j % 4}", side, opened, closed, 1 + 0.01 * move, c))
    f = pd.DataFrame(rows, columns=["trader", "inst", "side", "o", "c", "cp", "cluster"])
    trades = pd.DataFrame(
        {
            "trade_id": np.arange(1, len(f) + 1, dtype=np.int64),
            "trader_id": f["trader"].astype("int64"),
            "instrument": f["inst"],
            "side": f["side"].astype("int8"),
            "open_time": T0 + pd.to_timedelta(f["o"], unit="h"),
            "close_time": T0 + pd.to_timedelta(f["c"], unit="h"),
            "open_price": 1.0,
            "close_price": f["cp"],
            "amount": 1000.0,
            "leverage": np.take(leverage, f["cluster"]),
        }
    )
    return dataset_from_frames(trades)


PLANTED = StrategyParams(
    k=3, n_clusters=4, rebalance_days=14, lookback_days=42, min_history=5, window_hours=24, seed=1
)
PLANTED_NAMES = ["isolation", "diverse", "diverse-random", "placebo"]


@pytest.fixture(scope="module")
def planted():
    ds = planted_platform(2)
    out = {}
    for mode in ("as-logged", "matched"):
        params = PLANTED.replace(exposure=mode)
        out[mode] = compare(ds, PLANTED_NAMES, params, n_boot=1000)
    return out


def _pair(result, a, b):
    return result.paired.set_index(["strategy_a", "strategy_b"]).loc[(a, b)]


def test_placebo_matches_isolation_only_at_matched_exposure(planted):
    iso = planted["as-logged"].comparison.set_index("strategy").loc["isolation"]
    assert iso["mean_roi_ci_low"] > 0  # the average idea earns money
    logged = _pair(planted["as-logged"], "placebo", "isolation")
    assert logged["ci_high"] < 0  # trading less loses money
    matched = _pair(planted["matched"], "placebo", "isolation")
    assert matched["ci_low"] < 0 < matched["ci_high"]


def test_diverse_beats_placebo_and_isolation_at_matched_exposure(planted):
    result = planted["matched"]
    for base in ("isolation", "placebo"):
        row = _pair(result, "diverse", base)
        assert row["ci_low"] > 0 and row["roe_ci_low"] > 0, base
    by = result.comparison.set_index("strategy")["mean_roi"]
    # random members of the far clusters: better than no vote, worse than the best ones
    assert by["diverse"] > by["diverse-random"] > max(by["isolation"], by["placebo"])
    exposure = result.comparison.set_index("strategy")["mean_exposure"]
    np.testing.assert_allclose(exposure.to_numpy(), exposure["isolation"])
    assert ideaflow.text(result).startswith("at matched exposure, diverse beats isolation by ")


def test_matched_outputs_are_byte_identical_run_to_run(tmp_path):
    ds = make_ds(HERD_ROWS, HERD_FOLLOWS)
    params = HERD_PARAMS.replace(exposure="matched")
    for name in ("herd", "expert", "diverse-random"):
        for run in ("a", "b"):
            run_strategy(ds, name, params).write(tmp_path / run / name)
        for table in ("trades", "accounts", "decisions", "daily"):
            first = (tmp_path / "a" / name / f"{table}.parquet").read_bytes()
            assert first == (tmp_path / "b" / name / f"{table}.parquet").read_bytes()
