"""`ideaflow validate`: check a dataset against the data contract (docs/contract.md §2, §7)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from ideaflow.cli._common import EXIT_BAD_INPUT, handle_errors, run_directory
from ideaflow.cli.options import overwrite_option
from ideaflow.io.report import ValidationReport


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
@overwrite_option
@handle_errors
def validate_command(dataset: Path, on_invalid: str, out_dir: Path | None, overwrite: bool) -> None:
    """Check DATASET (a directory of Parquet tables) and print every problem found."""
    from ideaflow.io import validate_dataset

    if on_invalid == "quarantine" and out_dir is None:
        raise click.UsageError("--on-invalid quarantine needs --out DIR")
    if on_invalid != "quarantine" or out_dir is None:
        report = validate_dataset(dataset, on_invalid=on_invalid, quarantine_dir=None)
        click.echo(report.to_text())
        if not report.ok:
            sys.exit(EXIT_BAD_INPUT)
        return
    # OUT is a run directory (docs/outputs.md): written as a unit, or not at all
    with run_directory(out_dir, overwrite, dataset) as run:
        report = validate_dataset(
            dataset, on_invalid=on_invalid, quarantine_dir=run.path / "quarantine"
        )
        if _unusable(report):
            click.echo(report.to_text())
            sys.exit(EXIT_BAD_INPUT)  # leaves the run directory: nothing is written
        run.summary["validation"] = {
            "source": report.source,
            "rows_read": report.rows,
            "quarantined": report.quarantined,
            "quarantine_reasons": report.quarantine_reasons,
        }
        staging = run.path
    final = tuple(str(out_dir / Path(f).relative_to(staging)) for f in report.quarantine_files)
    click.echo(dataclasses.replace(report, quarantine_files=final).to_text())


def _unusable(report: ValidationReport) -> bool:
    """Problems that quarantine could not resolve (nothing was quarantined)."""
    return not report.ok and not report.quarantine_files and not any(report.quarantined.values())
