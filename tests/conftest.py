"""Fixtures shared by several test modules.

Builders of tiny hand-written datasets are in `builders.py`, the pure-Python reference
replay in `reference.py` and the real Dask cluster in `dask_cluster.py` (helpers, not
test modules); no test module imports another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ideaflow
from ideaflow.synth.random_platform import build_platform


@pytest.fixture(scope="session")
def platform_ds() -> ideaflow.Dataset:
    """A random platform of 3,000 original trades, 300 traders and 400 follows (seed 11)."""
    tables = build_platform(3_000, 300, 400, seed=11)
    return ideaflow.dataset_from_frames(tables["trades"], tables["follows"])


@pytest.fixture(scope="session")
def platform_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random platform of 2,000 original trades (seed 5) written as a dataset directory."""
    tables = build_platform(2_000, 200, 300, seed=5)
    root = tmp_path_factory.mktemp("platform")
    ideaflow.write_dataset(root, tables["trades"], tables["follows"])
    return root


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a real `dask scheduler` with two single-threaded `dask worker`
    processes on 127.0.0.1, one cluster per test module (their caches and counters start
    fresh), torn down after it."""
    from dask_cluster import dask_cluster

    with dask_cluster(tmp_path_factory.mktemp("cluster")) as address:
        yield address
