"""The manifest of a run directory: which files belong to it, and which inputs made it.

A run directory's `summary.json` carries a `manifest` object:

- `format`: `"ideaflow-run/1"` (what marks the directory as an ideaflow run);
- `command`: the command line, as a list of arguments starting with `ideaflow`;
- `files`: every file of the run but `summary.json` itself (a file cannot hold its own
  hash), sorted by path: `{"path", "bytes", "sha256"}`, paths relative to the run
  directory with `/` separators;
- `inputs`: the contract tables read, in contract order: `{"table", "path",
  "absolute_path", "bytes", "rows", "sha256"}`; `path` is as given on the command line.
  A partitioned table (a directory of parts) lists its `parts` the same way, and its own
  `sha256` is the SHA-256 of the lines `"<part path> <part sha256>\\n"` in part order.

`verify_run` checks a directory against its manifest. Hashes are streamed (1 MiB at a
time), so memory does not grow with file size.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ideaflow.errors import DataError
from ideaflow.io.read import part_files
from ideaflow.io.schema import TABLE_NAMES
from ideaflow.io.write import write_json_atomic

MANIFEST_FORMAT = "ideaflow-run/1"
SUMMARY_NAME = "summary.json"
_CHUNK = 1 << 20


class Cancelled(Exception):
    """A hash was stopped by its cancel event (the run is being abandoned)."""


def sha256_file(path: str | os.PathLike[str], cancel: threading.Event | None = None) -> str:
    """SHA-256 of a file's bytes (hex), read 1 MiB at a time; stops early when `cancel`
    is set."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled(str(path))
            digest.update(chunk)
    return digest.hexdigest()


def run_files(root: Path) -> list[str]:
    """Every file under `root` (hidden ones too) but the top-level summary.json, as sorted
    relative `/` paths. Symbolic links count as files and are not followed."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        base = Path(directory)
        for name in files + [d for d in dirs if (base / d).is_symlink()]:
            relative = (base / name).relative_to(root).as_posix()
            if relative != SUMMARY_NAME:
                found.append(relative)
    return sorted(found)


def file_entries(root: Path) -> list[dict[str, Any]]:
    """The `files` list of a manifest: path, size and SHA-256 of every file of `root`."""
    return [
        {"path": rel, "bytes": (root / rel).stat().st_size, "sha256": sha256_file(root / rel)}
        for rel in run_files(root)
    ]


def _parquet_rows(path: Path) -> int | None:
    """Row count from the Parquet footer (None when the file cannot be read as Parquet:
    loading the dataset reports that)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowException, OSError, ValueError):
        return None


def _file_entry(path: Path, cancel: threading.Event | None) -> dict[str, Any]:
    return {
        "path": os.fspath(path),
        "absolute_path": os.fspath(path.resolve()),
        "bytes": path.stat().st_size,
        "rows": _parquet_rows(path),
        "sha256": sha256_file(path, cancel),
    }


def input_tables(
    dataset: str | os.PathLike[str], cancel: threading.Event | None = None
) -> list[dict[str, Any]]:
    """The `inputs` list of a manifest: every contract table present in `dataset`."""
    root = Path(dataset)
    entries: list[dict[str, Any]] = []
    for name in TABLE_NAMES:
        single, directory = root / f"{name}.parquet", root / name
        if single.is_file():
            entries.append({"table": name, **_file_entry(single, cancel)})
        elif directory.is_dir():
            parts = [_file_entry(part, cancel) for part in part_files(directory)]
            lines = "".join(
                f"{Path(p['path']).relative_to(directory).as_posix()} {p['sha256']}\n"
                for p in parts
            )
            rows = [p["rows"] for p in parts]
            entries.append(
                {
                    "table": name,
                    "path": os.fspath(directory),
                    "absolute_path": os.fspath(directory.resolve()),
                    "bytes": sum(p["bytes"] for p in parts),
                    "rows": None if None in rows else sum(rows),
                    "sha256": hashlib.sha256(lines.encode()).hexdigest(),
                    "parts": parts,
                }
            )
    return entries


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest in `run_dir/summary.json`; DataError when there is none."""
    summary = run_dir / SUMMARY_NAME
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: expected a run directory; found no directory there")
    try:
        document = json.loads(summary.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{summary}: missing; a run directory written by ideaflow holds summary.json "
            "with its manifest"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{summary}: unreadable ({exc})") from None
    manifest = document.get("manifest") if isinstance(document, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(
            f"{summary}: expected a `manifest` object of format {MANIFEST_FORMAT!r}; found "
            + ("none" if manifest is None else repr(manifest.get("format")))
            + " (written by an older ideaflow, or not by ideaflow)"
        )
    return manifest


def add_to_manifest(run_dir: Path, relative: str) -> bool:
    """List (or list anew) the file `relative` of a finished run in its manifest, when the
    run has one: for what is added to a run later (its `report.html`). Returns whether a
    manifest was updated."""
    summary = run_dir / SUMMARY_NAME
    if not summary.exists():
        return False
    document = json.loads(summary.read_text(encoding="utf-8"))
    manifest = document.get("manifest") if isinstance(document, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return False
    path = run_dir / relative
    entry = {"path": relative, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    files = [f for f in manifest.get("files", []) if f.get("path") != relative]
    manifest["files"] = sorted([*files, entry], key=lambda f: str(f["path"]))
    write_json_atomic(document, summary)
    return True


@dataclass
class VerifyReport:
    """What `verify_run` found: files missing, extra or changed, and changed inputs."""

    run_dir: Path
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    inputs_checked: int = 0
    inputs_changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.inputs_changed)

    def to_text(self) -> str:
        if self.ok:
            text = f"{self.run_dir}: ok, {self.checked} files match the manifest in summary.json"
            if self.inputs_checked:
                text += f"; {self.inputs_checked} input files unchanged"
            return text
        lines = [f"{self.run_dir}: does not match the manifest in summary.json"]
        for label, items in (
            ("missing", self.missing),
            ("extra", self.extra),
            ("changed", self.changed),
            ("input changed", self.inputs_changed),
        ):
            lines.extend(f"  {label}: {item}" for item in items)
        return "\n".join(lines)


def _compare_file(path: Path, expected: dict[str, Any]) -> str | None:
    """Why `path` differs from its manifest entry (None: it does not)."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != expected.get("bytes"):
        return f"size {expected.get('bytes')} -> {size} bytes"
    if sha256_file(path) != expected.get("sha256"):
        return "same size, different SHA-256"
    return None


def verify_run(run_dir: str | os.PathLike[str], *, inputs: bool = False) -> VerifyReport:
    """Check every file of `run_dir` against its manifest (and the input files too, with
    `inputs`, at their recorded absolute paths)."""
    root = Path(run_dir)
    manifest = read_manifest(root)
    expected = {entry["path"]: entry for entry in manifest.get("files", [])}
    present = set(run_files(root))
    report = VerifyReport(root, checked=len(expected))
    report.missing = sorted(set(expected) - present)
    report.extra = sorted(present - set(expected))
    for rel in sorted(set(expected) & present):
        why = _compare_file(root / rel, expected[rel])
        if why is not None:
            report.changed.append(f"{rel} ({why})")
    if inputs:
        for table in manifest.get("inputs", []):
            if "parts" in table:
                directory = Path(table["absolute_path"])
                now = {os.fspath(p.resolve()) for p in part_files(directory)}
                added = sorted(now - {p["absolute_path"] for p in table["parts"]})
                if added:
                    report.inputs_changed.append(
                        f"{directory} (parts added: {', '.join(Path(a).name for a in added)})"
                    )
            for entry in table.get("parts", [table]):
                report.inputs_checked += 1
                why = _compare_file(Path(entry["absolute_path"]), entry)
                if why is not None:
                    report.inputs_changed.append(f"{entry['absolute_path']} ({why})")
    return report
