"""docs/contract.md §5 strategies: walk-forward policies per subject, their comparison and sweeps.

- `run_strategy(ds, name, params)` -> `ideaflow.results.BacktestResult`
- `compare(ds, names, params, out_dir)` -> `ComparisonResult`
- `sweep(ds, name, grid, params)` -> tidy DataFrame
- `subject_positions` / `subject_decisions` / `expand_shared`: one subject's own rows
  where copy strategies share an account

See docs/strategies.md for the semantics and the documented choices.
"""

from __future__ import annotations

from ideaflow.strategies.compare import ComparisonResult, compare
from ideaflow.strategies.params import StrategyParams
from ideaflow.strategies.run import STRATEGIES, StrategyRunner, run_strategy
from ideaflow.strategies.shared import (
    expand_shared,
    subject_decisions,
    subject_positions,
    write_expanded,
)
from ideaflow.strategies.sweep import parse_grid, sweep

__all__ = [
    "STRATEGIES",
    "ComparisonResult",
    "StrategyParams",
    "StrategyRunner",
    "compare",
    "expand_shared",
    "parse_grid",
    "run_strategy",
    "subject_decisions",
    "subject_positions",
    "sweep",
    "write_expanded",
]
