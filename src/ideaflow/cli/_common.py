"""Helpers shared by the click commands: error handling, exit statuses, option parsing.

Exit statuses (docs/contract.md §2): 0 success, 1 internal error, 2 bad input or bad usage.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ideaflow.errors import IdeaflowError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


def handle_errors(func: F) -> F:
    """Report project errors as a message with exit status 2, anything else with status 1.

    Set IDEAFLOW_DEBUG=1 to see the traceback of an internal error.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IdeaflowError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence of the CLI
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
