"""`ideaflow compare` and `ideaflow sweep` through click's CliRunner and once as a process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.io import write_dataset

T0 = pd.Timestamp("2021-01-01", tz="UTC")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(9)
    n, n_traders, n_days = 700, 12, 120
    opens = T0 + pd.to_timedelta(np.sort(rng.uniform(0, n_days, n)), unit="D")
    closes = opens + pd.to_timedelta(rng.exponential(2.0, n), unit="D")
    trades = pd.DataFrame(
        {
            "trade_id": np.arange(1, n + 1),
            "trader_id": rng.integers(1, n_traders + 1, n),
            "instrument": rng.choice(["A", "B", "C"], n),
            "side": rng.choice(np.array([1, -1], dtype=np.int8), n),
            "open_time": opens,
            "close_time": closes,
            "open_price": 1.0,
            "close_price": np.exp(rng.normal(0, 0.02, n)),
            "amount": 500.0,
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [1, 2, 3, 4, 5],
            "leader_id": [6, 6, 6, 7, 7],
            "start_time": [T0] * 5,
            "end_time": pd.Series([pd.NaT] * 5, dtype="datetime64[ns, UTC]"),
            "allocation": 1000.0,
        }
    )
    path = tmp_path_factory.mktemp("data") / "platform"
    write_dataset(path, trades, follows)
    return path


OPTIONS = [
    "--k",
    "2",
    "--min-history",
    "2",
    "--lookback",
    "30",
    "--rebalance",
    "20",
    "--n-boot",
    "200",
]


def test_compare_writes_every_strategy_and_the_tables(dataset, tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(dataset),
            "--strategies",
            "isolation,herd,diverse,echo,placebo",
            "--out",
            str(out),
            "--no-plots",
            *OPTIONS,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "strategy comparison" in result.output and "vs isolation" in result.output
    for name in ("isolation", "herd", "diverse", "echo", "placebo"):
        assert (out / name / "accounts.parquet").exists()
        assert (out / name / "decisions.parquet").exists()
    comparison = pd.read_parquet(out / "comparison.parquet")
    assert comparison["strategy"].tolist() == ["isolation", "herd", "diverse", "echo", "placebo"]
    assert (comparison["n_subjects"] == 12).all()
    iso = comparison.set_index("strategy").loc["isolation"]
    assert iso["mean_roi_ci_low"] <= iso["mean_roi"] <= iso["mean_roi_ci_high"]
    # uplift in percent only against a base whose interval excludes 0; else points
    away = iso["mean_roi_ci_low"] > 0 or iso["mean_roi_ci_high"] < 0
    assert (
        (iso["uplift_vs_isolation_pct"] == 0.0)
        if away
        else np.isnan(iso["uplift_vs_isolation_pct"])
    )
    assert iso["roi_diff_vs_isolation"] == 0.0 and np.isnan(iso["p_holm_roi_vs_isolation"])
    assert (comparison["exposure"] == "as-logged").all()
    # the verdict leads the printed table
    first = result.output.splitlines()[0]
    assert first.startswith("at as-logged exposure, diverse ") and "isolation" in first
    paired = pd.read_parquet(out / "paired.parquet")
    assert len(paired) == 5 * 4
    row = paired.set_index(["strategy_a", "strategy_b"]).loc[("diverse", "isolation")]
    by = comparison.set_index("strategy")["mean_roi"]
    assert row["mean_diff"] == pytest.approx(by["diverse"] - by["isolation"])
    # placebo rejects exactly as many ideas as diverse
    rates = comparison.set_index("strategy")["rejection_rate"]
    assert rates["placebo"] == rates["diverse"]


def test_sweep_writes_one_tidy_table(dataset, tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            str(dataset),
            "--strategy",
            "diverse",
            "--grid",
            "k=1,2",
            "--grid",
            "min_support=-1,0",
            "--out",
            str(out),
            "--jobs",
            "2",
            "--min-history",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "sweep.parquet")
    assert table[["k", "min_support"]].values.tolist() == [[1, -1], [1, 0], [2, -1], [2, 0]]
    assert {"mean_roi", "uplift_vs_isolation_pct", "rejection_rate"} <= set(table.columns)
    # min_support = -1 rejects less than 0 for the same k
    assert (
        table.loc[table["min_support"] == -1, "rejection_rate"].to_numpy()
        <= table.loc[table["min_support"] == 0, "rejection_rate"].to_numpy()
    ).all()


def test_bad_usage_exits_with_status_2(dataset, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(
        main,
        ["compare", str(dataset), "--strategies", "isolation,dverse", "--out", str(tmp_path / "x")],
    )
    assert bad.exit_code == 2 and "did you mean `diverse`" in bad.output
    grid = runner.invoke(
        main,
        [
            "sweep",
            str(dataset),
            "--strategy",
            "echo",
            "--grid",
            "kk=1",
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert grid.exit_code == 2 and "unknown parameter `kk`" in grid.output
    value = runner.invoke(
        main,
        [
            "sweep",
            str(dataset),
            "--strategy",
            "echo",
            "--grid",
            "k=two",
            "--out",
            str(tmp_path / "z"),
        ],
    )
    assert value.exit_code == 2 and "expected int values for `k`" in value.output


def test_compare_as_a_process(dataset, tmp_path):
    out = tmp_path / "proc"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ideaflow",
            "compare",
            str(dataset),
            "--strategies",
            "isolation,top",
            "--out",
            str(out),
            *OPTIONS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "top" in done.stdout
    assert (out / "roi_by_strategy.png").exists()
    assert (out / "cumulative_pnl_by_strategy.png").exists()
    assert pd.read_parquet(out / "comparison.parquet")["strategy"].tolist() == ["isolation", "top"]


def test_compare_backtest_and_sweep_take_the_exposure_option(dataset, tmp_path):
    runner = CliRunner()
    out = tmp_path / "matched"
    result = runner.invoke(
        main,
        [
            "compare",
            str(dataset),
            "--strategies",
            "isolation,diverse,popular,expert,diverse-random,placebo",
            "--exposure",
            "matched",
            "--out",
            str(out),
            "--no-plots",
            *OPTIONS,
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("at matched exposure, diverse ")
    comparison = pd.read_parquet(out / "comparison.parquet").set_index("strategy")
    # every subject holds its isolation exposure (or none at all, counted)
    exposure = pd.read_parquet(out / "isolation" / "accounts.parquet")["gross_exposure"]
    for name in comparison.index:
        acc = pd.read_parquet(out / name / "accounts.parquet")
        held = acc["gross_exposure"].to_numpy()
        zero = held == 0
        np.testing.assert_allclose(held[~zero], exposure.to_numpy()[~zero])
        assert comparison.loc[name, "n_zero_exposure"] == zero.sum()
    assert (comparison["exposure"] == "matched").all()
    paired = pd.read_parquet(out / "paired.parquet")
    tested = paired[paired["strategy_b"].isin(["isolation", "diverse"])]
    assert tested["p_holm"].notna().all() and (tested["p_holm"] >= tested["p_value"]).all()
    assert paired.loc[~paired["strategy_b"].isin(["isolation", "diverse"]), "p_holm"].isna().all()

    backtest = runner.invoke(
        main,
        ["backtest", str(dataset), "-s", "expert", "--exposure", "matched", "--out",
         str(tmp_path / "bt"), "--no-plots", "--k", "2", "--min-history", "2"],
    )  # fmt: skip
    assert backtest.exit_code == 0, backtest.output
    acc = pd.read_parquet(tmp_path / "bt" / "accounts.parquet")
    assert {"gross_exposure", "return_on_exposure", "exposure_factor"} <= set(acc.columns)
    engine = runner.invoke(
        main,
        ["backtest", str(dataset), "-s", "mirror", "--exposure", "matched", "--out",
         str(tmp_path / "bt2")],
    )  # fmt: skip
    assert engine.exit_code == 2 and "exposure: only apply to the walk-forward strategies" in (
        engine.output
    )
    bad = runner.invoke(
        main,
        ["compare", str(dataset), "--exposure", "equal", "--out", str(tmp_path / "x")],
    )
    assert bad.exit_code == 2 and "'equal' is not one of 'as-logged', 'matched'" in bad.output
    sweep = runner.invoke(
        main,
        ["sweep", str(dataset), "-s", "diverse", "--grid", "exposure=as-logged,matched",
         "--out", str(tmp_path / "sw"), "--jobs", "1", "--min-history", "2"],
    )  # fmt: skip
    assert sweep.exit_code == 0, sweep.output
    table = pd.read_parquet(tmp_path / "sw" / "sweep.parquet")
    assert table["exposure"].tolist() == ["as-logged", "matched"]
    # matched: diverse holds isolation's exposure
    assert table.loc[1, "mean_exposure"] >= table.loc[0, "mean_exposure"]


def test_backtest_writes_the_expanded_view_on_request(dataset, tmp_path):
    out = tmp_path / "herd"
    result = CliRunner().invoke(
        main,
        ["backtest", str(dataset), "-s", "herd", "--expand-shared", "--out", str(out),
         "--no-plots", "--k", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    accounts = pd.read_parquet(out / "accounts.parquet")
    decisions = pd.read_parquet(out / "decisions.parquet")
    expanded = pd.read_parquet(out / "decisions_by_subject.parquet")
    trades = pd.read_parquet(out / "trades_by_subject.parquet")
    # herd: every subject copies the same two leaders, so they share few accounts; the
    # expanded view has each subject's own rows
    assert decisions["subject_id"].nunique() < len(accounts)
    assert sorted(expanded["subject_id"].unique()) == sorted(accounts["trader_id"])
    pnl = trades.groupby("trader_id")["pnl"].sum()
    by_subject = accounts.set_index("trader_id")["pnl"]
    np.testing.assert_allclose(
        pnl.loc[by_subject.index[by_subject != 0]], by_subject[by_subject != 0]
    )
