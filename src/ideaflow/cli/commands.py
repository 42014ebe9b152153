"""The list of commands the `ideaflow` group offers (one module per command family)."""

from __future__ import annotations

import click

from ideaflow.cli.analyze import analyze_command
from ideaflow.cli.backtest import backtest_command
from ideaflow.cli.bench import bench_command
from ideaflow.cli.compare import COMMANDS as COMPARE_COMMANDS
from ideaflow.cli.experiment import experiment_command
from ideaflow.cli.facts import facts_command
from ideaflow.cli.generate import demo_command, generate_command
from ideaflow.cli.report import report_command
from ideaflow.cli.validate import validate_command
from ideaflow.cli.verify import verify_command

ALL: list[click.Command] = [backtest_command, bench_command]
ALL.extend([validate_command, verify_command])
ALL.extend(COMPARE_COMMANDS)
ALL.append(experiment_command)
ALL.extend([generate_command, demo_command])
ALL.extend([analyze_command, facts_command, report_command])
