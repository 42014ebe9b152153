"""`ideaflow generate` and `ideaflow demo` through click's CliRunner, and once as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from ideaflow.cli import main


def test_generate_writes_a_dataset_with_overrides(tmp_path: Path):
    out = tmp_path / "data"
    result = CliRunner().invoke(
        main,
        ["generate", "--preset", "tiny", "--seed", "2", "--out", str(out),
         "--set", "n_traders=120", "--set", "cluster_error=0", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "original_trades" in result.output
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert len(accounts) == 120
    params = json.loads((out / "truth" / "params.json").read_text())
    assert params["params"]["cluster_error"] == 0.0
    assert params["overrides"] == {"cluster_error": "0", "n_traders": "120"}
    assert params["seed"] == 2


def test_generate_reports_bad_usage_with_status_2(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(
        main, ["generate", "--preset", "tiny", "--out", str(tmp_path / "x"), "--set", "skil=1"]
    )
    assert result.exit_code == 2
    assert "unknown synth parameter 'skil'" in result.output
    assert "did you mean 'skill_mean', 'skill_dist', 'skill_scale'?" in result.output
    result = runner.invoke(main, ["generate", "--preset", "huge", "--out", str(tmp_path / "y")])
    assert result.exit_code == 2
    assert "unknown preset 'huge'" in result.output
    result = runner.invoke(
        main, ["generate", "--preset", "tiny", "--out", str(tmp_path / "z"), "--set", "days=-3"]
    )
    assert result.exit_code == 2
    assert "'days': expected an integer >= 1, found -3" in result.output


def test_demo_generates_compares_and_plots(tmp_path: Path):
    result = CliRunner().invoke(
        main, ["demo", "--preset", "tiny", "--out", str(tmp_path), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "isolation" in result.output
    assert "mean ROI" in result.output
    assert "at matched exposure, diverse " in result.output  # the verdict leads the table
    assert (tmp_path / "dataset" / "trades.parquet").is_file()
    assert (tmp_path / "results" / "idea_flow_roi.png").stat().st_size > 1000
    assert f"plot    : {tmp_path / 'results' / 'idea_flow_roi.png'}" in result.output
    report = tmp_path / "results" / "report.html"
    assert result.output.rstrip().splitlines()[-1] == f"report  : {report}"
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Strategy comparison" in page


def test_generate_as_a_subprocess(tmp_path: Path):
    out = tmp_path / "sub"
    proc = subprocess.run(
        [sys.executable, "-m", "ideaflow", "generate", "--preset", "tiny", "--seed", "1",
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "trades.parquet").is_file()
    assert f"wrote {out}" in proc.stdout
