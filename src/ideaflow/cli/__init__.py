"""The `ideaflow` command line: thin click wrappers over the public API.

Each command lives in its own module of this package and is registered here.
"""

from __future__ import annotations

from typing import Any

import click

from ideaflow import __version__
from ideaflow.cli._common import ARGV_KEY
from ideaflow.io.rundir import signals_as_interrupts


class _Group(click.Group):
    """A group whose usage errors exit with status 2 (click's default) and no traceback.

    It keeps the command line (for the manifest of a run directory) and, while a command
    runs, turns SIGTERM into an interrupt, so the command cleans up as on Ctrl-C.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV_KEY] = ["ideaflow", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with signals_as_interrupts():
            return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ideaflow")
def main() -> None:
    """ideaflow: a research backtester for social (copy) trading.

    Replay copy-trading logs over a follower graph, compare idea-flow strategies
    walk-forward, and measure social-learning effects. See README.md and docs/contract.md.
    """


def _register() -> None:
    from ideaflow.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
