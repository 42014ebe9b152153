"""Run directories (`ideaflow.io.rundir`) and their manifests (`ideaflow.io.manifest`):
staging and swap, refusals, leftovers of interrupted runs, the lock, fingerprints, verify."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ideaflow.errors import DataError
from ideaflow.io import rundir, write_dataset
from ideaflow.io.manifest import (
    MANIFEST_FORMAT,
    input_tables,
    read_manifest,
    run_files,
    verify_run,
)
from ideaflow.io.rundir import (
    RunDirectory,
    RunDirError,
    Terminated,
    _signals_deferred,
    interrupt_of,
    leftovers,
    lock_path,
    signals_as_interrupts,
)

HELLO_SHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # b"hello"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # b""


def hidden_siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith("."))


def write_run(target: Path, files: dict[str, bytes], **kwargs) -> None:
    with RunDirectory(target, **kwargs) as run:
        for name, data in files.items():
            (run.path / name).parent.mkdir(parents=True, exist_ok=True)
            (run.path / name).write_bytes(data)


def test_a_new_run_is_swapped_in_with_its_manifest(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "out"  # the parent is created too
    with RunDirectory(target, command=["ideaflow", "test", "--out", "out"]) as run:
        staging = run.path
        assert staging.parent == target.parent and staging.name.startswith(".out.ideaflow-")
        assert not target.exists()  # nothing appears under OUT before the end
        assert lock_path(target).exists()
        (run.path / "a.txt").write_bytes(b"hello")
        (run.path / "sub").mkdir()
        (run.path / "sub" / "empty.bin").write_bytes(b"")
        (run.path / "summary.json").write_text('{"strategy": "x", "counts": {"n": 3}}')
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "sub", "summary.json"]
    assert hidden_siblings(target) == []  # no staging directory, no lock file
    summary = json.loads((target / "summary.json").read_text())
    assert summary["strategy"] == "x" and summary["counts"] == {"n": 3}  # kept as written
    manifest = summary["manifest"]
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["command"] == ["ideaflow", "test", "--out", "out"]
    assert manifest["inputs"] == []
    # summary.json holds the manifest, so it is not listed; the rest sorted by path
    assert manifest["files"] == [
        {"path": "a.txt", "bytes": 5, "sha256": HELLO_SHA256},
        {"path": "sub/empty.bin", "bytes": 0, "sha256": EMPTY_SHA256},
    ]
    assert verify_run(target).ok


def test_a_summary_is_created_when_the_command_wrote_none(tmp_path: Path) -> None:
    write_run(tmp_path / "out", {"x.txt": b"hello"}, summary={"kind": "sweep"})
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary) == {"kind", "manifest"}
    assert summary["kind"] == "sweep"
    assert [f["path"] for f in summary["manifest"]["files"]] == ["x.txt"]


def test_an_empty_directory_is_a_fine_target(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    write_run(tmp_path / "out", {"a.txt": b"hello"})
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"hello"
    assert hidden_siblings(tmp_path / "out") == []


def test_an_earlier_run_needs_overwrite_and_is_replaced_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_run(target, {"a.txt": b"first", "decisions.parquet": b"first run only"})
    with pytest.raises(RunDirError, match=r"holds an earlier ideaflow run .*pass --overwrite"):
        write_run(target, {"a.txt": b"second"})
    assert (target / "decisions.parquet").read_bytes() == b"first run only"  # untouched
    write_run(target, {"a.txt": b"second"}, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "summary.json"]
    assert (target / "a.txt").read_bytes() == b"second"
    assert hidden_siblings(target) == []


def test_files_added_to_an_earlier_run_are_never_deleted(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_run(target, {"a.txt": b"first", "sub/b.txt": b"first"})
    (target / "sub" / "my notes.txt").write_text("mine")
    (target / "a.txt").write_bytes(b"changed")  # a changed output is still ideaflow's
    for overwrite in (False, True):
        with pytest.raises(
            RunDirError,
            match=r"out holds an earlier ideaflow run and 1 file that is not part of it "
            r"\(e\.g\. sub/my notes\.txt\); ideaflow replaces only its own files",
        ):
            write_run(target, {"a.txt": b"second"}, overwrite=overwrite)
    assert (target / "sub" / "my notes.txt").read_text() == "mine"
    assert hidden_siblings(target) == []
    (target / "sub" / "my notes.txt").unlink()
    write_run(target, {"a.txt": b"second"}, overwrite=True)
    assert sorted(run_files(target)) == ["a.txt"]


def test_directories_that_are_not_ideaflow_runs_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    for name in ("notes.txt", "b.csv", "c", "d", "e", "f"):
        (foreign / name).write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(
            RunDirError,
            match=r"mine holds 6 entries that are not an ideaflow run \(e\.g\. b\.csv, c, d, e, "
            r"f, \.\.\.; no manifest in summary\.json\)",
        ):
            write_run(foreign, {"a.txt": b"x"}, overwrite=overwrite)
    assert sorted(p.name for p in foreign.iterdir()) == ["b.csv", "c", "d", "e", "f", "notes.txt"]
    # an older output whose summary.json has no manifest is not recognised either
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text('{"strategy": "mirror"}')
    with pytest.raises(RunDirError, match="1 entry that is not an ideaflow run"):
        write_run(old, {}, overwrite=True)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(RunDirError, match="file exists and is not a directory"):
        write_run(a_file, {}, overwrite=True)
    assert hidden_siblings(foreign) == []  # nothing staged next to any of them


def test_the_current_directory_and_the_input_dataset_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(RunDirError, match="is the current directory or one of its parents"):
        write_run(Path("."), {})
    with pytest.raises(RunDirError, match="is the current directory or one of its parents"):
        write_run(tmp_path, {})
    run = tmp_path / "run"
    write_run(run, {"a.txt": b"x"})
    (run / "data").mkdir()  # a dataset inside an earlier run
    with pytest.raises(RunDirError, match=r"holds the input dataset .*data"):
        RunDirectory(run, overwrite=True, dataset=run / "data").__enter__()
    assert (run / "data").is_dir()


def test_an_error_inside_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_run(target, {"a.txt": b"hello"})
    before = (target / "summary.json").read_bytes()
    with pytest.raises(ValueError, match="boom"), RunDirectory(target, overwrite=True) as run:
        (run.path / "a.txt").write_bytes(b"half of a new run")
        (run.path / "b.txt").write_bytes(b"new")
        raise ValueError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "summary.json"]
    assert (target / "summary.json").read_bytes() == before
    assert (target / "a.txt").read_bytes() == b"hello"
    assert hidden_siblings(target) == []
    assert verify_run(target).ok


def test_an_interrupt_inside_is_annotated_and_cleaned_up(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt) as caught, RunDirectory(target) as run:
        (run.path / "a.txt").write_bytes(b"partial")
        raise Terminated(signal.SIGTERM)
    assert caught.value.signum == signal.SIGTERM
    assert caught.value.__notes__ == [
        f"nothing was written: the partial output was deleted and {target} is as it was "
        "before the command"
    ]
    assert not target.exists()
    assert hidden_siblings(target) == []


def test_leftovers_of_interrupted_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "out"
    stale_staging = tmp_path / ".out.ideaflow-0123abcd.tmp"
    (stale_staging / "sub").mkdir(parents=True)
    (stale_staging / "sub" / ".trades.parquet.x1.tmp").write_bytes(b"690 MB, say")
    stale_old = tmp_path / ".out.ideaflow-89abcdef.old"
    stale_old.mkdir()
    lock_path(target).write_text("")  # a SIGKILLed run leaves its (unlocked) lock file
    keep = [
        tmp_path / ".out.ideaflow-notmine.tmp",  # not a name ideaflow makes
        tmp_path / ".other.ideaflow-01234567.tmp",  # another target's staging
        tmp_path / ".out.ideaflow-0123abcd.tmp.bak",
    ]
    for path in keep:
        path.write_text("x")
    assert leftovers(target) == [stale_staging, stale_old]
    write_run(target, {"a.txt": b"hello"})
    assert hidden_siblings(target) == sorted(p.name for p in keep)
    assert verify_run(target).ok


def test_a_second_writer_of_the_same_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with RunDirectory(target) as first:
        (first.path / "a.txt").write_bytes(b"hello")
        with pytest.raises(RunDirError, match=r"another ideaflow command is writing .*out"):
            RunDirectory(target).__enter__()
        assert first.path.is_dir()  # the refused writer did not clean the live staging
    assert (target / "a.txt").read_bytes() == b"hello"
    write_run(target, {"a.txt": b"again"}, overwrite=True)  # the lock was released
    assert hidden_siblings(target) == []


def test_signals_are_held_back_during_the_swap() -> None:
    seen = []
    with pytest.raises(KeyboardInterrupt), _signals_deferred():
        signal.raise_signal(signal.SIGINT)
        seen.append("after the signal, inside")  # not interrupted here
    assert seen == ["after the signal, inside"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_becomes_an_interrupt_while_a_command_runs() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, signals_as_interrupts():
        signal.raise_signal(signal.SIGTERM)
    assert caught.value.signum == signal.SIGTERM
    assert isinstance(caught.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_interrupt_surfacing_through_compiled_code_is_found() -> None:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise SystemError("returned a result with an exception set") from inner
    except SystemError as outer:
        assert isinstance(interrupt_of(outer), KeyboardInterrupt)
    assert interrupt_of(ValueError("x")) is None


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    t0 = pd.Timestamp("2021-01-01", tz="UTC")
    trades = pd.DataFrame(
        {
            "trade_id": [1, 2, 3],
            "trader_id": [1, 1, 2],
            "instrument": ["A", "A", "B"],
            "side": [1, -1, 1],
            "open_time": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(hours=2)],
            "close_time": [t0 + pd.Timedelta(days=1)] * 3,
            "open_price": [1.0, 1.0, 2.0],
            "close_price": [1.1, 0.9, 2.2],
            "amount": [100.0, 100.0, 50.0],
        }
    )
    follows = pd.DataFrame(
        {
            "follower_id": [2],
            "leader_id": [1],
            "start_time": [t0],
            "end_time": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"),
            "allocation": [1000.0],
        }
    )
    return trades, follows


def test_input_tables_are_fingerprinted(tmp_path: Path) -> None:
    trades, follows = _frames()
    single = tmp_path / "single"
    write_dataset(single, trades, follows)
    entries = input_tables(single)
    assert [e["table"] for e in entries] == ["trades", "follows"]
    file = single / "trades.parquet"
    assert entries[0] == {
        "table": "trades",
        "path": str(file),
        "absolute_path": str(file.resolve()),
        "bytes": file.stat().st_size,
        "rows": 3,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
    }
    assert entries[1]["rows"] == 1
    parted = tmp_path / "parted"
    write_dataset(parted, trades, partitions=2)
    (entry,) = input_tables(parted)
    parts = sorted((parted / "trades").iterdir())
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in parts]
    lines = f"part-00000.parquet {digests[0]}\npart-00001.parquet {digests[1]}\n"
    assert entry["path"] == str(parted / "trades")
    assert entry["rows"] == 3  # rows 0 and 1-2 of the table
    assert [p["rows"] for p in entry["parts"]] == [1, 2]
    assert entry["bytes"] == sum(p.stat().st_size for p in parts)
    assert entry["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert [p["sha256"] for p in entry["parts"]] == digests


def test_verify_names_what_is_missing_extra_or_changed(tmp_path: Path) -> None:
    trades, _ = _frames()
    data = tmp_path / "data"
    write_dataset(data, trades, partitions=2)
    target = tmp_path / "out"
    with RunDirectory(target, dataset=data) as run:
        (run.path / "a.txt").write_bytes(b"hello")
        (run.path / "b.txt").write_bytes(b"world")
        (run.path / "c.txt").write_bytes(b"gone")
    report = verify_run(target, inputs=True)
    assert report.ok and report.checked == 3 and report.inputs_checked == 2
    assert report.to_text() == (
        f"{target}: ok, 3 files match the manifest in summary.json; 2 input files unchanged"
    )
    (target / "a.txt").write_bytes(b"jello")  # same size
    (target / "b.txt").write_bytes(b"world!")
    (target / "c.txt").unlink()
    (target / ".trades.parquet.x.tmp").write_bytes(b"")
    report = verify_run(target)
    assert not report.ok
    assert report.missing == ["c.txt"]
    assert report.extra == [".trades.parquet.x.tmp"]
    assert report.changed == [
        "a.txt (same size, different SHA-256)",
        "b.txt (size 5 -> 6 bytes)",
    ]
    assert report.inputs_changed == []  # not checked without inputs=True
    part = data / "trades" / "part-00001.parquet"
    part.write_bytes(part.read_bytes() + b"\0")
    (data / "trades" / "part-00002.parquet").write_bytes(b"")
    report = verify_run(target, inputs=True)
    assert report.inputs_changed == [
        f"{(data / 'trades').resolve()} (parts added: part-00002.parquet)",
        f"{part.resolve()} (size {part.stat().st_size - 1} -> {part.stat().st_size} bytes)",
    ]


def test_a_directory_without_a_manifest_cannot_be_verified(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected a run directory; found no directory"):
        read_manifest(tmp_path / "nope")
    (tmp_path / "old").mkdir()
    with pytest.raises(DataError, match=r"summary\.json: missing"):
        read_manifest(tmp_path / "old")
    (tmp_path / "old" / "summary.json").write_text('{"strategy": "mirror"}')
    with pytest.raises(DataError, match="expected a `manifest` object of format 'ideaflow-run/1'"):
        read_manifest(tmp_path / "old")
    (tmp_path / "old" / "summary.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable"):
        read_manifest(tmp_path / "old")
    assert not os.path.exists(tmp_path / ".old.ideaflow-lock")


def test_an_interrupt_during_the_swap_waits_until_the_run_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    write_run(target, {"a.txt": b"first"})

    def interrupted_fsync(directory: Path) -> None:  # between the renames and the clean-up
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(rundir, "fsync_directory", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt) as caught:
        write_run(target, {"a.txt": b"second"}, overwrite=True)
    assert caught.value.__notes__ == [
        f"the interrupt came after {target} was complete; `ideaflow verify {target}` checks it"
    ]
    assert (target / "a.txt").read_bytes() == b"second"
    assert verify_run(target).ok
    assert hidden_siblings(target) == []  # the replaced run was deleted, the lock released


def test_an_interrupt_dropped_on_its_way_still_abandons_the_run(tmp_path: Path) -> None:
    """Inside a ctypes callback (where Numba's compiler calls back into Python) an
    interrupt cannot propagate: Python hands it to the unraisable-exception hook and
    carries on. The run must still be abandoned, not committed as if nothing had happened,
    and the dropped interrupt is not printed as "Exception ignored" with a traceback (the
    command reports it as the interrupt). Any other unraisable exception is still printed.
    In a child process: the hook is the interpreter's."""
    out = tmp_path / "out"
    script = f"""
import ctypes, signal
from pathlib import Path
from ideaflow.io.rundir import RunDirectory, signals_as_interrupts

def interrupted_callback():
    signal.raise_signal(signal.SIGINT)

swallow = ctypes.CFUNCTYPE(None)(interrupted_callback)
with signals_as_interrupts():
    try:
        with RunDirectory(Path({str(out)!r})) as run:
            (run.path / "half.txt").write_text("a partial output")
            swallow()
            print("carried on")  # the interrupt was indeed dropped on its way
            other()
            (run.path / "rest.txt").write_text("the run carried on past the interrupt")
    except KeyboardInterrupt:
        print("abandoned")
"""
    script = script.replace(
        "with signals_as_interrupts():",
        "def failing_callback():\n    raise ValueError('not an interrupt')\n\n"
        "other = ctypes.CFUNCTYPE(None)(failing_callback)\n"
        "with signals_as_interrupts():",
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["carried", "on", "abandoned"]
    # only the other callback's error is printed, not the interrupt
    assert done.stderr.count("Exception ignored") == 1, done.stderr
    assert "ValueError: not an interrupt" in done.stderr
    assert "KeyboardInterrupt" not in done.stderr
    assert not out.exists()
    assert leftovers(out) == []


def test_an_interrupt_turned_into_another_error_is_reported_as_the_interrupt(
    tmp_path: Path,
) -> None:
    """Compiled code that catches the interrupt and raises its own error instead (Arrow,
    when the signal lands in an import it makes) must not turn Ctrl-C into an internal
    error: the command says it was interrupted, exits 128 + signum and OUT stays as it was."""
    import click
    from click.testing import CliRunner

    from ideaflow.cli._common import handle_errors

    out = tmp_path / "out"

    @click.command()
    @handle_errors
    def command() -> None:
        with RunDirectory(out) as run:
            (run.path / "half.txt").write_text("a partial output")
            try:
                signal.raise_signal(signal.SIGTERM)
            except KeyboardInterrupt:
                raise RuntimeError("The zoneinfo module must be installed") from None

    with signals_as_interrupts():
        result = CliRunner().invoke(command, [])
    assert result.exit_code == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM" in result.output
    assert "nothing was written" in result.output
    assert "internal error" not in result.output
    assert not out.exists() and leftovers(out) == []
