"""`ideaflow generate` (a synthetic platform) and `ideaflow demo` (the Quick start).

Thin wrappers: the work is done by `ideaflow.synth.generate` and `ideaflow.api.demo`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ideaflow.cli._common import handle_errors


def _progress_default(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


@click.command("generate")
@click.option(
    "--preset",
    default="small",
    show_default=True,
    help="tiny, small, medium, etoro2011 or calibrated (see datasets/README.md).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dataset directory to write (contract tables + truth/).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a parameter of the preset (repeatable), e.g. --set cluster_error=0.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: on when stderr is a terminal).",
)
@handle_errors
def generate_command(
    preset: str, seed: int, out: Path, settings: tuple[str, ...], progress: bool | None
) -> None:
    """Generate a synthetic social-trading platform as a dataset directory."""
    from ideaflow.synth import generate, parse_overrides

    overrides = parse_overrides(settings)
    platform = generate(
        preset, seed=seed, out=out, overrides=overrides, progress=_progress_default(progress)
    )
    counts = platform.counts
    click.echo(f"wrote {out} (preset {platform.preset}, seed {seed})")
    for name in ("traders", "original_trades", "copied_trades", "trades", "follows", "price_bars"):
        click.echo(f"  {name:<16}{counts[name]:>12,}")
    click.echo(f"  ground truth in {out / 'truth'}")


@click.command("demo")
@click.option(
    "--out",
    "-o",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the dataset and results  [default: a new temporary directory].",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed.")
@click.option("--preset", default="small", show_default=True, help="Platform preset to generate.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bars (default: on when stderr is a terminal).",
)
@handle_errors
def demo_command(out: Path | None, seed: int, preset: str, progress: bool | None) -> None:
    """Generate the `small` platform and run the headline comparison (the Quick start)."""
    from ideaflow.api.demo import run_demo

    run_demo(out, seed=seed, preset=preset, progress=_progress_default(progress), echo=click.echo)
