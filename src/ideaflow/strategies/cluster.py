"""A Dask client for the parallel parts of ideaflow (sweeps, subject-partitioned compare,
experiments): a `LocalCluster` on this machine, or a running cluster by its address.

Dask is an optional dependency (the `dask` extra); without it, asking for the Dask
backend is a ParameterError saying how to install it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numba

from ideaflow.errors import ParameterError

BACKENDS = ("local", "dask")


def check_backend(backend: str, scheduler: str | None) -> None:
    """A ParameterError unless `backend` is known and `scheduler` comes only with Dask."""
    if backend not in BACKENDS:
        raise ParameterError(f"backend: expected one of {', '.join(BACKENDS)}; found {backend!r}")
    if scheduler is not None and backend != "dask":
        raise ParameterError(
            f"scheduler: only used with backend='dask'; found backend={backend!r} "
            f"and scheduler={scheduler!r}"
        )


def job_count(jobs: int | None) -> int:
    """`jobs` as a worker count: None means -1 (every core); 0 and below -1 are refused."""
    n_jobs = -1 if jobs is None else int(jobs)
    if n_jobs == 0 or n_jobs < -1:
        raise ParameterError(f"jobs: expected an integer >= 1 or -1; found {jobs!r}")
    return n_jobs


def import_distributed() -> tuple[Any, Any]:
    """`(Client, LocalCluster)` from dask.distributed, or a ParameterError saying how to
    install it (an optional dependency: the `dask` extra)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ParameterError(
            "backend: 'dask' needs dask.distributed, which is not installed "
            f'({exc}); install it with: pip install "ideaflow[dask]"'
        ) from None
    return Client, LocalCluster


def numba_threads_safe() -> bool:
    """Whether Numba's parallel kernels may run in several threads of this process at once.

    Not with its `workqueue` threading layer (the fallback when neither TBB nor OpenMP is
    available): using it from two threads at once aborts the process.
    """
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # not chosen yet (no parallel kernel has run): predict the choice
        pass
    if str(getattr(numba.config, "THREADING_LAYER", "default")).lower() == "workqueue":
        return False
    for layer in ("tbbpool", "omppool"):  # Numba's own order of preference
        try:
            importlib.import_module(f"numba.np.ufunc.{layer}")
        except (ImportError, OSError):
            continue
        return True
    return False


def _connect(client_cls: Any, scheduler: str | None) -> Any:
    try:
        return client_cls(scheduler)
    except (OSError, ValueError, TypeError) as exc:
        # unreachable host or refused connection (after Dask's connect timeout; its
        # TimeoutError is an OSError), or a malformed address
        raise ParameterError(
            f"scheduler: could not connect to the Dask scheduler at {scheduler!r} ({exc})"
        ) from None


@contextmanager
def dask_client(scheduler: str | None, n_workers: int, at_most: int | None = None) -> Iterator[Any]:
    """A `distributed.Client` of the cluster at `scheduler`, or of a new `LocalCluster` of
    `n_workers` single-threaded workers (-1: one per core; no more than `at_most`, the
    tasks there are) that is closed on exit. The workers are threads of this process when
    Numba allows it (no worker start-up, which re-imports ideaflow and reloads every
    kernel, and one copy of the data; the kernels release the GIL), else processes."""
    client_cls, cluster_cls = import_distributed()
    cluster = None
    if scheduler is None:
        workers = (os.cpu_count() or 1) if n_workers == -1 else n_workers
        if at_most is not None:
            workers = min(workers, at_most)
        # the scheduler's HTTP server (dashboard when bokeh is installed) goes on a free
        # local port: the default 8787 warns when it is taken
        cluster = cluster_cls(
            n_workers=max(1, workers),
            threads_per_worker=1,
            processes=not numba_threads_safe(),
            dashboard_address="127.0.0.1:0",
        )
    try:
        client = client_cls(cluster) if cluster is not None else _connect(client_cls, scheduler)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
