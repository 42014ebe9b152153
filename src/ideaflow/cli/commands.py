"""The list of commands the `ideaflow` group offers (one module per command family)."""

from __future__ import annotations

import click

from ideaflow.cli.backtest import backtest_command

ALL: list[click.Command] = [backtest_command]
