"""Helpers shared by the click commands: error handling, exit statuses, run directories.

Exit statuses (docs/contract.md §2): 0 success, 1 internal error, 2 bad input or bad usage; an
interrupted command exits with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import functools
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ideaflow.errors import IdeaflowError
from ideaflow.io.rundir import (
    RunDirectory,
    dropped_interrupt,
    interrupt_of,
    interrupt_signal,
    signals_received,
)
from ideaflow.results import versions

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
ARGV_KEY = "ideaflow.argv"


def command_line() -> list[str]:
    """The command line being run (`ideaflow` and its arguments), for the manifest."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get(ARGV_KEY) if ctx is not None else None
    return list(argv) if argv else ["ideaflow", *sys.argv[1:]]


def run_directory(
    out_dir: Path,
    overwrite: bool,
    dataset: Path | None = None,
    summary: dict[str, Any] | None = None,
) -> RunDirectory:
    """The run directory OUT of a command (`ideaflow.io.rundir`): written into a staging
    sibling, with this command line and DATASET in its manifest, swapped in at the end.
    summary.json gets the library versions (and `summary`) besides what the command
    writes into it."""
    return RunDirectory(
        out_dir,
        overwrite=overwrite,
        command=command_line(),
        dataset=dataset,
        summary={"versions": versions(), **(summary or {})},
    )


def _interrupted(exc: KeyboardInterrupt) -> None:
    """Say which signal stopped the command (and what became of OUT); exit 128 + signum."""
    signum = int(interrupt_signal(exc))
    name = signal.Signals(signum).name
    lines = [f"interrupted by {name}" + (" (Ctrl-C)" if name == "SIGINT" else "")]
    lines += getattr(exc, "__notes__", [])
    click.echo("\n".join(lines), err=True)
    sys.exit(128 + signum)


def handle_errors(func: F) -> F:
    """Report project errors as a message with exit status 2, anything else with status 1.

    Set IDEAFLOW_DEBUG=1 to see the traceback of an internal error.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        received = signals_received()
        try:
            return func(*args, **kwargs)
        except IdeaflowError as exc:
            # an error that an interrupt turned into (a read cut short) is the interrupt
            interrupt = interrupt_of(exc) or dropped_interrupt(received)
            if interrupt is not None:
                _interrupted(interrupt)
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt as exc:
            _interrupted(exc)
        except Exception as exc:  # noqa: BLE001 - the last line of defence of the CLI
            interrupt = interrupt_of(exc) or dropped_interrupt(received)
            if interrupt is not None:
                _interrupted(interrupt)
            import os

            if os.environ.get("IDEAFLOW_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "(this is a bug in ideaflow; rerun with IDEAFLOW_DEBUG=1 for the traceback)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]
