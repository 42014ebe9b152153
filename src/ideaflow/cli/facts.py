"""`ideaflow facts`: the stylized facts of a platform beside the published values."""

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
)


@click.command("facts")
@dataset_argument
@out_option("Output directory (facts.json, facts.png).")
@overwrite_option
@click.option("--n-boot", type=int, default=200, show_default=True, help="Bootstrap replicates.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstraps.")
@click.option(
    "--min-tail",
    type=int,
    default=50,
    show_default=True,
    help="Fewest traders in the fitted tail of the follower in-degree.",
)
@period_days_option
@input_options(default_equity=10_000.0)
@handle_errors
def facts_command(
    dataset: Path,
    out_dir: Path,
    overwrite: bool,
    initial_equity: float,
    on_invalid: str,
    progress: bool | None,
    n_boot: int,
    seed: int,
    min_tail: int,
    period_days: float,
) -> None:
    """Measure the stylized facts of DATASET (losing share, ROI, copy share, follower
    tail, concentration, holding times, leverage, frequency, popularity, exploration),
    print them beside the published values and write facts.json and facts.png to OUT."""
    from ideaflow.analytics.facts import facts
    from ideaflow.api import save, text

    started = time.perf_counter()
    with run_directory(out_dir, overwrite, dataset) as run:
        ds = load_input(dataset, run.path, initial_equity, on_invalid)
        result = facts(ds, n_boot=n_boot, seed=seed, min_tail=min_tail, period_days=period_days)
        save(result, run.path)
    click.echo(text(result))
    written = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
    click.echo(
        f"\nwrote {out_dir}/ ({', '.join(written)}) in {time.perf_counter() - started:.1f} s"
    )
