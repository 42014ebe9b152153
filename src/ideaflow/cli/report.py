"""`ideaflow report`: one self-contained HTML page of a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from ideaflow.cli._common import handle_errors


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the page (default: RUN_DIR/report.html).",
)
@handle_errors
def report_command(run_dir: Path, out_file: Path | None) -> None:
    """Write one HTML page of RUN_DIR (a backtest, compare or analyze output): what was
    run, the tables and the figures inline; it opens offline and prints."""
    from ideaflow.api import write_report

    click.echo(f"report: {write_report(run_dir, out_file)}")
