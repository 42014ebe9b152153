"""`ideaflow validate`: check a dataset against the data contract (docs/contract.md §2, §7)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ideaflow.cli._common import EXIT_BAD_INPUT, handle_errors


@click.command("validate")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--on-invalid",
    type=click.Choice(["error", "quarantine"]),
    default="error",
    show_default=True,
    help="error: report problems and exit 2; quarantine: write offending rows to "
    "OUT/quarantine/TABLE.parquet and exit 0.",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (required with --on-invalid quarantine).",
)
@handle_errors
def validate_command(dataset: Path, on_invalid: str, out_dir: Path | None) -> None:
    """Check DATASET (a directory of Parquet tables) and print every problem found."""
    from ideaflow.io import validate_dataset

    if on_invalid == "quarantine" and out_dir is None:
        raise click.UsageError("--on-invalid quarantine needs --out DIR")
    quarantine_dir = out_dir / "quarantine" if out_dir is not None else None
    report = validate_dataset(
        dataset,
        on_invalid=on_invalid,
        quarantine_dir=quarantine_dir if on_invalid == "quarantine" else None,
    )
    click.echo(report.to_text())
    if not report.ok and not report.quarantine_files and not any(report.quarantined.values()):
        sys.exit(EXIT_BAD_INPUT)
