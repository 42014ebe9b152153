"""`compare(..., backend="dask")`: the evaluator searches of the style strategies (diverse,
echo, diverse-random) partitioned by subject across the workers of a Dask cluster.

Once the shared frame is built (subjects, calendar, the per-period candidates, their
style vectors and clusters), each subject's evaluators depend only on that shared state
and its own style vector (`selection.evaluator_sets(..., rows=...)`). So the subjects are
cut into contiguous ranges, one task per range: a worker receives the dataset once
(`Client.scatter(broadcast=True)`), builds the frame once per parameter set (cached in the
worker process) and returns the rows of its range; the driver stacks them in subject
order and does the rest — votes, accounting, the comparison — exactly as the local run
does. The outputs are the local run's, byte for byte (tests/test_compare_dask.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ideaflow.data import Dataset
from ideaflow.strategies.cluster import dask_client, job_count
from ideaflow.strategies.params import StrategyParams
from ideaflow.strategies.rebalance import Frame, build_frame
from ideaflow.strategies.selection import evaluator_sets

# worker side: the frame of each (dataset, parameters), built once per worker process
_frames: OrderedDict[tuple, Frame] = OrderedDict()
_lock = threading.Lock()
FRAMES_BUILT: list[int] = []  # n_subjects of every frame this process built (tests)


def frames_built() -> list[int]:
    """The frames this process built (run on the workers with `client.run`)."""
    return list(FRAMES_BUILT)


def _frame(ds: Dataset, params: StrategyParams) -> Frame:
    # the cached frame holds the dataset, so its id is not reused while it is cached
    key = (id(ds), params)
    with _lock:
        if key not in _frames:
            _frames[key] = build_frame(ds, params)
            FRAMES_BUILT.append(_frames[key].n_subjects)
            while len(_frames) > 2:
                _frames.popitem(last=False)
        return _frames[key]


def part_sets(ds: Dataset, params: StrategyParams, name: str, lo: int, hi: int) -> np.ndarray:
    """The evaluator sets of subjects [lo, hi) (the task a worker runs)."""
    frame = _frame(ds, params)
    return evaluator_sets(frame, name, rows=slice(lo, hi))[lo:hi]


class SubjectPartitions:
    """A `StrategyRunner` selector: evaluator sets computed by subject ranges on a cluster."""

    def __init__(self, client: Any, ds: Dataset, n_parts: int):
        self.client = client
        # once to every worker, not once per task
        self.shared = client.scatter(ds, broadcast=True, hash=False)
        self.n_parts = max(1, int(n_parts))

    def __call__(self, frame: Frame, name: str) -> np.ndarray:
        n = frame.n_subjects
        bounds = np.linspace(0, n, min(self.n_parts, max(n, 1)) + 1).round().astype(np.int64)
        ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        futures = [
            self.client.submit(part_sets, self.shared, frame.params, name, a, b, pure=False)
            for a, b in ranges
        ]
        parts = self.client.gather(futures)
        if not parts:
            return np.full((0, frame.n_periods, frame.params.k), -1, dtype=np.int32)
        return np.ascontiguousarray(np.concatenate(parts, axis=0))


@contextmanager
def dask_partitions(ds: Dataset, jobs: int | None, scheduler: str | None) -> Iterator[Any]:
    """A `SubjectPartitions` selector on the cluster at `scheduler`, or on a
    `LocalCluster` of `jobs` single-threaded workers started (and closed) here."""
    n_jobs = job_count(jobs)
    with dask_client(scheduler, n_jobs) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        # two ranges per worker: a slow range does not hold the others back
        yield SubjectPartitions(client, ds, 2 * n_workers)
