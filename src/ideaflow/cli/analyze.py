"""`ideaflow analyze`: measure the social-learning effects of docs/contract.md §6 on a dataset."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ideaflow.cli._common import handle_errors, run_directory
from ideaflow.cli.options import (
    dataset_argument,
    input_options,
    load_input,
    out_option,
    overwrite_option,
    period_days_option,
    report_option,
    resolve_progress,
)


@click.command("analyze")
@dataset_argument
@out_option("Output directory (traders.parquet, findings.json, PNG plots).")
@overwrite_option
@click.option(
    "--window-hours",
    type=float,
    default=24.0,
    show_default=True,
    help="Idea flow: how long before a trade a leader's matching trade counts.",
)
@click.option("--bins", type=int, default=10, show_default=True, help="Bins of the binned fits.")
@click.option(
    "--binning",
    type=click.Choice(["quantile", "uniform"]),
    default="quantile",
    show_default=True,
    help="Equal-count (quantile) or equal-width bins.",
)
@click.option(
    "--leaders",
    type=click.Choice(["ever", "end"]),
    default="ever",
    show_default=True,
    help="Leader set for diversity and tie density: everyone ever followed, or at the end.",
)
@period_days_option
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap replicates.")
@click.option(
    "--null",
    type=click.Choice(["shift", "shuffle"]),
    default="shift",
    show_default=True,
    help="Chance baseline of idea flow: time-shifted leader trades or shuffled leaders.",
)
@click.option(
    "--n-null", type=int, default=20, show_default=True, help="Replicates of the idea-flow null."
)
@click.option(
    "--n-perm",
    type=int,
    default=1000,
    show_default=True,
    help="Permutations of the selection-aware best-bin test.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstraps.")
@input_options(default_equity=10_000.0)
@report_option
@handle_errors
def analyze_command(
    dataset: Path,
    out_dir: Path,
    report: bool,
    overwrite: bool,
    initial_equity: float,
    on_invalid: str,
    progress: bool | None,
    **params: object,
) -> None:
    """Measure idea flow, diversity, echo chambers, popularity, exploration and the
    inverted U on DATASET; print the findings and write them to OUT."""
    from ideaflow.analytics import analyze
    from ideaflow.api import save, text, write_report

    progress = resolve_progress(progress)
    started = time.perf_counter()
    with run_directory(out_dir, overwrite, dataset) as run:
        ds = load_input(dataset, run.path, initial_equity, on_invalid)
        loaded = time.perf_counter()
        result = analyze(ds, progress=progress, **params)  # type: ignore[arg-type]
        result.timings = {"load": round(loaded - started, 4), **result.timings}
        save(result, run.path)
    click.echo(text(result))
    written = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
    click.echo(
        f"\nwrote {out_dir}/ ({', '.join(written)}) in {time.perf_counter() - started:.1f} s"
    )
    if report:
        click.echo(f"report: {write_report(out_dir)}")
