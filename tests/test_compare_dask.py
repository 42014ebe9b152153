"""`compare --backend dask`: the evaluator searches by subject ranges on a real cluster (a
`dask scheduler` and two `dask worker` processes on 127.0.0.1) give the local run's files
byte for byte (summary.json up to its wall-clock timings); the dataset goes to each worker once and each worker builds its frame once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from distributed import Client  # the test extra installs dask[distributed]

from ideaflow.cli import main
from ideaflow.data import Dataset
from ideaflow.errors import ParameterError
from ideaflow.io import load_dataset
from ideaflow.strategies import StrategyParams, StrategyRunner, compare
from ideaflow.strategies.partition import frames_built
from ideaflow.strategies.selection import evaluator_sets
from ideaflow.synth import generate

NAMES = "isolation,diverse,echo,diverse-random,placebo,recommend"
OPTIONS = ["--k", "3", "--n-boot", "50"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    return generate("tiny", seed=11, out=tmp_path_factory.mktemp("cmp_dask") / "tiny").path


def _files(out: Path) -> dict[str, bytes]:
    """Every file's bytes; a strategy's summary.json without its wall-clock `timings_s`
    (they differ between any two runs, local or not), and the run's manifest without the
    command line (it names the backend) and the hashes of those summaries."""
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "summary.json" and p.parent != out:
                summary = json.loads(data)
                assert summary.pop("timings_s")
                data = json.dumps(summary, sort_keys=True).encode()
            elif p.name == "summary.json":
                manifest = json.loads(data)["manifest"]
                assert manifest.pop("command")[:2] == ["ideaflow", "compare"]
                manifest["files"] = [
                    {**f, "sha256": "", "bytes": 0} if f["path"].endswith("summary.json") else f
                    for f in manifest["files"]
                ]
                data = json.dumps(manifest, sort_keys=True).encode()
            files[str(p.relative_to(out))] = data
    return files


def _compare(platform, out, *extra):
    args = ["compare", str(platform), "--strategies", NAMES, "--out", str(out), *OPTIONS]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_subject_ranges_stack_to_the_whole_sets(platform):
    # the property the partition rests on, checked in one process with uneven ranges
    frame = StrategyRunner(load_dataset(platform), StrategyParams(k=3)).frame
    for name in ("diverse", "echo", "diverse-random"):
        whole = evaluator_sets(frame, name)
        cuts = [0, 7, 8, 40, frame.n_subjects]
        parts = [evaluator_sets(frame, name, rows=slice(a, b))[a:b] for a, b in zip(cuts, cuts[1:])]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
        assert (whole >= 0).any()


def test_compare_on_a_real_cluster_writes_the_local_files(platform, cluster, tmp_path, monkeypatch):
    local = _compare(platform, tmp_path / "local")
    with Client(cluster) as client:
        before = client.run(frames_built)
    pickled = []

    def counting_getstate(self):
        pickled.append(1)
        return self.__dict__

    monkeypatch.setattr(Dataset, "__getstate__", counting_getstate, raising=False)
    remote = _compare(platform, tmp_path / "dask", "--backend", "dask", "--scheduler", cluster)
    monkeypatch.undo()
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")
    # same table printed, up to the timing line
    assert remote.splitlines()[:-1] == local.splitlines()[:-1]
    # 3 strategies x 4 ranges = 12 tasks: the dataset pickled once per worker, and each
    # worker built one frame
    assert 1 <= len(pickled) <= 2
    with Client(cluster) as client:
        after = client.run(frames_built)
    assert all(len(after[w]) - len(before[w]) <= 1 for w in after)
    assert sum(len(after[w]) - len(before[w]) for w in after) >= 1


def test_local_cluster_and_bad_backend(platform, tmp_path):
    ds = load_dataset(platform)
    names = ["isolation", "echo"]
    local = compare(ds, names, StrategyParams(k=2), n_boot=50)
    on_dask = compare(ds, names, StrategyParams(k=2), n_boot=50, backend="dask", jobs=2)
    assert local.comparison.equals(on_dask.comparison)
    with pytest.raises(ParameterError, match="backend: expected one of local, dask"):
        compare(ds, names, backend="spark")
    with pytest.raises(ParameterError, match="scheduler: only used with backend='dask'"):
        compare(ds, names, scheduler="tcp://127.0.0.1:1")
