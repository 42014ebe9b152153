"""`ideaflow verify`: check a run directory against the manifest in its summary.json."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ideaflow.cli._common import EXIT_BAD_INPUT, handle_errors
from ideaflow.io.manifest import verify_run


@click.command("verify")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--inputs/--no-inputs",
    default=False,
    show_default=True,
    help="Also check that the input tables recorded in the manifest are unchanged.",
)
@handle_errors
def verify_command(run_dir: Path, inputs: bool) -> None:
    """Check RUN_DIR against its manifest: every file listed is present with its size and
    SHA-256, and nothing else is there. Exit 0 when it matches, 2 naming what is missing,
    extra or changed (summary.json holds the manifest and is not hashed itself)."""
    report = verify_run(run_dir, inputs=inputs)
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(EXIT_BAD_INPUT)
