"""`ideaflow bench`: time the mirror replay on a random platform of a given size."""

from __future__ import annotations

from pathlib import Path

import click

from ideaflow.cli._common import handle_errors


@click.command("bench")
@click.option("--trades", type=click.IntRange(min=1), default=1_000_000, show_default=True)
@click.option("--traders", type=click.IntRange(min=2), default=160_000, show_default=True)
@click.option("--follows", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--depth", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the random platform and outputs go (reused when present).",
)
@handle_errors
def bench_command(
    trades: int,
    traders: int,
    follows: int,
    depth: int,
    seed: int,
    repeats: int,
    workdir: Path | None,
) -> None:
    """Build a random platform and time load, validate, replay, metrics and write."""
    from ideaflow.api.bench import run_bench
    from ideaflow.reporting.text import fmt_number, format_rows

    click.echo(
        f"building/reusing a platform of {trades:,} trades, {traders:,} traders, "
        f"{follows:,} follows (seed {seed}) ...",
        err=True,
    )
    res = run_bench(
        trades,
        traders,
        follows,
        seed=seed,
        depth=depth,
        workdir=workdir,
        repeats=repeats,
        progress=True,
    )
    rows = [(f"stage: {k}", f"{v:.3f} s") for k, v in res["stages_s"].items()]
    rows += [
        ("copies generated", fmt_number(res["copies"], "int")),
        ("trades per second (end to end)", fmt_number(res["trades_per_s"], "int")),
        ("peak RSS", f"{res['peak_rss_gib']:.2f} GiB"),
        ("dataset", res["dataset"]),
    ]
    click.echo(format_rows(rows, "ideaflow bench: mirror replay"))
