"""docs/contract.md §5 strategies on tiny hand-built platforms, with the expected decisions written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ideaflow.errors import ParameterError
from ideaflow.io import dataset_from_frames
from ideaflow.strategies import STRATEGIES, StrategyParams, StrategyRunner, run_strategy

T0 = pd.Timestamp("2021-01-01", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


def make_ds(rows, follows=None, equity=None):
    """rows: (trade_id, trader, instrument, side, open_day, close_day|None, open_px,
    close_px|None, amount)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "trade_id",
            "trader_id",
            "instrument",
            "side",
            "open_day",
            "close_day",
            "open_price",
            "close_price",
            "amount",
        ],
    )
    trades = pd.DataFrame(
        {
            "trade_id": frame["trade_id"].astype("int64"),
            "trader_id": frame["trader_id"].astype("int64"),
            "instrument": frame["instrument"],
            "side": frame["side"].astype("int8"),
            "open_time": [day(d) for d in frame["open_day"]],
            "close_time": pd.Series(
                [pd.NaT if pd.isna(d) else day(d) for d in frame["close_day"]],
                dtype="datetime64[ns, UTC]",
            ),
            "open_price": frame["open_price"].astype(float),
            "close_price": frame["close_price"].astype(float),
            "amount": frame["amount"].astype(float),
        }
    )
    fl = None
    if follows is not None:
        fl = pd.DataFrame(
            {
                "follower_id": [f[0] for f in follows],
                "leader_id": [f[1] for f in follows],
                "start_time": [day(f[2]) for f in follows],
                "end_time": pd.Series(
                    [pd.NaT if f[3] is None else day(f[3]) for f in follows],
                    dtype="datetime64[ns, UTC]",
                ),
                "allocation": [1000.0] * len(follows),
            }
        )
    accounts = None
    if equity is not None:
        accounts = pd.DataFrame(
            {"trader_id": list(equity), "initial_equity": list(equity.values())}
        )
    return dataset_from_frames(trades, fl, accounts=accounts)


# --- vote platform: subject 1 and a single evaluator 2 ------------------------------------
# rebalance every 10 days from day 0; lookback 10 days; k = 1; min_history = 1.
VOTE_ROWS = [
    # evaluator 2: history in [0, 10) makes it a candidate at r = 10
    (1, 2, "EURUSD", 1, 0.0, 1.0, 1.0, 1.0, 100.0),
    # subject 1: one closed idea in period 0 (gets a style vector at r = 10)
    (2, 1, "EURUSD", 1, 5.0, 5.5, 1.0, 1.1, 1000.0),
    # evaluator 2's positions the subject's ideas are voted against
    (3, 2, "EURUSD", 1, 11.0, 11.5, 1.0, 1.0, 100.0),
    (4, 2, "USDJPY", -1, 13.0, 13.1, 1.0, 1.0, 100.0),
    (5, 2, "GOLD", 1, 15.0, 15.5, 1.0, 1.0, 100.0),
    (6, 2, "OIL", 1, 16.0, 18.0, 1.0, 1.0, 100.0),
    (7, 2, "OIL", -1, 16.5, 16.6, 1.0, 1.0, 100.0),
    # subject 1's ideas in period 1 [10, 20)
    (11, 1, "EURUSD", 1, 11.2, 12.0, 1.0, 1.2, 1000.0),  # 2 holds EURUSD long: +1
    (12, 1, "EURUSD", -1, 11.3, 12.0, 1.0, 0.9, 1000.0),  # 2 holds long: -1 -> rejected
    (13, 1, "EURUSD", 1, 12.2, 13.0, 1.0, 1.0, 1000.0),  # closed 11.5, opened > 24h ago: 0
    (14, 1, "GBPUSD", 1, 12.5, 13.0, 1.0, 1.0, 1000.0),  # no position: 0
    (15, 1, "USDJPY", 1, 14.0, 15.0, 1.0, 1.0, 1000.0),  # opened exactly 24h before: -1
    (16, 1, "USDJPY", 1, 14.01, 15.0, 1.0, 1.0, 1000.0),  # just outside the window: 0
    (17, 1, "GOLD", -1, 15.0, 16.0, 1.0, 1.0, 1000.0),  # opened at t, not before: 0
    (18, 1, "OIL", 1, 17.0, 19.0, 1.0, 1.0, 1000.0),  # most recent (short, 16.5): -1
    (19, 1, "OIL", 1, 17.6, 19.0, 1.0, 1.0, 1000.0),  # short out of window; long held: +1
    (20, 1, "EURUSD", 1, 25.0, None, 1.0, None, 1000.0),  # period 2: still open at the end
]
VOTE_PARAMS = StrategyParams(
    k=1, rebalance_days=10, lookback_days=10, min_history=1, min_ideas=1, window_hours=24
)
EXPECTED_SUPPORT = {2: 0, 11: 1, 12: -1, 13: 0, 14: 0, 15: -1, 16: 0, 17: 0, 18: -1, 19: 1}


@pytest.fixture(scope="module")
def vote_ds():
    return make_ds(VOTE_ROWS)


@pytest.mark.parametrize("name", ["diverse", "echo"])
def test_votes_follow_the_window_and_boundary_rules(vote_ds, name):
    result = run_strategy(vote_ds, name, VOTE_PARAMS)
    dec = result.decisions[result.decisions["subject_id"] == 1].set_index("trade_id")
    assert list(dec.index) == [2, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    support = {tid: int(dec.loc[tid, "support"]) for tid in EXPECTED_SUPPORT}
    assert support == EXPECTED_SUPPORT
    # period 0: no candidates yet -> no evaluators, taken
    assert list(dec.loc[2, "in_force"]) == []
    assert bool(dec.loc[2, "taken"])
    # period 1: evaluator 2 in force; min_support 0 rejects the net-opposed ideas
    assert list(dec.loc[11, "in_force"]) == [2]
    taken = dec["taken"].to_dict()
    assert [tid for tid, t in taken.items() if not t] == [12, 15, 18]
    assert dec.loc[11, "rebalance_time"] == day(10) and dec.loc[20, "rebalance_time"] == day(20)


def test_isolation_takes_every_idea_and_accounts_for_it(vote_ds):
    result = run_strategy(vote_ds, "isolation", VOTE_PARAMS)
    dec = result.decisions[result.decisions["subject_id"] == 1]
    assert dec["taken"].all() and (dec["support"] == 0).all()
    acc = result.accounts.set_index("trader_id").loc[1]
    # closed ideas: +100 (id 2), +200 (11), -1000*(0.9-1)*1 = +100 (12), the rest 0
    assert acc["pnl"] == pytest.approx(400.0)
    assert acc["roi"] == pytest.approx(0.04)
    assert int(acc["n_trades"]) == 11


def test_min_support_and_size_by_support(vote_ds):
    strict = run_strategy(vote_ds, "diverse", VOTE_PARAMS.replace(min_support=1))
    dec = strict.decisions[strict.decisions["subject_id"] == 1].set_index("trade_id")
    assert sorted(dec.index[dec["taken"]]) == [11, 19]
    sized = run_strategy(vote_ds, "diverse", VOTE_PARAMS.replace(size_by_support=True))
    dec = sized.decisions[sized.decisions["subject_id"] == 1].set_index("trade_id")
    # 1 + support / n_evaluators: 2x when the evaluator agrees, 1x neutral, 0 (not taken)
    assert dec.loc[11, "size"] == 2.0 and dec.loc[13, "size"] == 1.0
    assert dec.loc[12, "size"] == 0.0 and not dec.loc[12, "taken"]
    trades = sized.trades.set_index("trade_id")
    assert trades.loc[11, "amount"] == 2000.0 and trades.loc[11, "pnl"] == pytest.approx(400.0)


def test_placebo_rejects_as_many_ideas_per_subject_as_diverse():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(400):
        trader = int(rng.integers(1, 9))
        d = float(rng.uniform(0, 120))
        rows.append(
            (
                i + 1,
                trader,
                str(rng.choice(["A", "B", "C"])),
                int(rng.choice([1, -1])),
                d,
                d + float(rng.uniform(0.1, 3)),
                1.0,
                float(rng.uniform(0.9, 1.1)),
                100.0,
            )
        )
    ds = make_ds(rows)
    params = StrategyParams(
        k=3,
        rebalance_days=15,
        lookback_days=30,
        min_history=2,
        min_ideas=5,
        window_hours=72,
        seed=3,
    )
    runner = StrategyRunner(ds, params)
    diverse = runner.run("diverse").decisions
    placebo = runner.run("placebo").decisions
    rejected = lambda d: d.loc[~d["taken"]].groupby("subject_id").size()  # noqa: E731
    assert rejected(diverse).sum() > 0
    pd.testing.assert_series_equal(rejected(diverse), rejected(placebo))
    # which ideas are rejected differs: it is a random draw, not the evaluators' choice
    assert not diverse["taken"].equals(placebo["taken"])
    again = StrategyRunner(ds, params).run("placebo").decisions
    pd.testing.assert_frame_equal(placebo, again)


# --- copying: herd / top / random -----------------------------------------------------------
HERD_ROWS = [
    (1, 1, "A", 1, 0.0, 0.5, 1.0, 1.0, 100.0),  # subject 1's ideas (min_ideas = 2)
    (2, 1, "A", 1, 0.1, 0.6, 1.0, 1.0, 100.0),
    (3, 2, "A", 1, 1.0, 2.0, 1.0, 1.1, 1000.0),  # leader 2: +100 realised at day 2
    (4, 2, "B", -1, 11.0, 12.0, 1.0, 0.9, 500.0),  # period 1 idea of 2 (E_2 = 10,100)
    (5, 2, "B", 1, 21.0, 22.0, 1.0, 1.0, 500.0),  # period 2: 2 is no longer the top
    (6, 7, "A", 1, 21.5, 23.0, 2.0, 2.2, 800.0),  # period 2 idea of 7
    (7, 5, "A", 1, 11.5, 12.5, 1.0, 1.0, 300.0),  # idea of 5 in period 1
    (8, 2, "A", 1, 0.2, 0.7, 1.0, 1.0, 10.0),  # makes 2 a subject too
]
HERD_FOLLOWS = [
    (3, 2, 0.0, None),
    (4, 2, 0.0, 15.0),
    (3, 5, 5.0, None),
    (6, 7, 12.0, None),
    (4, 7, 12.0, None),
    (3, 7, 12.0, None),
]
HERD_PARAMS = StrategyParams(k=1, rebalance_days=10, lookback_days=10, min_history=1, min_ideas=2)


@pytest.fixture(scope="module")
def herd_ds():
    return make_ds(HERD_ROWS, HERD_FOLLOWS)


def test_herd_copies_the_most_followed_as_of_each_rebalance(herd_ds):
    result = run_strategy(herd_ds, "herd", HERD_PARAMS)
    dec = result.decisions
    one = dec[dec["subject_id"] == 1]
    # r=0: 2 has 2 active followers; r=10: 2 (2 followers: 3 and 4 until day 15);
    # r=20: 7 has 3, 2 and 5 have 1 each
    assert one["trade_id"].tolist() == [8, 3, 4, 6]
    assert [list(x) for x in one["in_force"]] == [[2], [2], [2], [7]]
    assert one["taken"].all()
    # the subject never copies itself: subject 2 has no leader at r=0 (nobody else is
    # followed yet), the runner-up 5 at r=10 and the leader 7 at r=20
    two = dec[dec["subject_id"] == 2]
    assert two["trade_id"].tolist() == [7, 6]
    assert [list(x) for x in two["in_force"]] == [[5], [7]]
    trades = result.trades[result.trades["trader_id"] == 1].set_index("parent_trade_id")
    # allocation = 10,000 / k; amount = idea.amount * allocation / E_L(t)
    assert trades.loc[4, "amount"] == pytest.approx(500.0 * 10_000 / 10_100)
    assert trades.loc[3, "amount"] == pytest.approx(1000.0)
    assert trades.loc[4, "pnl"] == pytest.approx(500.0 * 10_000 / 10_100 * 0.1)
    assert (trades["hop"] == 1).all()
    assert trades["trade_id"].min() > 8  # new ids after the logged ones


def test_top_picks_the_best_trailing_roi(herd_ds):
    result = run_strategy(herd_ds, "top", HERD_PARAMS)
    one = result.decisions[result.decisions["subject_id"] == 1]
    # r=10: closed in [0, 10): 1 (0 pnl), 2 (+100 and 0), so 2 (ROI 1%); r=20: window
    # [10, 20): 2 closed idea 4 (+50), 5 closed 0 -> 2 again
    assert [list(x) for x in one["in_force"]] == [[2], [2]]
    assert one["trade_id"].tolist() == [4, 5]


def test_random_leaders_are_seeded_distinct_and_never_the_subject(herd_ds):
    params = HERD_PARAMS.replace(k=2, seed=11)
    a = StrategyRunner(herd_ds, params).decisions("random")
    b = StrategyRunner(herd_ds, params).decisions("random")
    np.testing.assert_array_equal(a.sets, b.sets)
    runner = StrategyRunner(herd_ds, params)
    subjects = runner.frame.subjects
    for j, r in enumerate(runner.frame.times):
        traded_before = {
            int(t) for t in np.unique(herd_ds.trades.trader[herd_ds.trades.open_time < r])
        }
        for s, subject in enumerate(subjects):
            chosen = [int(x) for x in a.sets[s, j] if x >= 0]
            assert len(set(chosen)) == len(chosen) == min(2, len(traded_before - {subject}))
            assert subject not in chosen and set(chosen) <= traded_before


def test_every_strategy_is_deterministic_and_writes_decisions(herd_ds, tmp_path):
    for name in STRATEGIES:
        first = run_strategy(herd_ds, name, HERD_PARAMS)
        second = run_strategy(herd_ds, name, HERD_PARAMS)
        pd.testing.assert_frame_equal(first.decisions, second.decisions)
        pd.testing.assert_frame_equal(first.accounts, second.accounts)
        assert {
            "subject_id",
            "trade_id",
            "time",
            "instrument",
            "side",
            "taken",
            "support",
            "in_force",
            "rebalance_time",
        } <= set(first.decisions.columns)
    first.write(tmp_path / "a")
    second.write(tmp_path / "b")
    for name in ("decisions.parquet", "trades.parquet", "accounts.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    back = pd.read_parquet(tmp_path / "a" / "decisions.parquet")
    assert back["in_force"].map(list).tolist() == first.decisions["in_force"].map(list).tolist()


def test_parameters_are_validated(herd_ds):
    with pytest.raises(ParameterError, match="k: expected an integer >= 1; found 0"):
        StrategyParams(k=0)
    with pytest.raises(ParameterError, match="window_hours: expected a finite number > 0"):
        StrategyParams(window_hours=-1)
    with pytest.raises(ParameterError, match="did you mean `herd`"):
        run_strategy(herd_ds, "hert", HERD_PARAMS)
    with pytest.raises(ParameterError, match="unknown lookbak.*did you mean `lookback_days`"):
        HERD_PARAMS.replace(lookbak=3)


def test_subjects_with_the_same_leaders_share_an_account_scaled_by_equity():
    rows = [
        *HERD_ROWS,
        (9, 3, "B", 1, 0.3, 0.4, 1.0, 1.0, 10.0),
        (10, 3, "B", 1, 0.35, 0.4, 1.0, 1.0, 10.0),
    ]
    ds = make_ds(rows, HERD_FOLLOWS, equity={1: 10_000.0, 3: 30_000.0})
    result = run_strategy(ds, "herd", HERD_PARAMS)
    acc = result.accounts.set_index("trader_id")
    # 1 and 3 follow the same schedule (2, 2, 7): one account, kept under subject 1
    assert acc.loc[3, "positions_of"] == 1 and acc.loc[2, "positions_of"] == 2
    assert acc.loc[3, "roi"] == pytest.approx(acc.loc[1, "roi"])
    assert acc.loc[3, "pnl"] == pytest.approx(3 * acc.loc[1, "pnl"])
    assert acc.loc[3, "initial_equity"] == 30_000.0
    assert set(result.decisions["subject_id"]) == {1, 2}
    daily = result.daily.groupby("trader_id")["pnl"].sum()
    assert daily.loc[3] == pytest.approx(acc.loc[3, "pnl"])


def test_probed_nearest_search_is_exact_when_every_cell_is_probed():
    from ideaflow.strategies import selection

    rng = np.random.default_rng(1)
    cand = rng.normal(size=(300, 4))
    codes = np.arange(10, 310, dtype=np.int32)
    subjects = cand[:40] + rng.normal(scale=0.05, size=(40, 4))
    subject_codes = codes[:40]  # each subject is also a candidate: never its own evaluator
    exact = selection._nearest(subjects, subject_codes, cand, codes, 3)
    probed = selection._nearest_probed(subjects, subject_codes, cand, codes, 3, seed=0)
    np.testing.assert_array_equal(probed, exact)
    assert not (exact == subject_codes[:, None]).any()


def _probed_reference(subjects, subject_codes, probes, cells, vectors, codes, k, max_scan):
    """The probed search as documented, one candidate at a time: cells in probe order,
    members by ascending code, the subject skipped and not counted, at most max_scan
    examined, stop once k exact duplicates are found; ties to the lowest code."""
    out = np.full((len(subjects), k), -1, dtype=np.int32)
    for s, vector in enumerate(subjects):
        best: list[tuple[float, int]] = []
        scanned = 0
        for cell in probes[s]:
            for row in sorted(np.flatnonzero(cells == cell), key=lambda r: codes[r]):
                if scanned >= max_scan or (len(best) == k and best[-1][0] == 0.0):
                    break
                if codes[row] == subject_codes[s]:
                    continue
                scanned += 1
                d = float(sum((vector[m] - vectors[row, m]) ** 2 for m in range(len(vector))))
                best = sorted([*best, (d, int(codes[row]))])[:k]
        out[s, : len(best)] = [c for _, c in best]
    return out


@pytest.mark.parametrize("max_scan", [1, 7, 40, 10_000])
def test_probed_nearest_kernel_against_a_one_at_a_time_reference(max_scan):
    """The kernel's shortcuts (cells skipped by their radius, distances of a cell computed
    together, the budget cut inside a cell) give the plain scan's result, duplicates and
    ties included."""
    from ideaflow.kernels.strategy import probed_nearest_nb

    rng = np.random.default_rng(11)
    n_cells, dims, k = 9, 3, 4
    centres = rng.normal(scale=4.0, size=(n_cells, dims))
    cells = rng.integers(0, n_cells, 120)
    vectors = np.round(centres[cells] + rng.normal(size=(120, dims)), 1)
    vectors[10:16] = vectors[9]  # exact duplicates: distance 0 and ties
    codes = np.arange(0, 240, 2)
    cells[10:16] = cells[9]
    subjects = np.vstack([vectors[:30], np.round(rng.normal(scale=4.0, size=(10, dims)), 1)])
    subject_codes = np.concatenate([codes[:30], np.arange(1, 20, 2)])  # 30 are candidates
    centre_of = np.array([vectors[cells == c].mean(axis=0) for c in range(n_cells)])
    d_centre = np.sqrt(((subjects[:, None, :] - centre_of[None]) ** 2).sum(axis=2))
    probes = np.argsort(d_centre, axis=1, kind="stable")[:, :6]
    members = np.argsort(cells, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=n_cells))])
    radius = np.zeros(n_cells)
    np.maximum.at(radius, cells, np.sqrt(((vectors - centre_of[cells]) ** 2).sum(axis=1)))
    subject_cell = np.array([cells[c // 2] if c % 2 == 0 else -1 for c in subject_codes])
    got = probed_nearest_nb(
        subjects,
        subject_codes.astype(np.int64),
        subject_cell.astype(np.int64),
        probes.astype(np.int64),
        np.take_along_axis(d_centre, probes, axis=1),
        indptr.astype(np.int64),
        radius,
        np.ascontiguousarray(vectors[members].T),
        codes[members].astype(np.int64),
        k,
        max_scan,
    )
    expected = _probed_reference(
        subjects, subject_codes, probes, cells, vectors, codes, k, max_scan
    )
    np.testing.assert_array_equal(got, expected)


def test_strategy_tables_have_the_record_schemas(herd_ds, vote_ds):
    """decisions.parquet has the decision record's schema (leader_id only for copy
    strategies) and the decisions' values; trades use the engine's schema, with each
    position under its subject's trader id."""
    from ideaflow.results.tables import ACCOUNTS_SCHEMA, DECISIONS_SCHEMA, TRADES_SCHEMA
    from ideaflow.strategies.books import (
        account_tables,
        decisions_table,
        strategy_book,
        trades_table,
    )
    from ideaflow.strategies.decide import COPY_STRATEGIES, MIXED_STRATEGIES

    for ds, params in ((herd_ds, HERD_PARAMS), (vote_ds, VOTE_PARAMS)):
        runner = StrategyRunner(ds, params)
        for name in STRATEGIES:
            decisions = runner.decisions(name)
            got = decisions_table(runner.frame, decisions)
            names = [n for n in DECISIONS_SCHEMA.names if n != "leader_id"]
            if name in COPY_STRATEGIES + MIXED_STRATEGIES:
                names = DECISIONS_SCHEMA.names
            assert got.schema == pa.schema([DECISIONS_SCHEMA.field(n) for n in names]), name
            _, account_subject = decisions.accounts(runner.frame.n_subjects)
            owner = ds.trader_ids[runner.frame.subjects[account_subject[decisions.subject]]]
            assert got.column("subject_id").to_numpy().tolist() == owner.tolist(), name
            rows = decisions.row
            assert got.column("trade_id").to_numpy().tolist() == (
                ds.trades.trade_id[rows].tolist()
            ), name
            assert got.column("taken").to_numpy(zero_copy_only=False).tolist() == (
                decisions.taken.tolist()
            ), name
            assert got.column("support").to_numpy().tolist() == decisions.support.tolist()
            assert got.column("instrument").to_pylist() == [
                ds.instruments[i] for i in ds.trades.instrument[rows]
            ], name
            book = strategy_book(runner.frame, decisions, runner.actual)
            got = trades_table(runner.frame, book, decisions)
            assert got.schema == TRADES_SCHEMA, name
            assert got.num_rows == int(decisions.taken.sum())
            # the owner of every position is the subject its account belongs to
            _, account_subject = decisions.accounts(runner.frame.n_subjects)
            subject_ids = ds.trader_ids[runner.frame.subjects[account_subject]]
            assert got.column("trader_id").to_numpy().tolist() == (
                subject_ids[book.account].tolist()
            ), name
            is_open = book.close_time == np.iinfo(np.int64).max
            assert got.column("close_time").null_count == int(is_open.sum()), name
            np.testing.assert_array_equal(got.column("pnl").to_numpy(), book.pnl)
            # accounts: the engine's schema plus positions_of; an undefined metric is NaN
            # as in a backtest's file (never null): win rate without a closed position
            accounts, _ = account_tables(runner.frame, book, decisions)
            assert accounts.schema.names == [*ACCOUNTS_SCHEMA.names, "positions_of"], name
            assert accounts.select(ACCOUNTS_SCHEMA.names).schema == ACCOUNTS_SCHEMA, name
            for column in ("win_rate", "max_drawdown", "sharpe", "roi", "pnl"):
                assert accounts.column(column).null_count == 0, (name, column)
            no_close = accounts.column("n_closed").to_numpy() == 0
            win_rate = accounts.column("win_rate").to_numpy()
            assert np.isnan(win_rate).tolist() == no_close.tolist(), name


def test_shared_account_daily_rows_are_the_account_rows_scaled():
    rows = [
        *HERD_ROWS,
        (9, 3, "B", 1, 0.3, 0.4, 1.0, 1.0, 10.0),
        (10, 3, "B", 1, 0.35, 0.4, 1.0, 1.0, 10.0),
    ]
    ds = make_ds(rows, HERD_FOLLOWS, equity={1: 10_000.0, 3: 30_000.0})
    daily = run_strategy(ds, "herd", HERD_PARAMS).daily
    one = daily[daily["trader_id"] == 1].reset_index(drop=True)
    three = daily[daily["trader_id"] == 3].reset_index(drop=True)
    assert len(one) > 0 and one["day"].tolist() == three["day"].tolist()
    assert three["pnl"].tolist() == (one["pnl"] * 3.0).tolist()
    # one block per subject, in subject id order
    assert daily["trader_id"].is_monotonic_increasing


def test_release_drops_styles_and_decisions_nothing_left_needs(vote_ds):
    runner = StrategyRunner(vote_ds, VOTE_PARAMS)
    runner.decisions("diverse")
    runner.decisions("echo")
    styles = [key for key in runner.frame.cache if key[0] == "styles"]
    assert styles
    runner.release("diverse", ["echo", "placebo"])
    runner.release("echo", ["placebo"])
    # placebo reuses diverse's decisions, so the style features are no longer needed
    assert "diverse" in runner._decisions and "echo" not in runner._decisions
    assert not [key for key in runner.frame.cache if key[0] == "styles"]
    runner.release("placebo", [])
    assert not runner._decisions


def test_a_strategy_run_shows_its_stages_when_asked(vote_ds, capsys):
    quiet = StrategyRunner(vote_ds, VOTE_PARAMS).run("diverse")
    assert capsys.readouterr().err == ""
    shown = StrategyRunner(vote_ds, VOTE_PARAMS).run("diverse", progress=True)
    err = capsys.readouterr().err
    assert "diverse" in err and "2/2" in err
    assert set(shown.timings) >= {"decide", "accounting"}
    assert shown.accounts.equals(quiet.accounts)


# --- one vote rule, several ways of choosing evaluators ------------------------------------
def test_popular_and_expert_vote_with_herd_and_top_choices(herd_ds):
    from ideaflow.strategies.selection import herd_sets, top_sets

    runner = StrategyRunner(herd_ds, HERD_PARAMS)
    frame = runner.frame
    popular = runner.decisions("popular")
    expert = runner.decisions("expert")
    np.testing.assert_array_equal(popular.sets, herd_sets(frame))
    np.testing.assert_array_equal(expert.sets, top_sets(frame))
    # own ideas, voted on: one row per idea of each subject, as for diverse
    diverse = runner.decisions("diverse")
    np.testing.assert_array_equal(popular.row, diverse.row)
    one = run_strategy(herd_ds, "popular", HERD_PARAMS).decisions.set_index("trade_id")
    # subject 1's ideas at days 0 and 0.1: herd's leader at r=0 is 2, whose idea 8 (A long,
    # opened at 0.2) comes after them: no vote yet
    assert [list(one.loc[t, "in_force"]) for t in (1, 2)] == [[2], [2]]
    assert (one.loc[[1, 2], "support"] == 0).all()


def test_random_member_pick_by_hand():
    from ideaflow.kernels.strategy import random_member_pick_nb

    # clusters 0: [10, 11, 12], 1: [20], 2: [30, 31]; preferred order 2, 0, 1
    indptr = np.array([0, 3, 4, 6], dtype=np.int64)
    members = np.array([10, 11, 12, 20, 30, 31], dtype=np.int32)
    n = 300
    order = np.tile(np.array([2, 0, 1], dtype=np.int32), (n, 1))
    subjects = np.full(n, 31, dtype=np.int32)
    subjects[1::2] = np.arange(1000, 1000 + n // 2)  # and others outside every cluster
    picks = random_member_pick_nb(order, indptr, members, subjects, 3, np.int64(5), np.int64(0))
    # subject 31 never picks itself: its far cluster gives 30; one of cluster 0; then 20
    assert (picks[0::2, 0] == 30).all() and (picks[:, 2] == 20).all()
    assert set(picks[:, 1]) == {10, 11, 12}  # a random member, each of them drawn
    assert set(picks[1::2, 0]) == {30, 31}
    again = random_member_pick_nb(order, indptr, members, subjects, 3, np.int64(5), np.int64(0))
    np.testing.assert_array_equal(picks, again)
    # more than one per cluster once every cluster gave one: distinct, never the subject
    more = random_member_pick_nb(order, indptr, members, subjects, 6, np.int64(5), np.int64(1))
    for s in range(n):
        chosen = [int(x) for x in more[s] if x >= 0]
        assert len(set(chosen)) == len(chosen) and subjects[s] not in chosen
        assert len(chosen) == (5 if subjects[s] == 31 else 6)


def test_diverse_random_takes_the_clusters_of_diverse(herd_ds):
    rng = np.random.default_rng(5)
    rows = []
    for i in range(600):
        trader = int(rng.integers(1, 13))
        d = float(rng.uniform(0, 120))
        rows.append(
            (i + 1, trader, str(rng.choice(["A", "B", "C"])), int(rng.choice([1, -1])), d,
             d + float(rng.uniform(0.1, 3)), 1.0, float(rng.uniform(0.9, 1.1)), 100.0)
        )  # fmt: skip
    ds = make_ds(rows)
    params = StrategyParams(
        k=2, rebalance_days=15, lookback_days=30, min_history=2, min_ideas=5, n_clusters=3, seed=3
    )
    a = StrategyRunner(ds, params).decisions("diverse-random")
    b = StrategyRunner(ds, params).decisions("diverse-random")
    np.testing.assert_array_equal(a.sets, b.sets)
    other = StrategyRunner(ds, params.replace(seed=4)).decisions("diverse-random")
    diverse = StrategyRunner(ds, params).decisions("diverse")
    # as many evaluators as diverse (one per far cluster), not always the same ones
    np.testing.assert_array_equal((a.sets >= 0).sum(axis=2), (diverse.sets >= 0).sum(axis=2))
    assert not np.array_equal(a.sets, diverse.sets)
    assert not np.array_equal(a.sets, other.sets)


def test_shared_accounts_read_per_subject(tmp_path):
    from ideaflow.strategies import expand_shared, subject_decisions, subject_positions

    rows = [
        *HERD_ROWS,
        (9, 3, "B", 1, 0.3, 0.4, 1.0, 1.0, 10.0),
        (10, 3, "B", 1, 0.35, 0.4, 1.0, 1.0, 10.0),
    ]
    ds = make_ds(rows, HERD_FOLLOWS, equity={1: 10_000.0, 3: 30_000.0})
    result = run_strategy(ds, "herd", HERD_PARAMS)
    # subject 3 shares subject 1's account at three times its equity
    three = subject_decisions(result, 3)
    one = result.decisions[result.decisions["subject_id"] == 1].reset_index(drop=True)
    assert (three["subject_id"] == 3).all() and three["trade_id"].tolist() == [8, 3, 4, 6]
    np.testing.assert_allclose(three["size"], one["size"] * 3.0)
    positions = subject_positions(result, 3)
    mine = result.trades[result.trades["trader_id"] == 1].reset_index(drop=True)
    np.testing.assert_allclose(positions["amount"], mine["amount"] * 3.0)
    acc = result.accounts.set_index("trader_id")
    assert positions["pnl"].sum() == pytest.approx(acc.loc[3, "pnl"])
    # a subject with its own account gets its own rows unchanged
    pd.testing.assert_frame_equal(
        subject_positions(result, 2),
        result.trades[result.trades["trader_id"] == 2].reset_index(drop=True),
    )
    with pytest.raises(ParameterError, match="subject_id: 4 is not a subject"):
        subject_decisions(result, 4)
    # the expanded view: every subject's rows; the same from a written directory
    expanded = expand_shared(result, "decisions")
    assert expanded["subject_id"].value_counts().sort_index().tolist() == [4, 2, 4]
    result.write(tmp_path / "herd")
    pd.testing.assert_frame_equal(expand_shared(tmp_path / "herd", "decisions"), expanded)
    trades = expand_shared(tmp_path / "herd", "trades")
    assert trades.groupby("trader_id")["pnl"].sum().to_numpy() == pytest.approx(
        acc["pnl"].to_numpy()
    )
    with pytest.raises(ParameterError, match="table: expected one of trades, decisions"):
        expand_shared(result, "daily")
