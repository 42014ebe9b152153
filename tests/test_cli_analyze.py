"""`ideaflow analyze` through click's CliRunner and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.io import write_dataset

T0 = pd.Timestamp("2024-01-01")
H = pd.Timedelta(hours=1)


@pytest.fixture()
def dataset(tmp_path):
    trades = pd.DataFrame(
        {
            "trade_id": [1, 2, 3, 4, 5],
            "trader_id": [10, 20, 20, 30, 40],
            "instrument": ["EURUSD"] * 5,
            "side": ["buy", "buy", "sell", "buy", "sell"],
            "open_time": [T0, T0 + H, T0 + 2 * H, T0, T0],
            "close_time": [T0 + 30 * H] * 5,
            "open_price": [1.0] * 5,
            "close_price": [1.1, 1.1, 1.05, 1.1, 0.9],
            "amount": [100.0] * 5,
            "parent_trade_id": pd.array([None, None, None, 1, None], dtype="Int64"),
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [20, 30],
            "leader_id": [10, 10],
            "start_time": [T0 - H, T0 - H],
            "end_time": pd.to_datetime([None, None]),
            "allocation": [1000.0, 1000.0],
        }
    )
    path = tmp_path / "data"
    write_dataset(path, trades, follows)
    return path


def test_analyze_command_prints_findings_and_writes_outputs(dataset, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["analyze", str(dataset), "--out", str(out), "--n-boot", "20", "--bins", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "inverted U: curvature" in result.output
    assert "social trades: mean return" in result.output
    assert f"wrote {out}/" in result.output
    traders = pd.read_parquet(out / "traders.parquet")
    assert traders["trader_id"].tolist() == [10, 20, 30, 40]
    assert traders["idea_flow"].tolist() == [0.0, 0.5, 1.0, 0.0]
    findings = json.loads((out / "findings.json").read_text())
    assert findings["params"]["bins"] == 4 and findings["params"]["n_boot"] == 20
    assert findings["dataset"]["n_trades"] == 5
    for name in ("inverted_u", "popularity_vs_performance", "exploration", "in_degree"):
        assert (out / f"{name}.png").stat().st_size > 0


def test_analyze_command_bad_option_value_exits_2(dataset, tmp_path):
    result = CliRunner().invoke(
        main, ["analyze", str(dataset), "--out", str(tmp_path / "o"), "--bins", "1"]
    )
    assert result.exit_code == 2
    assert "bins: expected an integer >= 2; found 1" in result.output


def test_analyze_command_bad_input_exits_2(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "trades.parquet").write_bytes(b"not parquet")
    result = CliRunner().invoke(main, ["analyze", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "error:" in result.output


def test_analyze_as_a_subprocess(dataset, tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ideaflow",
            "analyze",
            str(dataset),
            "--out",
            str(out),
            "--n-boot",
            "10",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "finding" in proc.stdout
    assert (out / "findings.json").is_file()


def test_analyze_command_quarantines_bad_rows(dataset, tmp_path):
    trades = pd.read_parquet(dataset / "trades.parquet")
    trades.loc[trades["trade_id"] == 5, "amount"] = -1.0  # breaks amount > 0
    trades.to_parquet(dataset / "trades.parquet", index=False)
    out = tmp_path / "q"
    strict = CliRunner().invoke(main, ["analyze", str(dataset), "--out", str(out)])
    assert strict.exit_code == 2
    assert "trades.amount" in strict.output
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(dataset),
            "--out",
            str(out),
            "--on-invalid",
            "quarantine",
            "--n-boot",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out / "quarantine" / "trades.parquet")) == 1
    findings = json.loads((out / "findings.json").read_text())
    assert findings["dataset"]["quarantined"]["trades"] == 1
    assert findings["dataset"]["n_trades"] == 4
