"""`ideaflow experiment --backend dask` against a real cluster: a `dask scheduler` and two
`dask worker` processes on 127.0.0.1, started and torn down here; the files must be the
local backend's byte for byte, and each worker loads the dataset once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from distributed import Client  # the test extra installs dask[distributed]

from ideaflow.cli import main
from ideaflow.experiments.cells import datasets_built, kernel_cache_stats
from ideaflow.synth import generate

PLATFORM_SPEC = """
[platform]
preset = "tiny"
seeds = [4, 5]

[comparison]
strategies = ["isolation", "diverse", "placebo"]
params = { k = [2, 3] }
n_boot = 50
"""


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _run(spec: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["experiment", str(spec), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output


def test_platform_experiment_on_a_real_cluster_equals_local(cluster, tmp_path):
    spec = tmp_path / "platform.toml"
    spec.write_text(PLATFORM_SPEC)
    _run(spec, tmp_path / "local")
    _run(spec, tmp_path / "dask", "--backend", "dask", "--scheduler", cluster)
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert len(local) == 2 * 4 + 4  # cells and subjects of 4 cells, spec, effects x2, png
    assert remote == local
    # the workers loaded the kernels this process compiled from Numba's on-disk cache
    with Client(cluster) as client:
        stats = client.run(kernel_cache_stats)
    assert len(stats) == 2
    assert all(s["misses"] == 0 for s in stats.values()), stats
    assert sum(s["hits"] > 0 for s in stats.values()) >= 1, stats


def test_dataset_is_loaded_once_per_worker(cluster, tmp_path):
    data = generate("tiny", seed=3, out=tmp_path / "tiny").path
    spec = tmp_path / "dataset.toml"
    # 6 cells (strategy seeds x k) on one dataset, 2 workers: loaded at most twice
    spec.write_text(
        f'dataset = "{data}"\nseeds = [0, 1, 2]\n\n[comparison]\n'
        'strategies = ["isolation", "placebo", "diverse"]\nparams = { k = [2, 3] }\nn_boot = 50\n'
    )
    _run(spec, tmp_path / "local")
    with Client(cluster) as client:
        before = client.run(datasets_built)
    _run(spec, tmp_path / "dask", "--backend", "dask", "--scheduler", cluster)
    with Client(cluster) as client:
        after = client.run(datasets_built)
    loads = {w: [k for k in after[w][len(before[w]) :] if k[0] == "dataset"] for w in after}
    assert sum(len(v) for v in loads.values()) >= 1
    assert all(len(v) <= 1 for v in loads.values())
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")


def test_local_dask_cluster_equals_local(tmp_path):
    spec = tmp_path / "platform.toml"
    spec.write_text(PLATFORM_SPEC.replace("seeds = [4, 5]", "seeds = [4]"))
    _run(spec, tmp_path / "local")
    _run(spec, tmp_path / "dask", "--backend", "dask", "--jobs", "2")
    _run(spec, tmp_path / "loky", "--jobs", "2")
    assert _files(tmp_path / "dask") == _files(tmp_path / "local") == _files(tmp_path / "loky")
