"""Click options shared by several commands, declared once.

`strategy_options` are the StrategyParams of docs/contract.md §5 (None = the library default, so the
defaults live in one place: `ideaflow.strategies.StrategyParams`); `input_options` are
how a dataset is read (initial equity, bad rows, progress bars).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ideaflow.data import DEFAULT_ANNUALIZATION

F = Callable[..., Any]


def _apply(options: list[Callable[[F], F]], func: F) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def dataset_argument(func: F) -> F:
    return click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))(
        func
    )


def out_option(help_text: str = "Output directory.") -> Callable[[F], F]:
    return click.option(
        "--out",
        "-o",
        "out_dir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=help_text,
    )


report_option = click.option(
    "--report/--no-report",
    default=False,
    show_default=True,
    help="Also write OUT/report.html: one self-contained page with the tables and figures.",
)


def overwrite_option(func: F) -> F:
    return click.option(
        "--overwrite",
        is_flag=True,
        default=False,
        help="Replace OUT when it holds an earlier ideaflow run (as a whole). A directory "
        "holding anything else is never replaced.",
    )(func)


period_days_option = click.option(
    "--period-days",
    type=float,
    default=30.0,
    show_default=True,
    help="Period of the popularity-vs-performance panel.",
)

scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Dask scheduler to use with --backend dask, e.g. tcp://host:8786  "
    "[default: a local cluster for the run].",
)


def backend_option(help_text: str) -> Callable[[F], F]:
    """--backend local|dask, with what each means for the command."""
    return click.option(
        "--backend",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help=help_text + ' (dask: pip install "ideaflow[dask]").',
    )


def strategy_options(func: F) -> F:
    """The StrategyParams options shared by backtest, compare and sweep."""
    return _apply(
        [
            click.option(
                "--k",
                "k",
                type=click.IntRange(min=1),
                default=None,
                help="Leaders (herd/top/random) or evaluators (diverse/echo) per subject"
                "  [default: 5].",
            ),
            click.option(
                "--lookback",
                "lookback_days",
                type=float,
                default=None,
                help="Trailing window for styles and performance, days  [default: 90].",
            ),
            click.option(
                "--rebalance",
                "rebalance_days",
                type=float,
                default=None,
                help="Days between re-decisions  [default: 30].",
            ),
            click.option(
                "--window",
                "window_hours",
                type=float,
                default=None,
                help="Vote window before an idea, hours  [default: 24].",
            ),
            click.option(
                "--min-support",
                type=int,
                default=None,
                help="Net votes needed to take an idea  [default: 0].",
            ),
            click.option(
                "--min-ideas",
                type=click.IntRange(min=1),
                default=None,
                help="Original trades a trader needs to be a subject  [default: 10].",
            ),
            click.option(
                "--min-history",
                type=click.IntRange(min=1),
                default=None,
                help="Closed trades in the lookback a candidate needs  [default: 5].",
            ),
            click.option(
                "--n-clusters",
                type=click.IntRange(min=1),
                default=None,
                help="Style clusters  [default: max(2k, 4)].",
            ),
            click.option(
                "--size-by-support/--no-size-by-support",
                default=None,
                help="Scale a taken idea by its support.",
            ),
            click.option("--seed", type=int, default=None, help="Seed  [default: 0]."),
            click.option(
                "--recommend-allocation",
                type=float,
                default=None,
                help="recommend strategies: share of the initial equity copying the "
                "recommended leader  [default: 0.1].",
            ),
            click.option(
                "--exposure",
                type=click.Choice(["as-logged", "matched"]),
                default=None,
                help="as-logged: positions at the size decided; matched: each subject's "
                "positions rescaled to its gross exposure under isolation, a measurement "
                "normalisation, not a tradable policy  [default: as-logged].",
            ),
            click.option(
                "--sharpe-factor",
                "sharpe_annualization",
                type=float,
                default=DEFAULT_ANNUALIZATION,
                show_default=True,
                help="Annualisation factor of the daily Sharpe ratio.",
            ),
        ],
        func,
    )


def input_options(default_equity: float | None = None) -> Callable[[F], F]:
    """--initial-equity, --on-invalid and --progress."""
    equity_help = "Starting equity of traders missing from `accounts`"
    if default_equity is None:
        equity_help += "  [default: 10000]."

    def decorate(func: F) -> F:
        return _apply(
            [
                click.option(
                    "--initial-equity",
                    type=float,
                    default=default_equity,
                    show_default=default_equity is not None,
                    help=equity_help,
                ),
                click.option(
                    "--on-invalid",
                    type=click.Choice(["error", "quarantine"]),
                    default="error",
                    show_default=True,
                    help="Stop on bad rows, or write them to OUT/quarantine/ and go on.",
                ),
                click.option(
                    "--progress/--no-progress",
                    default=None,
                    help="Progress bars (default: on when stderr is a terminal).",
                ),
            ],
            func,
        )

    return decorate


def resolve_progress(progress: bool | None) -> bool:
    """Progress bars by default only when a person is watching (stderr is a terminal)."""
    return sys.stderr.isatty() if progress is None else progress


def load_input(dataset: Path, out_dir: Path, initial_equity: float | None, on_invalid: str):
    """Read and validate DATASET; quarantined rows go to OUT/quarantine/."""
    from ideaflow.data import DEFAULT_INITIAL_EQUITY
    from ideaflow.io import load_dataset

    return load_dataset(
        dataset,
        on_invalid=on_invalid,
        quarantine_dir=out_dir / "quarantine",
        initial_equity=DEFAULT_INITIAL_EQUITY if initial_equity is None else initial_equity,
    )
