"""`ideaflow backtest`: run one strategy on a dataset and write its results (docs/contract.md §7)."""

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
    report_option,
    resolve_progress,
    strategy_options,
)


@click.command("backtest")
@dataset_argument
@click.option(
    "--strategy",
    "-s",
    required=True,
    help="actual, mirror, isolation, herd, top, random, diverse, echo, popular, expert, "
    "diverse-random or placebo.",
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
@report_option
@click.option(
    "--expand-shared",
    is_flag=True,
    default=False,
    help="Also write every subject's own positions and decisions (trades_by_subject.parquet, "
    "decisions_by_subject.parquet), where copy strategies keep one shared account.",
)
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
    report: bool,
    expand_shared: bool,
    progress: bool | None,
    **params: object,
) -> None:
    """Backtest one strategy on DATASET and write trades, accounts, summary and plots to OUT."""
    from ideaflow.api import backtest, text, write_report
    from ideaflow.strategies.shared import write_expanded

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
        if expand_shared:
            write_expanded(result, run.path)
    click.echo(text(result))
    written = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.suffix != ".png")
    click.echo(
        f"\nwrote {out_dir}/ ({', '.join(written)}"
        + (", plots" if plots else "")
        + f") in {time.perf_counter() - started:.1f} s"
    )
    if report:
        click.echo(f"report: {write_report(out_dir)}")
