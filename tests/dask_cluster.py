"""A real Dask cluster for tests: a `dask scheduler` and single-threaded `dask worker`
processes on 127.0.0.1, importing the same ideaflow as the tests (the checkout's, or the
installed copy when the tests run against one), torn down on exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client  # the test extra installs dask[distributed]

import ideaflow

# the directory holding the ideaflow the tests import: workers load the same files, and
# so the same Numba cache
SRC = Path(ideaflow.__file__).resolve().parent.parent


def _dask_cli() -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


@contextmanager
def dask_cluster(where: Path, n_workers: int = 2) -> Iterator[str]:
    """Start the processes, yield the scheduler's address, stop them."""
    address_file = where / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [
        *_dask_cli(), "scheduler", "--host", "127.0.0.1", "--port", "0",
        "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(address_file),
    ]  # fmt: skip
    procs = [subprocess.Popen(scheduler, **quiet)]  # type: ignore[call-overload]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            assert time.monotonic() < deadline, "the dask scheduler did not start"
            assert procs[0].poll() is None, "the dask scheduler exited"
            time.sleep(0.2)
        for i in range(n_workers):
            worker = [
                *_dask_cli(), "worker", "--scheduler-file", str(address_file),
                "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                "--name", f"w{i}", "--no-dashboard",
            ]  # fmt: skip
            procs.append(subprocess.Popen(worker, **quiet))  # type: ignore[call-overload]
        with Client(scheduler_file=str(address_file), timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=120)
            address = client.scheduler.address
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
