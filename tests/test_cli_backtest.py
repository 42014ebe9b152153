"""`ideaflow backtest` end to end: hand-worked numbers, outputs, determinism, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.io import write_dataset

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2021-03-01", tz="UTC")


def tiny_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leader 1 trades twice; follower 2 mirrors it with allocation 2,000 from day 0."""
    trades = pd.DataFrame(
        {
            "trade_id": [10, 11],
            "trader_id": [1, 1],
            "instrument": ["EURUSD", "EURUSD"],
            "side": ["buy", "sell"],
            "open_time": [T0 + 1 * DAY, T0 + 3 * DAY],
            "close_time": [T0 + 2 * DAY, T0 + 4 * DAY],
            "open_price": [1.0, 2.0],
            "close_price": [1.1, 1.8],
            "amount": [1000.0, 500.0],
            "leverage": [2.0, 1.0],
            "fee": [1.0, 0.0],
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [2],
            "leader_id": [1],
            "start_time": [T0],
            "end_time": [pd.NaT],
            "allocation": [2000.0],
        }
    )
    follows["end_time"] = pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")
    return trades, follows


@pytest.fixture()
def tiny_dataset(tmp_path: Path) -> Path:
    trades, follows = tiny_frames()
    path = tmp_path / "data"
    write_dataset(path, trades, follows)
    return path


def test_mirror_backtest_hand_worked(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["backtest", str(tiny_dataset), "--strategy", "mirror", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "ideaflow backtest: mirror" in res.output
    trades = pd.read_parquet(out / "trades.parquet").set_index("trade_id")
    # root 10: pnl = 2 * 1000 * (1.1/1 - 1) - 1 = 199; copy sized 1000 * 2000 / 10000 = 200
    assert trades.loc[10, "pnl"] == pytest.approx(199.0)
    copies = trades[trades["hop"] == 1].sort_values("open_time")
    assert list(copies.index) == [12, 13]  # max logged id + 1, in generation order
    assert copies["amount"].tolist() == pytest.approx([200.0, 500 * 2000 / 10199])
    assert copies["fee"].tolist() == pytest.approx([0.2, 0.0])
    assert copies["pnl"].tolist() == pytest.approx([39.8, 500 * 2000 / 10199 * 0.1])
    assert copies["root_trade_id"].tolist() == [10, 11]
    assert copies["parent_trade_id"].tolist() == [10, 11]
    assert (
        trades.loc[[12, 13], "close_time"].to_numpy()
        == trades.loc[[10, 11], "close_time"].to_numpy()
    ).all()
    accounts = pd.read_parquet(out / "accounts.parquet").set_index("trader_id")
    assert accounts.loc[1, "pnl"] == pytest.approx(249.0)
    assert accounts.loc[1, "roi"] == pytest.approx(0.0249)
    follower_pnl = 39.8 + 500 * 2000 / 10199 * 0.1
    assert accounts.loc[2, "pnl"] == pytest.approx(follower_pnl)
    assert accounts.loc[2, "n_social"] == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "mirror"
    assert summary["counts"]["copies_generated"] == 2
    assert summary["versions"]["ideaflow"]
    # headline: both roots and both copies closed; returns 0.199 and 0.1 on each side
    head = summary["headline"]
    assert (head["single_trades"], head["social_trades"]) == (2, 2)
    assert head["single_mean_ret"] == pytest.approx(0.1495)
    assert head["social_median_ret"] == pytest.approx(0.1495)
    assert head["total_pnl"] == pytest.approx(249.0 + follower_pnl)
    assert head["accounts"] == 2 and head["positions"] == 4
    assert (out / "roi_distribution.png").stat().st_size > 0


def test_outputs_are_byte_identical(tiny_dataset: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        res = runner.invoke(
            main,
            [
                "backtest",
                str(tiny_dataset),
                "-s",
                "mirror",
                "--out",
                str(tmp_path / name),
                "--no-plots",
            ],
        )
        assert res.exit_code == 0, res.output
    for name in ("trades.parquet", "accounts.parquet", "daily.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    leftovers = [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_actual_keeps_logged_copies(tmp_path: Path) -> None:
    trades, _ = tiny_frames()
    copy = trades.iloc[[0]].assign(
        trade_id=99, trader_id=3, amount=100.0, fee=0.1, parent_trade_id=10
    )
    trades = pd.concat([trades.assign(parent_trade_id=pd.NA), copy], ignore_index=True)
    trades["parent_trade_id"] = trades["parent_trade_id"].astype("Int64")
    write_dataset(tmp_path / "d", trades)
    res = CliRunner().invoke(
        main,
        [
            "backtest",
            str(tmp_path / "d"),
            "-s",
            "actual",
            "--out",
            str(tmp_path / "o"),
            "--no-plots",
        ],
    )
    assert res.exit_code == 0, res.output
    out = pd.read_parquet(tmp_path / "o" / "trades.parquet").set_index("trade_id")
    # 2 * 100 * 0.1 - 0.1 = 19.9, a logged copy of root 10 at hop 1
    assert out.loc[99, "pnl"] == pytest.approx(19.9)
    assert out.loc[99, "root_trade_id"] == 10
    assert out.loc[99, "hop"] == 1


def test_unknown_strategy_is_a_usage_error(tiny_dataset: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["backtest", str(tiny_dataset), "-s", "mirorr", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "did you mean `mirror`" in res.output
    assert "Traceback" not in res.output


def test_strategy_options_rejected_for_engine_strategies(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        main,
        ["backtest", str(tiny_dataset), "-s", "mirror", "--k", "3", "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2
    assert "k: only apply to the walk-forward strategies" in res.output


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    trades, _ = tiny_frames()
    trades.loc[1, "amount"] = -5.0
    write_dataset(tmp_path / "bad", trades)
    res = CliRunner().invoke(
        main, ["backtest", str(tmp_path / "bad"), "-s", "actual", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "trades.amount" in res.output
    assert "trade_id=11" in res.output
    assert "Traceback" not in res.output


def test_quarantine_mode_drops_and_reports(tmp_path: Path) -> None:
    trades, follows = tiny_frames()
    trades.loc[1, "amount"] = -5.0
    write_dataset(tmp_path / "bad", trades, follows)
    out = tmp_path / "o"
    res = CliRunner().invoke(
        main,
        [
            "backtest",
            str(tmp_path / "bad"),
            "-s",
            "mirror",
            "--out",
            str(out),
            "--on-invalid",
            "quarantine",
        ],
    )
    assert res.exit_code == 0, res.output
    quarantined = pd.read_parquet(out / "quarantine" / "trades.parquet")
    assert quarantined["trade_id"].tolist() == [11]
    assert "reason" in quarantined.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"]["quarantined"]["trades"] == 1
    kept = pd.read_parquet(out / "trades.parquet")
    assert kept["hop"].tolist() == [0, 1]  # root 10 and its one copy; 11 is gone
    assert kept["trade_id"].iloc[0] == 10


def test_backtest_as_a_real_subprocess(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ideaflow",
            "backtest",
            str(tiny_dataset),
            "--strategy",
            "mirror",
            "--out",
            str(out),
            "--no-plots",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "social (copied)" in proc.stdout
    assert (out / "accounts.parquet").exists()
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "ideaflow",
            "backtest",
            str(tmp_path / "nope"),
            "-s",
            "actual",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
