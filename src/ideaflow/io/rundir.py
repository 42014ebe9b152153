"""Run directories written as one unit: staged in a hidden sibling, swapped in at the end.

Every command that writes a directory of outputs (`backtest`, `compare`, `sweep`,
`analyze`, `generate`) goes through `RunDirectory`:

1. The target OUT is checked before any work: it may be absent, an empty directory, or,
   with `overwrite`, an earlier ideaflow run (its `summary.json` holds a manifest, see
   `ideaflow.io.manifest`). Anything else (a file, a directory holding other files, an
   older output without a manifest, the current directory or one of its parents, a
   directory that holds the input dataset) is refused with `RunDirError` (exit status 2)
   and left untouched.
2. A lock file next to OUT (`.OUT.ideaflow-lock`, an `flock` released by the kernel even
   when the process is killed) keeps two commands from writing the same OUT at once.
   Holding it, the run removes what interrupted runs into the same OUT left behind:
   hidden siblings `.OUT.ideaflow-XXXXXXXX.tmp` (staging) and `.OUT.ideaflow-XXXXXXXX.old`
   (a replaced run being deleted).
3. Everything is written into a fresh staging sibling `.OUT.ideaflow-XXXXXXXX.tmp`, on
   the same file system, so the final rename is atomic.
4. At the end the manifest (command line, input tables, every file with its size and
   SHA-256) is added to `summary.json`, an earlier run in OUT is renamed aside, the
   staging directory is renamed to OUT and the earlier run deleted. SIGINT and SIGTERM
   are held back during these renames and delivered right after them.
5. On an error or an interrupt (Ctrl-C, or SIGTERM through `signals_as_interrupts`) the
   staging directory is deleted and OUT is left exactly as it was. A SIGKILL cannot be
   caught: its staging directory stays until the next run into the same OUT removes it.

Without `fcntl` (Windows) there is no lock: do not run two commands into the same OUT at
once there.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from ideaflow.errors import DataError, ParameterError
from ideaflow.io.manifest import (
    MANIFEST_FORMAT,
    SUMMARY_NAME,
    file_entries,
    input_tables,
    read_manifest,
    run_files,
)
from ideaflow.io.write import fsync_directory, write_json_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_TOKEN_BYTES = 4  # 8 hex digits in sibling names


class RunDirError(ParameterError):
    """OUT cannot be written: it holds something that must not be replaced, or another
    command is writing it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (or another terminating signal) turned into an exception, so a run unwinds
    and cleans up as on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupt_signal(exc: BaseException) -> int:
    """The signal number an interrupt stands for (SIGINT for a plain KeyboardInterrupt)."""
    return getattr(exc, "signum", signal.SIGINT)


def interrupt_of(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The interrupt behind `exc`: itself, or one it was raised from. A signal handler
    that raises while compiled code runs (a Numba kernel) surfaces as a SystemError
    ("returned a result with an exception set") caused by the KeyboardInterrupt."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


# every SIGINT / SIGTERM turned into an interrupt in this process, in order: an interrupt
# raised where Python cannot deliver it is still found here. Inside a ctypes callback
# (Numba compiling) it is handed to the unraisable hook and dropped; inside an import
# made by compiled code (Arrow loading zoneinfo) it comes back as another error.
_RECEIVED: list[KeyboardInterrupt] = []


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    interrupt = KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
    _RECEIVED.append(interrupt)
    raise interrupt


def signals_received() -> int:
    """How many interrupting signals this process has received so far."""
    return len(_RECEIVED)


def dropped_interrupt(since: int) -> KeyboardInterrupt | None:
    """The first interrupt raised after `signals_received()` was `since`, if any (the
    exception object itself, with whatever notes were added to it)."""
    return _RECEIVED[since] if len(_RECEIVED) > since else None


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While active (main thread only), SIGINT raises KeyboardInterrupt and SIGTERM
    `Terminated` (instead of ending the process at once), and both are recorded; the
    previous handlers are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def quiet_dropped_interrupt(unraisable: Any) -> None:
        # an interrupt raised inside a callback from compiled code (llvmlite's object
        # cache while Numba compiles) cannot propagate: Python prints it as "Exception
        # ignored" with a traceback. It is recorded in _RECEIVED and reported as the
        # interrupt by the command, so it is not printed here.
        if any(unraisable.exc_value is received for received in _RECEIVED):
            return
        previous_hook(unraisable)

    sys.unraisablehook = quiet_dropped_interrupt
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (main thread only) and deliver them when the block
    ends, so a rename pair is never split by an interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if current is not None:  # None: a handler not installed from Python; leave it
            previous[signum] = signal.signal(signum, lambda s, _f: pending.append(s))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in pending:
            signal.raise_signal(number)


def _sibling_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(name)}\.ideaflow-[0-9a-f]{{{2 * _TOKEN_BYTES}}}\.(tmp|old)")


def leftovers(target: Path) -> list[Path]:
    """Hidden siblings of `target` left by interrupted runs into it (staging and replaced
    directories), sorted."""
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = _sibling_pattern(target.name)
    return sorted(p for p in parent.iterdir() if pattern.fullmatch(p.name))


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.ideaflow-lock"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            path.unlink()


def _examples(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


def check_target(target: Path, *, overwrite: bool, shown: str | None = None) -> bool:
    """Raise `RunDirError` unless `target` may become a run directory; True when it
    exists (an empty directory, or an earlier run that `overwrite` allows replacing)."""
    shown = shown or str(target)
    if not os.path.lexists(target):
        return False
    if not target.is_dir():
        raise RunDirError(
            f"out: {shown} exists and is not a directory; choose another --out (a directory "
            "that does not exist yet, is empty, or holds an earlier ideaflow run)"
        )
    entries = sorted(p.name for p in target.iterdir())
    if not entries:
        return True
    try:
        manifest = read_manifest(target)
    except DataError:
        raise RunDirError(
            f"out: {shown} holds {len(entries)} "
            + ("entry that is" if len(entries) == 1 else "entries that are")
            + f" not an ideaflow run (e.g. {_examples(entries)}; no manifest in summary.json); "
            "ideaflow replaces only its own runs, even with --overwrite: choose a new or "
            "empty --out, or remove the directory yourself"
        ) from None
    # files added to a run after it was written are someone's work: never deleted
    listed = {str(entry.get("path")) for entry in manifest.get("files", [])}
    added = [path for path in run_files(target) if path not in listed]
    if added:
        raise RunDirError(
            f"out: {shown} holds an earlier ideaflow run and {len(added)} "
            + ("file that is" if len(added) == 1 else "files that are")
            + f" not part of it (e.g. {_examples(added)}); ideaflow replaces only "
            "its own files, even with --overwrite: move them elsewhere or choose another --out"
        )
    if overwrite:
        return True
    command = " ".join(str(a) for a in manifest.get("command") or ["ideaflow"])
    raise RunDirError(
        f"out: {shown} holds an earlier ideaflow run (`{command}`); pass --overwrite to "
        "replace it as a whole, or choose another --out"
    )


class RunDirectory:
    """A run directory being written: `path` is the staging directory to write into;
    leaving the `with` block without an error swaps it in as `target`.

    `command` is the command line recorded in the manifest; `dataset` the input dataset
    directory (fingerprinted in a background thread while the command runs); `summary`
    keys added to summary.json (created when the command wrote none).

    >>> with RunDirectory("out/mirror", overwrite=True) as run:   # doctest: +SKIP
    ...     result.write(run.path)
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        command: Sequence[str] | None = None,
        dataset: str | os.PathLike[str] | None = None,
        summary: dict[str, Any] | None = None,
    ):
        self.target = Path(out)
        self.overwrite = bool(overwrite)
        self.command = list(command) if command is not None else None
        self.dataset = Path(dataset) if dataset is not None else None
        self.summary: dict[str, Any] = dict(summary or {})
        self._real = self.target.resolve()
        self._staging: Path | None = None
        self._lock_fd: int | None = None
        self._lock_file = lock_path(self._real)
        self._cancel = threading.Event()
        self._inputs: list[dict[str, Any]] | BaseException | None = None
        self._hasher: threading.Thread | None = None
        self._signals_at_start = signals_received()

    @property
    def path(self) -> Path:
        """The staging directory: write every output here."""
        if self._staging is None:
            raise RuntimeError("RunDirectory: use it in a `with` block first")
        return self._staging

    # ---- opening -------------------------------------------------------------------
    def _check_paths(self) -> None:
        shown = str(self.target)
        cwd = Path.cwd().resolve()
        if cwd == self._real or cwd.is_relative_to(self._real) or self._real.parent == self._real:
            raise RunDirError(
                f"out: {shown} is the current directory or one of its parents; choose a "
                "directory of its own for the outputs"
            )
        if self.dataset is not None:
            data = self.dataset.resolve()
            if data == self._real or data.is_relative_to(self._real):
                raise RunDirError(
                    f"out: {shown} holds the input dataset {self.dataset}; replacing it would "
                    "delete the input: choose another --out"
                )
        check_target(self._real, overwrite=self.overwrite, shown=shown)

    def _acquire_lock(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        while True:
            fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RunDirError(
                    f"out: another ideaflow command is writing {self.target} (it holds "
                    f"{self._lock_file.name}); wait for it to finish or choose another --out"
                ) from None
            # the previous holder may have deleted the file between our open and lock:
            # then we hold a lock on a file nobody else can see; open it again
            try:
                same = os.path.samestat(os.stat(self._lock_file), os.fstat(fd))
            except FileNotFoundError:
                same = False
            if same:
                self._lock_fd = fd
                return
            os.close(fd)

    def _release_lock(self) -> None:
        if self._lock_fd is None:
            return
        with suppress(FileNotFoundError):
            self._lock_file.unlink()
        os.close(self._lock_fd)
        self._lock_fd = None

    def _start_fingerprints(self) -> None:
        if self.dataset is None:
            self._inputs = []
            return
        dataset = self.dataset

        def work() -> None:
            try:
                self._inputs = input_tables(dataset, self._cancel)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self._inputs = exc

        self._hasher = threading.Thread(target=work, name="ideaflow-fingerprint", daemon=True)
        self._hasher.start()

    def __enter__(self) -> RunDirectory:
        self._signals_at_start = signals_received()
        self._check_paths()
        self._real.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            for path in leftovers(self._real):
                _remove(path)
            # checked again under the lock: the target may have changed meanwhile
            check_target(self._real, overwrite=self.overwrite, shown=str(self.target))
            while True:
                token = secrets.token_hex(_TOKEN_BYTES)
                staging = self._real.parent / f".{self._real.name}.ideaflow-{token}.tmp"
                try:
                    # set first: an interrupt right after mkdir still finds it to delete
                    self._staging = staging
                    staging.mkdir()
                except FileExistsError:  # pragma: no cover - 1 in 4 billion
                    self._staging = None
                    continue
                break
            self._start_fingerprints()
        except BaseException as exc:
            self._abandon(exc)
            raise
        return self

    # ---- closing -------------------------------------------------------------------
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            dropped = dropped_interrupt(self._signals_at_start)
            if dropped is not None:
                # the interrupt was swallowed on its way (see `_RECEIVED`): still one
                self._abandon(dropped)
                raise dropped
            try:
                self._commit()
            except BaseException as failure:
                self._abandon(failure)
                raise
            return
        self._abandon(exc)

    def _stop_fingerprints(self) -> None:
        self._cancel.set()
        if self._hasher is not None:
            self._hasher.join()

    def _abandon(self, exc: BaseException) -> None:
        """Delete the staging directory and release the lock; OUT stays as it was."""
        self._stop_fingerprints()
        staging = self._staging
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
            # a writer thread still finishing could recreate it; the process's exit
            # (after its threads are joined) deletes it again
            atexit.register(shutil.rmtree, staging, True)
        self._release_lock()
        interrupt = interrupt_of(exc) or dropped_interrupt(self._signals_at_start)
        if interrupt is not None and not getattr(interrupt, "_ideaflow_committed", False):
            interrupt.add_note(
                f"nothing was written: the partial output was deleted and {self.target} is "
                "as it was before the command"
            )

    def _manifest(self) -> dict[str, Any]:
        if self._hasher is not None:
            self._hasher.join()
        if isinstance(self._inputs, BaseException):
            raise self._inputs
        return {
            "format": MANIFEST_FORMAT,
            "command": self.command,
            "inputs": self._inputs or [],
            "files": file_entries(self.path),
        }

    def _write_summary(self) -> None:
        summary = self.path / SUMMARY_NAME
        document: dict[str, Any] = {}
        if summary.exists():
            document = json.loads(summary.read_text(encoding="utf-8"))
        document.update(self.summary)
        document["manifest"] = self._manifest()
        write_json_atomic(document, summary)

    def _commit(self) -> None:
        self._write_summary()
        staging = self.path
        parent = self._real.parent
        try:
            with _signals_deferred():
                existed = check_target(self._real, overwrite=self.overwrite, shown=str(self.target))
                aside = None
                if existed:
                    aside = parent / staging.name.replace(".tmp", ".old")
                    os.replace(self._real, aside)
                os.replace(staging, self._real)
                self._staging = None
                fsync_directory(parent)
                if aside is not None:
                    shutil.rmtree(aside, ignore_errors=True)
                self._release_lock()
        except KeyboardInterrupt as exc:
            if self._staging is None:  # delivered after the swap: the run is complete
                exc._ideaflow_committed = True  # type: ignore[attr-defined]
                exc.add_note(
                    f"the interrupt came after {self.target} was complete; "
                    f"`ideaflow verify {self.target}` checks it"
                )
                self._release_lock()
            raise
