"""The public API: `ideaflow.backtest` dispatch and parameter errors; `ideaflow bench`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ideaflow
from ideaflow.cli import main
from ideaflow.errors import ParameterError


def test_backtest_on_a_dataset_object(platform_ds: ideaflow.Dataset) -> None:
    actual = ideaflow.backtest(platform_ds, "actual")
    mirror = ideaflow.backtest(platform_ds, "mirror")
    assert len(actual.trades) == 3_000
    assert actual.counts["copies_generated"] == 0
    copies = mirror.counts["copies_generated"]
    assert copies > 0
    assert len(mirror.trades) == 3_000 + copies
    # originals are identical in both replays; pnl is conserved into the accounts
    originals = mirror.trades[mirror.trades["hop"] == 0].set_index("trade_id")
    base = actual.trades.set_index("trade_id")
    np.testing.assert_allclose(originals.loc[base.index, "pnl"], base["pnl"])
    for res in (actual, mirror):
        assert res.accounts["pnl"].sum() == pytest.approx(res.trades["pnl"].sum(), rel=1e-9)
        final = res.accounts["initial_equity"] + res.accounts["pnl"]
        np.testing.assert_allclose(res.accounts["final_equity"], final)


def test_depth_two_adds_copies_of_copies(platform_ds: ideaflow.Dataset) -> None:
    one = ideaflow.backtest(platform_ds, "mirror", depth=1)
    two = ideaflow.backtest(platform_ds, "mirror", depth=2)
    hops = two.trades["hop"].value_counts()
    assert hops.get(2, 0) > 0
    assert two.counts["copies_generated"] > one.counts["copies_generated"]
    # each root reaches an account at most once
    copies = two.trades[two.trades["hop"] > 0]
    assert not copies.duplicated(["root_trade_id", "trader_id"]).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, "depth: expected an integer >= 1"),
        ({"sharpe_annualization": -1.0}, "sharpe_annualization: expected a finite number > 0"),
        ({"initial_equity": 5.0}, "initial_equity: applies when a dataset is read from a path"),
        ({"k": 3}, "k: only apply to the walk-forward strategies"),
    ],
)
def test_parameter_errors(platform_ds: ideaflow.Dataset, kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        ideaflow.backtest(platform_ds, "mirror", **kwargs)


def test_unknown_strategy_suggests_a_name(platform_ds: ideaflow.Dataset) -> None:
    with pytest.raises(ParameterError, match="did you mean `herd`"):
        ideaflow.backtest(platform_ds, "hrd")


def test_result_write_and_summary(platform_ds: ideaflow.Dataset, tmp_path: Path) -> None:
    result = ideaflow.backtest(platform_ds, "mirror")
    result.write(tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["copies_generated"] == result.counts["copies_generated"]
    assert summary["headline"]["positions"] == len(result.trades)
    assert set(summary["timings_s"]) >= {"load", "replay", "write"}
    table = ideaflow.text(result)
    assert "social vs single trades" in table
    assert "top accounts by pnl" in table


def test_bench_command_runs_small(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main,
        [
            "bench",
            "--trades",
            "2000",
            "--traders",
            "200",
            "--follows",
            "300",
            "--workdir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "ideaflow bench: mirror replay" in res.output
    assert "copies generated" in res.output


def test_plots_and_table_when_every_roi_is_equal(tmp_path: Path) -> None:
    """herd subjects can share one account: identical ROIs must still plot and print."""
    import pandas as pd

    from ideaflow.reporting.figures import backtest_figures
    from ideaflow.results import BacktestResult

    accounts = pd.DataFrame(
        {
            "trader_id": [3, 1, 2],
            "n_trades": [4, 4, 0],
            "n_social": [4, 4, 0],
            "pnl": [72.0, 72.0, 0.0],
            "roi": [0.0072, 0.0072 + 1e-15, 0.0],
            "max_drawdown": [0.01, 0.01, 0.0],
            "sharpe": [0.8, 0.8, float("nan")],
        }
    )
    trades = pd.DataFrame(
        {
            "close_time": [pd.Timestamp("2021-01-02", tz="UTC")],
            "parent_trade_id": pd.array([7], dtype="Int64"),
            "ret": [0.01],
        }
    )
    result = BacktestResult("herd", {}, trades=trades, accounts=accounts)
    written = backtest_figures(result, tmp_path)
    assert [p.name for p in written] == ["roi_distribution.png"]
    table = ideaflow.text(result, top=1)
    # ranked by pnl, ties by the lowest trader id; the account without trades is left out
    top_block = table.split("top accounts by pnl\n")[1].split("\n\n")[0]
    assert top_block.splitlines()[1].split()[0] == "1"
    bottom_block = table.split("bottom accounts by pnl\n")[1]
    assert bottom_block.splitlines()[1].split()[0] == "3"


def test_backtest_with_out_writes_trades_while_computing(
    platform_ds: ideaflow.Dataset, tmp_path: Path
) -> None:
    """`out=` starts trades.parquet before the metrics; the files equal a later write."""
    early = ideaflow.backtest(platform_ds, "mirror", out=tmp_path / "early", plots=False)
    early.write(tmp_path / "late")
    for name in ("trades.parquet", "accounts.parquet", "daily.parquet"):
        assert (tmp_path / "early" / name).read_bytes() == (tmp_path / "late" / name).read_bytes()
    summary = json.loads((tmp_path / "early" / "summary.json").read_text())
    assert summary["headline"]["positions"] == len(early.trades)
