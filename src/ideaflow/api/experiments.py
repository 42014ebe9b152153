"""Experiments as a user runs them: the spec read, the cells run and written, the effects
across seeds drawn (`ideaflow.experiments`, figures from `ideaflow.reporting.experiments`)."""

from __future__ import annotations

from pathlib import Path

from ideaflow.experiments import ExperimentResult, ExperimentSpec, read_spec, run_experiment
from ideaflow.reporting.experiments import experiment_figures, format_effects


def experiment(
    spec: str | Path | ExperimentSpec,
    out_dir: str | Path,
    *,
    backend: str = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    plots: bool = True,
) -> ExperimentResult:
    """Run the experiment of `spec` (a TOML path or an `ExperimentSpec`) into `out_dir`:
    the cells not yet there, then effects.parquet and, with `plots`, effects.png."""
    parsed = spec if isinstance(spec, ExperimentSpec) else read_spec(spec)
    return run_experiment(
        parsed,
        out_dir,
        backend=backend,
        scheduler=scheduler,
        jobs=jobs,
        progress=progress,
        figures=experiment_figures if plots else None,
    )


def experiment_text(result: ExperimentResult) -> str:
    """The effects across seeds as the table the command line prints."""
    return format_effects(result.effects)
