"""`sweep(..., backend="dask")` and `ideaflow sweep --backend dask`: the same table as the
local backend, the dataset shipped once per worker, and the errors (dask missing, bad
backend or scheduler)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster  # the test extra installs dask[distributed]

from ideaflow.cli import main
from ideaflow.data import Dataset
from ideaflow.errors import ParameterError
from ideaflow.io import load_dataset, write_parquet_atomic
from ideaflow.strategies import StrategyParams, sweep
from ideaflow.synth import generate

# the module that starts local clusters (monkeypatched below)
cluster_module = sys.modules["ideaflow.strategies.cluster"]

# 2 x 2 points: with 2 workers, shipping the dataset per task would send it 4 times
GRID = {"k": [1, 2], "min_support": [-1, 0]}


@pytest.fixture(scope="module")
def platform_path(tmp_path_factory):
    return generate("tiny", seed=0, out=tmp_path_factory.mktemp("sweep_dask") / "tiny").path


@pytest.fixture(scope="module")
def ds(platform_path):
    return load_dataset(platform_path)


@pytest.fixture(scope="module")
def local_table(ds):
    return sweep(ds, "diverse", GRID, StrategyParams(), jobs=1)


@pytest.fixture(scope="module")
def scheduler():
    """A 2-worker cluster in this process behind a real TCP address (what a user passes)."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


def _parquet_bytes(table: pd.DataFrame, path) -> bytes:
    return write_parquet_atomic(table, path).read_bytes()


def test_local_table_has_the_grid_in_order(local_table):
    assert local_table[["k", "min_support"]].values.tolist() == [[1, -1], [1, 0], [2, -1], [2, 0]]
    assert (local_table["strategy"] == "diverse").all()


def test_dask_local_cluster_gives_the_same_table(ds, local_table, tmp_path):
    table = sweep(ds, "diverse", GRID, StrategyParams(), jobs=2, backend="dask")
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)
    assert _parquet_bytes(table, tmp_path / "dask.parquet") == _parquet_bytes(
        local_table, tmp_path / "local.parquet"
    )


def test_dask_scheduler_address_ships_the_dataset_once_per_worker(
    ds, local_table, scheduler, monkeypatch
):
    # count how often the dataset is serialised: over TCP every transfer pickles it
    pickled = []

    def counting_getstate(self):
        pickled.append(1)
        return self.__dict__

    monkeypatch.setattr(Dataset, "__getstate__", counting_getstate, raising=False)
    table = sweep(ds, "diverse", GRID, backend="dask", scheduler=scheduler)
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)
    assert 1 <= len(pickled) <= 2  # 2 workers, 4 tasks


def test_missing_dask_names_the_extra(ds, monkeypatch):
    # None in sys.modules makes `from dask.distributed import ...` raise ImportError
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ParameterError, match=r'pip install "ideaflow\[dask\]"'):
        sweep(ds, "diverse", GRID, backend="dask")


def test_bad_backend_and_scheduler_are_parameter_errors(ds):
    with pytest.raises(
        ParameterError, match=r"backend: expected one of local, dask; found 'spark'"
    ):
        sweep(ds, "diverse", GRID, backend="spark")
    with pytest.raises(ParameterError, match=r"scheduler: only used with backend='dask'"):
        sweep(ds, "diverse", GRID, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ParameterError, match=r"scheduler: could not connect .*'nonsense://x'"):
        sweep(ds, "diverse", GRID, backend="dask", scheduler="nonsense://x")


def _cli_sweep(platform_path, out, *extra):
    grid = [f"--grid=k={','.join(map(str, GRID['k']))}"]
    grid.append(f"--grid=min_support={','.join(map(str, GRID['min_support']))}")
    args = ["sweep", str(platform_path), "--strategy", "diverse", *grid, "--out", str(out)]
    return CliRunner().invoke(main, [*args, *extra])


def test_cli_dask_backend_writes_the_same_file(platform_path, local_table, scheduler, tmp_path):
    result = _cli_sweep(
        platform_path, tmp_path / "out", "--backend", "dask", "--scheduler", scheduler
    )
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out" / "sweep.parquet").read_bytes()
    assert written == _parquet_bytes(local_table, tmp_path / "local.parquet")


def test_cli_dask_missing_exits_with_status_2(platform_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    result = _cli_sweep(platform_path, tmp_path / "out", "--backend", "dask")
    assert result.exit_code == 2
    assert 'pip install "ideaflow[dask]"' in result.output


def test_numba_workqueue_is_not_thread_safe(monkeypatch):
    import numba

    monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    assert cluster_module.numba_threads_safe() is False
    monkeypatch.setattr(numba, "threading_layer", lambda: "omp")
    assert cluster_module.numba_threads_safe() is True


@pytest.mark.parametrize(("thread_safe", "processes"), [(True, False), (False, True)])
def test_local_cluster_uses_processes_only_without_a_thread_safe_numba(
    ds, local_table, monkeypatch, thread_safe, processes
):
    requested = []

    def recording_cluster(**kwargs):
        requested.append(kwargs)
        # run in threads whatever was asked: spawning processes costs seconds per worker
        return LocalCluster(**{**kwargs, "processes": False})

    monkeypatch.setattr(cluster_module, "numba_threads_safe", lambda: thread_safe)
    monkeypatch.setattr(cluster_module, "import_distributed", lambda: (Client, recording_cluster))
    table = sweep(ds, "diverse", GRID, jobs=8, backend="dask")
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)
    # at most one worker per grid point, single-threaded, HTTP server on a free port
    assert requested == [
        {
            "n_workers": 4,
            "threads_per_worker": 1,
            "processes": processes,
            "dashboard_address": "127.0.0.1:0",
        }
    ]
