"""`ideaflow experiment SPEC.toml --out DIR`: a comparison (or the tuning experiment)
replicated over seeds and a grid of settings, resumable, on this machine or a Dask cluster."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ideaflow.cli._common import handle_errors
from ideaflow.cli.options import backend_option, out_option, resolve_progress, scheduler_option


@click.command("experiment")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_option("Output directory (a rerun with the same spec resumes where it stopped).")
@backend_option("local: this process or joblib processes; dask: cells are tasks on a Dask cluster")
@scheduler_option
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=1,
    show_default=True,
    help="Cells at once (-1: every core): processes with --backend local, workers of the "
    "local Dask cluster with --backend dask (ignored with --scheduler).",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write effects.png.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar of the cells [default: when stderr is a terminal].",
)
@handle_errors
def experiment_command(
    spec: Path,
    out_dir: Path,
    backend: str,
    scheduler: str | None,
    jobs: int,
    plots: bool,
    progress: bool | None,
) -> None:
    """Run the experiment of SPEC (TOML) into OUT: OUT/cells/ and OUT/subjects/ as the cells
    finish, then OUT/effects.parquet and OUT/effects.png (effects across seeds)."""
    from ideaflow.api import experiment, experiment_text

    started = time.perf_counter()
    result = experiment(
        spec,
        out_dir,
        backend=backend,
        scheduler=scheduler,
        jobs=jobs,
        progress=resolve_progress(progress),
        plots=plots,
    )
    click.echo(experiment_text(result))
    n = len(result.spec.cells())
    click.echo(
        f"\nwrote {out_dir}/ ({n} cells, {result.n_run} run now, {n - result.n_run} already "
        f"there; effects.parquet"
        + (", effects.png" if plots else "")
        + f") in {time.perf_counter() - started:.1f} s"
    )
