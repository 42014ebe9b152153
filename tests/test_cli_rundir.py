"""Run directories through the command line: --overwrite, refusals, manifests, `ideaflow
verify`, and interrupted runs (SIGINT, SIGTERM and SIGKILL of real subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.io import write_dataset
from ideaflow.io.manifest import run_files, verify_run
from ideaflow.io.rundir import leftovers, lock_path
from ideaflow.synth import generate

TABLES = ["trades", "follows", "prices", "accounts"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("platform") / "tiny"
    generate("tiny", seed=1, out=path)
    return path


def invoke(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def hidden_siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith("."))


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["manifest"]


def test_issue_scenario_a_second_backtest_replaces_the_first_as_a_whole(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mix"
    first = invoke("backtest", data, "--strategy", "diverse", "--out", out, "--no-plots")
    assert first.exit_code == 0, first.output
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert len(decisions) > 0 and "decisions.parquet" in first.output

    refused = invoke("backtest", data, "--strategy", "mirror", "--out", out, "--no-plots")
    assert refused.exit_code == 2
    assert (
        f"error: out: {out} holds an earlier ideaflow run (`ideaflow backtest {data} "
        f"--strategy diverse --out {out} --no-plots`); pass --overwrite" in refused.output
    )
    assert "Traceback" not in refused.output
    assert verify_run(out).ok  # the first run is untouched

    second = invoke(
        "backtest", data, "--strategy", "mirror", "--out", out, "--no-plots", "--overwrite"
    )
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.parquet",
        "daily.parquet",
        "summary.json",
        "trades.parquet",
    ]
    assert "decisions.parquet" not in second.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "mirror"
    assert summary["manifest"]["command"][:4] == ["ideaflow", "backtest", str(data), "--strategy"]
    assert hidden_siblings(out) == []
    assert verify_run(out).ok


COMMANDS = {
    "backtest": ["backtest", "{data}", "-s", "isolation", "--out", "{out}", "--no-plots"],
    "compare": ["compare", "{data}", "-s", "isolation,herd", "--out", "{out}", "--no-plots",
                "--n-boot", "50"],
    "sweep": ["sweep", "{data}", "-s", "isolation", "--grid", "k=1,2", "--jobs", "1",
              "--out", "{out}"],
    "analyze": ["analyze", "{data}", "--out", "{out}", "--n-boot", "20"],
    "generate": ["generate", "--preset", "tiny", "--seed", "4", "--out", "{out}",
                 "--no-progress"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_writes_a_run_directory_with_a_manifest(
    command: str, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = [a.format(data=data, out=out) for a in COMMANDS[command]]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    manifest = manifest_of(out)
    assert manifest["command"] == ["ideaflow", *args]
    files = manifest["files"]
    assert [f["path"] for f in files] == run_files(out)  # every file but summary.json
    assert [f["path"] for f in files] == sorted(f["path"] for f in files)
    assert all(f["bytes"] == (out / f["path"]).stat().st_size for f in files)
    if command == "generate":
        assert manifest["inputs"] == []
        assert "trades.parquet" in run_files(out) and "truth/params.json" in run_files(out)
    else:
        assert [t["table"] for t in manifest["inputs"]] == TABLES
        for table in manifest["inputs"]:
            file = data / f"{table['table']}.parquet"
            assert table["path"] == str(file)
            assert table["rows"] == len(pd.read_parquet(file))
            assert table["bytes"] == file.stat().st_size
    assert hidden_siblings(out) == []
    verified = invoke("verify", out)
    assert verified.exit_code == 0, verified.output
    assert f"{out}: ok, {len(files)} files match the manifest" in verified.output
    # a second run into the same place needs --overwrite
    again = invoke(*args)
    assert again.exit_code == 2 and "pass --overwrite" in again.output
    again = invoke(*args, "--overwrite")
    assert again.exit_code == 0, again.output
    assert verify_run(out).ok


@pytest.mark.parametrize("command", ["backtest", "generate"])
def test_a_directory_of_other_files_is_refused(command: str, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "papers"
    out.mkdir()
    (out / "draft.tex").write_text("my thesis")
    args = [a.format(data=data, out=out) for a in COMMANDS[command]]
    for extra in ([], ["--overwrite"]):
        result = invoke(*args, *extra)
        assert result.exit_code == 2
        assert (
            f"error: out: {out} holds 1 entry that is not an ideaflow run (e.g. draft.tex; "
            "no manifest in summary.json)" in result.output
        )
        assert "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["draft.tex"]
    assert (out / "draft.tex").read_text() == "my thesis"
    assert hidden_siblings(out) == []


def test_outputs_and_their_manifest_are_deterministic(data: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = invoke("backtest", data, "-s", "mirror", "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
    a, b = manifest_of(tmp_path / "a"), manifest_of(tmp_path / "b")
    assert a["files"] == b["files"]  # every output, plots included, byte for byte
    assert a["inputs"] == b["inputs"]
    assert [f["path"] for f in a["files"]] == [
        "accounts.parquet",
        "cumulative_pnl.png",
        "daily.parquet",
        "roi_distribution.png",
        "trades.parquet",
    ]


def test_a_failed_run_leaves_the_earlier_run_alone(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("backtest", data, "-s", "mirror", "--out", out, "--no-plots").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    trades = pd.read_parquet(data / "trades.parquet")
    trades.loc[3, "amount"] = -1.0
    write_dataset(tmp_path / "bad", trades)
    result = invoke("backtest", tmp_path / "bad", "-s", "mirror", "--out", out, "--overwrite")
    assert result.exit_code == 2
    assert "trades.amount" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert hidden_siblings(out) == []


def test_quarantined_rows_are_part_of_the_run(data: Path, tmp_path: Path) -> None:
    trades = pd.read_parquet(data / "trades.parquet")
    bad_id = int(trades.loc[trades["parent_trade_id"].isna(), "trade_id"].iloc[0])
    trades.loc[trades["trade_id"] == bad_id, "open_price"] = 0.0
    write_dataset(tmp_path / "bad", trades)
    out = tmp_path / "run"
    result = invoke(
        "backtest", tmp_path / "bad", "-s", "actual", "--out", out, "--no-plots",
        "--on-invalid", "quarantine",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    paths = [f["path"] for f in manifest_of(out)["files"]]
    assert "quarantine/trades.parquet" in paths
    quarantined = pd.read_parquet(out / "quarantine" / "trades.parquet")
    assert bad_id in quarantined["trade_id"].tolist()
    assert [t["rows"] for t in manifest_of(out)["inputs"]] == [len(trades)]


def test_verify_reports_missing_extra_and_changed_files(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("backtest", data, "-s", "mirror", "--out", out, "--no-plots").exit_code == 0
    (out / "daily.parquet").unlink()
    (out / "notes.txt").write_text("mine")
    with open(out / "accounts.parquet", "ab") as handle:
        handle.write(b"\0")
    result = invoke("verify", out)
    assert result.exit_code == 2
    size = (out / "accounts.parquet").stat().st_size
    assert result.output.splitlines() == [
        f"{out}: does not match the manifest in summary.json",
        "  missing: daily.parquet",
        "  extra: notes.txt",
        f"  changed: accounts.parquet (size {size - 1} -> {size} bytes)",
    ]
    assert invoke("verify", tmp_path / "nope").exit_code == 2
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    result = invoke("verify", old)
    assert result.exit_code == 2
    assert "expected a `manifest` object" in result.output


def test_verify_inputs_notices_a_changed_dataset(tmp_path: Path, data: Path) -> None:
    copy = tmp_path / "data"
    tables = {name: pq.read_table(data / f"{name}.parquet") for name in TABLES}
    write_dataset(copy, *(tables[name] for name in TABLES))
    out = tmp_path / "run"
    assert invoke("backtest", copy, "-s", "mirror", "--out", out, "--no-plots").exit_code == 0
    assert invoke("verify", out, "--inputs").exit_code == 0
    write_dataset(copy, tables["trades"].slice(0, 100), *(tables[n] for n in TABLES[1:]))
    result = invoke("verify", out, "--inputs")
    assert result.exit_code == 2
    assert f"input changed: {(copy / 'trades.parquet').resolve()} (size" in result.output
    assert invoke("verify", out).exit_code == 0  # the outputs themselves are intact


# ---- real processes, stopped part-way ------------------------------------------------


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform on which `compare` runs for a few seconds."""
    path = tmp_path_factory.mktemp("platform") / "small"
    generate("small", seed=2, out=path, overrides={"n_traders": 12_000})
    return path


@pytest.fixture(scope="module")
def earlier_run(platform: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete `compare` run on the platform, copied into each test's OUT."""
    out = tmp_path_factory.mktemp("earlier") / "cmp"
    result = invoke(*compare_args(platform, out)[3:])
    assert result.exit_code == 0, result.output
    return out


def compare_args(dataset: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "ideaflow", "compare", str(dataset),
        "--strategies", "isolation,herd,diverse,echo", "--n-boot", "200",
        "--out", str(out), "--overwrite", "--no-progress",
    ]  # fmt: skip


def start_and_signal(args: list[str], out: Path, signum: int, delay: float) -> tuple:
    """Start a command, wait until it has begun its run directory (a new staging sibling
    of OUT), wait `delay` seconds more, send `signum`; return (returncode, stderr)."""
    before = set(leftovers(out))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not set(leftovers(out)) - before and proc.poll() is None:
            assert time.monotonic() < deadline, "the command never started its run directory"
            time.sleep(0.01)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr


@pytest.mark.slow
def test_sigkill_at_several_points_never_leaves_a_partial_run(
    platform: Path, earlier_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    shutil.copytree(earlier_run, out)
    killed = 0
    for delay in (0.0, 0.4, 1.0, 2.0):
        returncode, _ = start_and_signal(compare_args(platform, out), out, signal.SIGKILL, delay)
        killed += returncode == -signal.SIGKILL
        # OUT is the earlier run or a complete new one, never a mix or half of one
        assert verify_run(out).ok
        # a SIGKILL cannot be caught: the killed run's staging stays, but only its own
        # (the run before each one removed its predecessor's)
        assert len(leftovers(out)) <= 1
    assert killed >= 3
    final = subprocess.run(compare_args(platform, out), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert leftovers(out) == [] and not lock_path(out).exists()
    assert hidden_siblings(out) == []
    assert verify_run(out).ok


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "delay"),
    [(signal.SIGINT, 0.2), (signal.SIGINT, 0.8), (signal.SIGTERM, 0.5), (signal.SIGTERM, 1.0)],
)
def test_sigint_and_sigterm_stop_the_run_and_clean_up(
    platform: Path, earlier_run: Path, tmp_path: Path, signum: int, delay: float
) -> None:
    out = tmp_path / "cmp"
    shutil.copytree(earlier_run, out)
    before = {rel: (out / rel).read_bytes() for rel in [*run_files(out), "summary.json"]}
    returncode, stderr = start_and_signal(compare_args(platform, out), out, signum, delay)
    # exit status 128 + signum; after a SIGINT, CPython 3.11 may instead end the process
    # by SIGINT once it has cleaned up (when the interrupt landed inside an `exec` of a
    # string, as in scipy's imports, it takes the interrupt for an unhandled one): a shell
    # reports 130 either way
    expected = {128 + signum, -signal.SIGINT} if signum == signal.SIGINT else {128 + signum}
    assert returncode in expected, stderr
    name = signal.Signals(signum).name
    assert stderr.splitlines()[-2:] == [
        f"interrupted by {name}" + (" (Ctrl-C)" if signum == signal.SIGINT else ""),
        f"nothing was written: the partial output was deleted and {out} is as it was "
        "before the command",
    ]
    assert "Traceback" not in stderr
    assert {rel: (out / rel).read_bytes() for rel in before} == before
    assert sorted([*run_files(out), "summary.json"]) == sorted(before)
    assert hidden_siblings(out) == []  # no staging directory, no lock, no temporary file
    assert not os.path.exists(out.parent / f".{out.name}.ideaflow-lock")


@pytest.mark.slow
def test_sigterm_during_a_mirror_backtest_stops_its_background_write(
    platform: Path, earlier_run: Path, tmp_path: Path
) -> None:
    """The engine strategies write trades.parquet on a background thread while the metrics
    run; a SIGTERM must stop that write too and leave no temporary file."""
    out = tmp_path / "run"
    args = [
        sys.executable, "-m", "ideaflow", "backtest", str(platform), "-s", "mirror",
        "--out", str(out), "--overwrite", "--no-progress",
    ]  # fmt: skip
    shutil.copytree(earlier_run, out)
    interrupted = 0
    for delay in (0.1, 0.4, 0.8):
        before = {rel: (out / rel).read_bytes() for rel in [*run_files(out), "summary.json"]}
        returncode, stderr = start_and_signal(args, out, signal.SIGTERM, delay)
        if returncode == 128 + signal.SIGTERM:
            interrupted += 1
            assert stderr.splitlines()[-1].startswith("nothing was written")
            assert {rel: (out / rel).read_bytes() for rel in before} == before
        else:  # finished before the signal: then it is complete
            assert returncode == 0, stderr
            assert json.loads((out / "summary.json").read_text())["strategy"] == "mirror"
        assert verify_run(out).ok
        assert hidden_siblings(out) == []
    assert interrupted >= 1


def test_validate_writes_its_quarantine_as_a_run_directory(data: Path, tmp_path: Path) -> None:
    trades = pd.read_parquet(data / "trades.parquet")
    bad_id = int(trades.loc[trades["parent_trade_id"].isna(), "trade_id"].iloc[0])
    trades.loc[trades["trade_id"] == bad_id, "amount"] = -1.0
    write_dataset(tmp_path / "bad", trades)
    out = tmp_path / "checked"
    args = ["validate", tmp_path / "bad", "--on-invalid", "quarantine", "--out", out]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert f"  wrote {out / 'quarantine' / 'trades.parquet'}" in result.output  # final path
    assert verify_run(out).ok
    summary = json.loads((out / "summary.json").read_text())
    assert summary["validation"]["rows_read"] == {"trades": len(trades)}
    assert summary["validation"]["quarantined"]["trades"] >= 1
    assert [f["path"] for f in summary["manifest"]["files"]] == ["quarantine/trades.parquet"]
    assert invoke(*args).exit_code == 2  # an earlier run: --overwrite needed
    assert invoke(*args, "--overwrite").exit_code == 0
    # a dataset that quarantine cannot fix writes nothing
    (tmp_path / "empty").mkdir()
    result = invoke("validate", tmp_path / "empty", "--on-invalid", "quarantine", "--out",
                    tmp_path / "none")  # fmt: skip
    assert result.exit_code == 2 and "INVALID" in result.output
    assert not (tmp_path / "none").exists() and hidden_siblings(tmp_path / "none") == []
