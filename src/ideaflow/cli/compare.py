"""`ideaflow compare` and `ideaflow sweep`: several docs/contract.md §5 strategies side by side, and one
strategy over a parameter grid (thin wrappers over `ideaflow.strategies`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ideaflow.cli._common import handle_errors, run_directory
from ideaflow.cli.options import (
    backend_option,
    input_options,
    load_input,
    out_option,
    overwrite_option,
    report_option,
    scheduler_option,
    strategy_options,
)

DEFAULT_STRATEGIES = "isolation,herd,diverse,echo,placebo"


def _strategy_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The StrategyParams options plus how the dataset is read (shared declarations)."""
    return strategy_options(input_options()(func))


def _params(given: dict[str, Any]):
    from ideaflow.strategies import StrategyParams

    return StrategyParams(**{k: v for k, v in given.items() if v is not None})


@click.command("compare")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--strategies",
    "-s",
    default=DEFAULT_STRATEGIES,
    show_default=True,
    help="Comma-separated strategies.",
)
@out_option("Output directory.")
@overwrite_option
@click.option(
    "--block-days",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Block length of the moving-block bootstrap, days.",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=10),
    default=2000,
    show_default=True,
    help="Bootstrap replications.",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Save PNG plots.")
@backend_option(
    "dask: the evaluator searches (diverse, echo, diverse-random) by subject ranges on a "
    "Dask cluster; the same outputs"
)
@scheduler_option
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=None,
    help="Workers of the local Dask cluster with --backend dask (-1: every core; "
    "ignored with --scheduler)  [default: every core].",
)
@report_option
@_strategy_options
@handle_errors
def compare_command(
    dataset: Path,
    strategies: str,
    out_dir: Path,
    overwrite: bool,
    block_days: int,
    n_boot: int,
    plots: bool,
    backend: str,
    scheduler: str | None,
    jobs: int | None,
    report: bool,
    initial_equity: float | None,
    on_invalid: str,
    progress: bool | None,
    **given: Any,
) -> None:
    """Run several strategies on DATASET and compare them; write OUT/STRATEGY/, comparison
    and paired tables and plots."""
    from ideaflow.api import compare, text, write_report

    started = time.perf_counter()
    params = _params(given)
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    with run_directory(out_dir, overwrite, dataset) as run:
        ds = load_input(dataset, run.path, initial_equity, on_invalid)
        result = compare(
            ds,
            names,
            params,
            run.path,
            block_days=block_days,
            n_boot=n_boot,
            plots=plots,
            progress=sys.stderr.isatty() if progress is None else progress,
            backend=backend,
            scheduler=scheduler,
            jobs=jobs,
        )
    click.echo(text(result))
    click.echo(
        f"\nwrote {out_dir}/ ({', '.join(names)}, comparison.parquet, paired.parquet"
        + (", plots" if plots else "")
        + f") in {time.perf_counter() - started:.1f} s"
    )
    if report:
        click.echo(f"report: {write_report(out_dir)}")


@click.command("sweep")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--strategy", "-s", required=True, help="The strategy to sweep.")
@click.option(
    "--grid",
    "-g",
    "grid",
    multiple=True,
    required=True,
    help="KEY=V1,V2,... (repeat for a product grid), e.g. k=1,2,4,8.",
)
@out_option("Output directory.")
@overwrite_option
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=-1,
    show_default=True,
    help="Workers (-1: every core; with --backend dask and no --scheduler, threads of a "
    "local Dask cluster; ignored with --scheduler).",
)
@backend_option("local: joblib processes on this machine; dask: tasks on a Dask cluster")
@scheduler_option
@_strategy_options
@handle_errors
def sweep_command(
    dataset: Path,
    strategy: str,
    grid: tuple[str, ...],
    out_dir: Path,
    overwrite: bool,
    jobs: int,
    backend: str,
    scheduler: str | None,
    initial_equity: float | None,
    on_invalid: str,
    progress: bool | None,
    **given: Any,
) -> None:
    """Run one strategy over a parameter grid in parallel (on this machine or a Dask
    cluster); write OUT/sweep.parquet."""
    import pandas as pd

    from ideaflow.io import write_parquet_atomic
    from ideaflow.strategies.sweep import parse_grid, sweep

    started = time.perf_counter()
    params = _params(given)
    points = parse_grid(grid)
    with run_directory(out_dir, overwrite, dataset) as run:
        ds = load_input(dataset, run.path, initial_equity, on_invalid)
        table = sweep(ds, strategy, points, params, jobs=jobs, backend=backend, scheduler=scheduler)
        write_parquet_atomic(table, run.path / "sweep.parquet")
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(
        f"\nwrote {out_dir}/sweep.parquet ({len(table)} points) in "
        f"{time.perf_counter() - started:.1f} s"
    )


COMMANDS = [compare_command, sweep_command]
