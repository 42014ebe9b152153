"""`ideaflow validate`: report, exit statuses, quarantine output; once as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.io import write_dataset


def trades_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trade_id": [1, 2, 3],
            "trader_id": [10, 20, 30],
            "instrument": ["EURUSD", "EURUSD", "GBPUSD"],
            "side": [1, -1, 1],
            "open_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"]),
            "close_time": pd.to_datetime(["2024-01-02", None, "2024-01-03"]),
            "open_price": [1.0, 1.0, 1.5],
            "close_price": [1.1, None, 1.4],
            "amount": [100.0, 50.0, 10.0],
            "parent_trade_id": pd.array([None, None, 1], dtype="Int64"),
        }
    )


def invalid_dataset(root: Path) -> Path:
    trades = trades_frame()
    trades.loc[0, "amount"] = -1.0  # trade 3 copies trade 1: quarantined with it
    write_dataset(root, trades)
    return root


def test_valid_dataset_exits_0(tmp_path):
    write_dataset(tmp_path, trades_frame())
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "trades" in result.output and "3 rows" in result.output
    assert result.output.rstrip().endswith("OK")


def test_invalid_dataset_exits_2_without_traceback(tmp_path):
    invalid_dataset(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "trades.amount: must be finite and > 0 (1 row; e.g. trade_id=1 (amount=-1.0))" in (
        result.output
    )
    assert result.output.rstrip().endswith("INVALID")
    assert "Traceback" not in result.output


def test_missing_dataset_and_bad_usage_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--on-invalid", "quarantine"])
    assert result.exit_code == 2
    assert "--on-invalid quarantine needs --out DIR" in result.output
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--on-invalid", "drop"])
    assert result.exit_code == 2


def test_quarantine_mode_writes_rows_and_exits_0(tmp_path):
    data = invalid_dataset(tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["validate", str(data), "--on-invalid", "quarantine", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "quarantined 2 rows:" in result.output
    assert "parent trade quarantined" in result.output
    written = pq.read_table(out / "quarantine" / "trades.parquet").to_pandas()
    assert written["trade_id"].tolist() == [1, 3]
    assert written["reason"].tolist() == [
        "amount: must be finite and > 0",
        "parent trade_id=1 quarantined",
    ]


def test_real_subprocess(tmp_path):
    data = invalid_dataset(tmp_path / "data")
    script = Path(sys.executable).parent / "ideaflow"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ideaflow.cli"]
    done = subprocess.run(
        [*command, "validate", str(data)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "trades.amount: must be finite and > 0" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
