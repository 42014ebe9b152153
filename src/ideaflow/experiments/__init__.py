"""Experiments: one comparison replicated over seeds and a grid of settings, on this
machine or a Dask cluster, resumable; effects across seeds (docs/experiments.md).

- `read_spec(path)` / `parse_spec(dict)` -> `ExperimentSpec`
- `run_experiment(spec, out_dir, backend=..., scheduler=..., jobs=...)` -> `ExperimentResult`
"""

from __future__ import annotations

from ideaflow.experiments.effects import over_seeds
from ideaflow.experiments.run import ExperimentResult, run_experiment
from ideaflow.experiments.spec import Cell, ExperimentSpec, Tuning, parse_spec, read_spec

__all__ = [
    "Cell",
    "ExperimentResult",
    "ExperimentSpec",
    "Tuning",
    "over_seeds",
    "parse_spec",
    "read_spec",
    "run_experiment",
]
