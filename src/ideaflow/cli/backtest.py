"""`ideaflow backtest`: run one strategy on a dataset and write its results (SPEC §7)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ideaflow.cli._common import handle_errors, run_directory
from ideaflow.cli.options import (
    dataset_argument,
    input_options,
    out_option,
    overwrite_option,
    resolve_progress,
    strategy_options,
)


@click.command("backtest")
@dataset_argument
@click.option(
    "--strategy",
    "-s",
    required=True,
    help="actual, mirror, isolation, herd, top, random, diverse, echo or placebo.",
)
@out_option()
@overwrite_option
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Copy depth: 1 copies originals only; d copies copies up to d hops.",
)
@strategy_options
@input_options()
@click.option("--plots/--no-plots", default=True, show_default=True, help="Save PNG plots.")
@handle_errors
def backtest_command(
    dataset: Path,
    strategy: str,
    out_dir: Path,
    overwrite: bool,
    depth: int,
    initial_equity: float | None,
    sharpe_annualization: float,
    on_invalid: str,
    plots: bool,
    progress: bool | None,
    **params: object,
) -> None:
    """Backtest one strategy on DATASET and write trades, accounts, summary and plots to OUT."""
    from ideaflow.api import backtest

    started = time.perf_counter()
    with run_directory(out_dir, overwrite, dataset) as run:
        result = backtest(
            dataset,
            strategy,
            depth=depth,
            initial_equity=initial_equity,
            sharpe_annualization=sharpe_annualization,
            on_invalid=on_invalid,
            quarantine_dir=run.path / "quarantine",
            progress=resolve_progress(progress),
            out=run.path,
            plots=plots,
            **params,
        )
    click.echo(result.summary_table())
    written = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.suffix != ".png")
    click.echo(
        f"\nwrote {out_dir}/ ({', '.join(written)}"
        + (", plots" if plots else "")
        + f") in {time.perf_counter() - started:.1f} s"
    )
