"""`ideaflow experiment`: the spec and its errors, the cells against a direct comparison,
the effects across seeds against a hand computation, resuming, and the command line."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest
from click.testing import CliRunner

from ideaflow.cli import main
from ideaflow.errors import ParameterError
from ideaflow.experiments import over_seeds, parse_spec, run_experiment
from ideaflow.io import dataset_from_frames
from ideaflow.strategies import StrategyParams, compare
from ideaflow.synth import generate

run_module = sys.modules["ideaflow.experiments.run"]

SPEC = """
[platform]
preset = "tiny"
seeds = [1, 2]
overrides = { cluster_error = 0.5 }

[comparison]
strategies = ["isolation", "diverse", "placebo"]
exposure = "matched"
params = { k = [2, 3] }
n_boot = 50
"""


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "tiny.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def finished(spec_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("experiment") / "out"
    result = CliRunner().invoke(main, ["experiment", str(spec_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def _files(out):
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_over_seeds_by_hand():
    got = over_seeds(np.array([1.0, 2.0, 3.0]))
    # mean 2, sd 1, t(0.975, 2) = 4.302652729911275 (tables), half width t * 1 / sqrt(3)
    half = 4.302652729911275 / math.sqrt(3)
    assert got["mean"] == pytest.approx(2.0)
    assert got["sd"] == pytest.approx(1.0)
    assert got["ci_low"] == pytest.approx(2.0 - half)
    assert got["ci_high"] == pytest.approx(2.0 + half)
    assert got["share_positive"] == 1.0
    one = over_seeds(np.array([-0.5]))
    assert one["n_seeds"] == 1 and math.isnan(one["ci_low"]) and one["share_positive"] == 0.0


def test_cells_are_the_direct_comparison(finished):
    out, _ = finished
    cells = pads.dataset(out / "cells", partitioning="hive").to_table().to_pandas()
    assert len(cells) == 2 * 2 * 3  # seeds x k x strategies
    keys = ["seed", "cluster_error", "k", "exposure", "strategy"]
    assert list(cells.columns[: len(keys)]) == keys
    # seed 2, k = 3: the comparison run by hand on the same platform draw
    platform = generate("tiny", seed=2, overrides={"cluster_error": 0.5})
    ds = dataset_from_frames(platform.trades, platform.follows, platform.prices, platform.accounts)
    direct = compare(
        ds,
        ["isolation", "diverse", "placebo"],
        StrategyParams(k=3, seed=2, exposure="matched"),
        n_boot=50,
    ).comparison.set_index("strategy")
    mine = cells[(cells["seed"] == 2) & (cells["k"] == 3)].set_index("strategy")
    for column in ("n_subjects", "mean_roi", "mean_roe", "roi_diff_vs_isolation", "ci_method"):
        assert mine[column].tolist() == direct.loc[mine.index, column].tolist()
    # the per-subject paired differences average to the difference of the means
    subjects = pads.dataset(out / "subjects", partitioning="hive").to_table().to_pandas()
    part = subjects[
        (subjects["seed"] == 2)
        & (subjects["k"] == 3)
        & (subjects["strategy_a"] == "diverse")
        & (subjects["strategy_b"] == "isolation")
    ]
    assert len(part) == direct.at["diverse", "n_subjects"]
    assert part["roi_diff"].mean() == pytest.approx(
        direct.at["diverse", "mean_roi"] - direct.at["isolation", "mean_roi"], abs=1e-12
    )
    assert set(subjects.groupby(["strategy_a", "strategy_b"]).size().index) == {
        ("diverse", "isolation"),
        ("placebo", "isolation"),
        ("placebo", "diverse"),
    }


def test_effects_are_the_seeds_summarised(finished):
    out, output = finished
    cells = pd.read_parquet(out / "cells")
    effects = pd.read_parquet(out / "effects.parquet")
    row = effects[
        (effects["k"] == 2)
        & (effects["strategy_a"] == "diverse")
        & (effects["strategy_b"] == "isolation")
        & (effects["metric"] == "roi")
    ].iloc[0]
    by = cells[cells["k"] == 2].set_index(["seed", "strategy"])["mean_roi"]
    diffs = np.array([by[(s, "diverse")] - by[(s, "isolation")] for s in (1, 2)])
    # two seeds: t(0.975, 1) = 12.706204736174707 (tables)
    half = 12.706204736174707 * diffs.std(ddof=1) / math.sqrt(2)
    assert row["n_seeds"] == 2
    assert row["mean"] == pytest.approx(diffs.mean())
    assert row["ci_low"] == pytest.approx(diffs.mean() - half)
    assert row["share_positive"] == np.mean(diffs > 0)
    assert row["ci_method"] == "t_interval_95_over_seeds"
    assert len(effects) == 2 * 3 * 2  # k values x pairs x metrics
    assert (out / "effects.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "diverse - isolation (cluster_error=0.5, k=2, exposure=matched)" in output
    assert "Student t over seeds" in output


def test_interrupted_run_resumes_to_the_same_files(spec_path, finished, tmp_path, monkeypatch):
    out, _ = finished
    again = tmp_path / "again"
    calls = []
    real = run_module.run_cell

    def interrupted(spec, cell):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(cell.index)
        return real(spec, cell)

    monkeypatch.setattr(run_module, "run_cell", interrupted)
    from ideaflow.experiments import read_spec

    spec = read_spec(spec_path)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, again, jobs=1)
    assert sorted(p.parent.name for p in (again / "cells").rglob("*.parquet")) == [
        "cell=00000",
        "cell=00001",
    ]
    monkeypatch.setattr(run_module, "run_cell", real)
    result = CliRunner().invoke(main, ["experiment", str(spec_path), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert "2 run now, 2 already there" in result.output
    assert _files(again) == _files(out)


def test_another_spec_into_the_same_directory_is_refused(finished, tmp_path):
    out, _ = finished
    other = tmp_path / "other.toml"
    other.write_text(SPEC.replace("seeds = [1, 2]", "seeds = [1, 3]"))
    result = CliRunner().invoke(main, ["experiment", str(other), "--out", str(out)])
    assert result.exit_code == 2
    assert "another experiment spec (differs in seeds)" in result.output
    assert "Traceback" not in result.output


def test_a_directory_holding_something_else_is_refused(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("someone's work")
    result = CliRunner().invoke(main, ["experiment", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert "holds 1 entries that are no experiment of ideaflow (e.g. notes.txt)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('preset = "tiny"', 'preset = "tinny"'), "`platform.preset`: .*did you mean `tiny`"),
        (("seeds = [1, 2]", "seeds = [1, -2]"), "`platform.seeds`: expected a list of integers"),
        (("params = {", "parms = {"), "`comparison.parms`: unknown key.*did you mean `params`"),
        (("k = [2, 3]", "k = [2, 0]"), "`comparison.params`: k: expected an integer >= 1"),
        (("k = [2, 3]", "seed = [2, 3]"), "`comparison.params.seed`: set by the spec"),
        (('"placebo"]', '"placeb"]'), "`comparison.strategies`: unknown strategy 'placeb'"),
        (("cluster_error = 0.5", "cluster_eror = 0.5"), "unknown synth parameter 'cluster_eror'"),
        (("cluster_error = 0.5", "cluster_error = [0.5, 0.5]"), "expected distinct values"),
        (("[platform]", 'dataset = "nowhere"\n[platform]'), "`dataset`: expected either"),
    ],
)
def test_bad_spec_names_the_key_with_status_2(tmp_path, change, message):
    import re

    path = tmp_path / "bad.toml"
    text = SPEC.replace(*change)
    assert text != SPEC
    path.write_text(text)
    result = CliRunner().invoke(main, ["experiment", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output


def test_spec_grid_order_and_key_clash():
    spec = parse_spec(
        {
            "platform": {"preset": "tiny", "seeds": [3, 1], "overrides": {"herd_noise": [0, 1]}},
            "comparison": {"strategies": ["isolation", "diverse"], "params": {"k": [1, 2]}},
        }
    )
    assert [c.keys for c in spec.cells()][:3] == [
        {"seed": 3, "herd_noise": 0.0, "k": 1, "exposure": "as-logged"},
        {"seed": 3, "herd_noise": 0.0, "k": 2, "exposure": "as-logged"},
        {"seed": 3, "herd_noise": 1.0, "k": 1, "exposure": "as-logged"},
    ]
    assert len(spec.cells()) == 8
    with pytest.raises(ParameterError, match=r"`comparison.params.n_clusters`: also a platform"):
        parse_spec(
            {
                "platform": {"preset": "tiny", "seeds": [1], "overrides": {"n_clusters": 3}},
                "comparison": {"strategies": ["isolation", "diverse"], "params": {"n_clusters": 3}},
            }
        )


def test_recommend_arms_replay_on_a_log(tmp_path):
    """The recommend strategies from a spec on a dataset path, with the allocation as a
    grid axis: a copy's PnL scales with its allocation, so the effect over isolation at
    0.2 is twice the effect at 0.1, seed by seed."""
    data = generate("tiny", seed=6, out=tmp_path / "tiny").path
    spec = tmp_path / "recommend.toml"
    spec.write_text(
        f'dataset = "{data}"\nseeds = [0, 1]\n\n[comparison]\n'
        'strategies = ["isolation", "recommend", "recommend-top", "recommend-random"]\n'
        "params = { recommend_allocation = [0.1, 0.2] }\nn_boot = 20\n"
    )
    result = CliRunner().invoke(main, ["experiment", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    per_seed = pd.read_parquet(tmp_path / "o" / "effects_by_seed.parquet")
    vs_iso = per_seed[(per_seed["strategy_b"] == "isolation") & (per_seed["metric"] == "roi")]
    wide = vs_iso.pivot_table(
        index=["seed", "strategy_a"], columns="recommend_allocation", values="value"
    )
    np.testing.assert_allclose(wide[0.2].to_numpy(), 2 * wide[0.1].to_numpy(), rtol=1e-9)
    assert len(wide) == 2 * 3
