"""The tuning experiment: the treated run differs from the untreated one only by the
nudges (controls' PnL identical, treated traders' extra PnL = their new copies), the arms
pick the leaders they say, and the effects are the seeds summarised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.data import NS_PER_DAY
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import ParameterError
from ideaflow.experiments import parse_spec
from ideaflow.experiments.tuning import run_tuning_cell
from ideaflow.io import dataset_from_frames
from ideaflow.synth import generate

SPEC = {
    "platform": {"preset": "tiny", "seeds": [2]},
    "tuning": {"start_day": 30, "share": 0.25, "allocation": 0.2},
}


@pytest.fixture(scope="module")
def cell_output():
    spec = parse_spec(SPEC)
    rows, subjects = run_tuning_cell(spec, spec.cells()[0])
    return spec, rows, subjects


def _by_hand(arm_rows: pd.DataFrame):
    """Both runs replayed here from the platform tables and the nudges in `arm_rows`."""
    platform = generate("tiny", seed=2)
    originals = platform.trades.filter(pc.is_null(platform.trades.column("parent_trade_id")))
    ds0 = dataset_from_frames(originals, platform.follows, platform.prices, platform.accounts)
    first = int(ds0.trades.open_time.min())
    t0 = -(-(first + 30 * NS_PER_DAY) // NS_PER_DAY) * NS_PER_DAY
    nudged = arm_rows[arm_rows["leader_id"] >= 0]
    equity = dict(
        zip(
            platform.accounts["trader_id"].to_pylist(),
            platform.accounts["initial_equity"].to_pylist(),
        )
    )
    extra = pa.table(
        {
            "follower_id": nudged["trader_id"].to_numpy(),
            "leader_id": nudged["leader_id"].to_numpy(),
            "start_time": pa.array(np.full(len(nudged), t0), pa.int64()).cast(
                pa.timestamp("ns", tz="UTC")
            ),
            "end_time": pa.nulls(len(nudged), pa.timestamp("ns", tz="UTC")),
            "allocation": [0.2 * equity[t] for t in nudged["trader_id"]],
        }
    ).cast(platform.follows.schema)
    follows1 = pa.concat_tables([platform.follows, extra])
    ds1 = dataset_from_frames(originals, follows1, platform.prices, platform.accounts)
    r0 = replay(ds0, ReplayConfig(strategy="mirror"))
    r1 = replay(ds1, ReplayConfig(strategy="mirror"))
    return ds0, ds1, r0, r1, t0


def test_only_the_nudged_accounts_change_and_by_their_new_copies(cell_output):
    _, _, subjects = cell_output
    top = subjects[subjects["arm"] == "top"]
    ds0, ds1, r0, r1, t0 = _by_hand(top)
    pnl0 = dict(zip(ds0.trader_ids, r0.metrics.pnl))
    pnl1 = dict(zip(ds1.trader_ids, r1.metrics.pnl))
    treated = set(top["trader_id"])
    # copies are sized by the leader's equity: the nudge reaches everybody downstream of
    # a treated trader in the follow graph (after t0), and nobody else
    f = ds0.follows
    edges = [
        (ds0.trader_ids[a], ds0.trader_ids[b])
        for a, b, end in zip(f.follower, f.leader, f.end_time)
        if end > t0
    ]
    exposed, frontier = set(), set(treated)
    while frontier:
        frontier = {a for a, b in edges if b in frontier} - exposed
        exposed |= frontier  # treated traders downstream of another treated one too
    untouched = [t for t in ds0.trader_ids if t not in treated and t not in exposed]
    assert len(untouched) > 100
    assert all(pnl0[t] == pnl1[t] for t in untouched)
    # a treated trader's extra PnL is the PnL of the copies of his recommended leader
    book = r1.book
    codes = {t: c for c, t in enumerate(ds1.trader_ids)}
    trade_owner = dict(zip(ds1.trades.trade_id, ds1.trader_ids[ds1.trades.trader]))
    checked = 0
    for row in top.itertuples():
        if row.trader_id in exposed or row.leader_id < 0:
            continue  # he is downstream of a treated trader: his other copies changed too
        mine = (book.account == codes[row.trader_id]) & (book.hop > 0) & (book.open_time >= t0)
        roots = book.root_trade_id[mine]
        from_leader = np.array([trade_owner[r] == row.leader_id for r in roots], dtype=bool)
        new_copies = float(book.pnl[mine][from_leader].sum())
        assert pnl1[row.trader_id] - pnl0[row.trader_id] == pytest.approx(new_copies, abs=1e-6)
        checked += 1
    assert checked >= 5


def test_post_period_return_change_matches_the_replays(cell_output):
    _, rows, subjects = cell_output
    top = subjects[subjects["arm"] == "top"]
    ds0, ds1, r0, r1, t0 = _by_hand(top)
    post_days = ds0.data_end // NS_PER_DAY - t0 // NS_PER_DAY + 1
    d0, d1 = r0.daily(ds0), r1.daily(ds1)

    def post(daily, ds, trader):
        code = int(np.searchsorted(ds.trader_ids, trader))
        keep = (daily.account == code) & (daily.day >= t0 // NS_PER_DAY)
        return float(daily.pnl[keep].sum()) / float(ds.initial_equity[code]) / post_days * 30

    diffs = [post(d1, ds1, t) - post(d0, ds0, t) for t in top["trader_id"]]
    got = rows[(rows["arm"] == "top") & (rows["measure"] == "roi30_vs_untreated")]["value"]
    assert float(got.iloc[0]) == pytest.approx(np.mean(diffs), rel=1e-9, abs=1e-12)


def test_arms_pick_what_they_say(cell_output):
    _, rows, subjects = cell_output
    arms = {arm: part.set_index("trader_id") for arm, part in subjects.groupby("arm")}
    assert set(arms) == {"complementary", "top", "random"}
    # the same treated traders in every arm
    assert all((p.index == arms["top"].index).all() for p in arms.values())
    top, comp = arms["top"], arms["complementary"]
    # top: the best trailing performer available; nobody is recommended himself
    assert (top["leader_trailing_roi"] >= comp["leader_trailing_roi"]).all()
    assert top["leader_id"].nunique() <= 3
    for part in arms.values():
        assert (part["leader_id"] != part.index).all()
    # complementary: a leader from another style cluster than the trader's own
    assert (comp["leader_cluster"] != comp["own_cluster"]).mean() > 0.9
    # each treated trader gets a new source: the idea flow reaching him rises
    assert (top["copies_per_day"] >= top["copies_per_day_untreated"]).all()
    n = rows.groupby("arm")["n_treated"].first()
    assert (n == len(top)).all()


def test_cli_runs_the_tuning_spec_and_bad_keys_exit_2(tmp_path):
    spec = tmp_path / "tuning.toml"
    spec.write_text(
        '[platform]\npreset = "tiny"\nseeds = [1, 2]\n\n[tuning]\nstart_day = 30\nshare = 0.2\n'
    )
    result = CliRunner().invoke(main, ["experiment", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    effects = pd.read_parquet(tmp_path / "o" / "effects.parquet")
    assert len(effects) == 3 * 5 and (effects["n_seeds"] == 2).all()
    cells = pd.read_parquet(tmp_path / "o" / "cells")
    one = cells[(cells["arm"] == "random") & (cells["measure"] == "roi30_vs_pre")]
    row = effects[(effects["arm"] == "random") & (effects["measure"] == "roi30_vs_pre")].iloc[0]
    assert row["mean"] == pytest.approx(one["value"].mean())
    assert "complementary: roi30_vs_untreated" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text().replace("share = 0.2", "share = 1.5"))
    result = CliRunner().invoke(main, ["experiment", str(bad), "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "`tuning.share`" in result.output
    with pytest.raises(ParameterError, match=r"`tuning.arms`"):
        parse_spec({**SPEC, "tuning": {"arms": ["complementary", "best"]}})
