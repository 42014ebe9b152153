"""ideaflow: a research backtester for social (copy) trading.

The public API:

- `load_dataset`, `validate_dataset`, `dataset_from_frames`, `write_dataset`: the data contract;
- `backtest`: one strategy on a dataset, returning a `BacktestResult`;
- `compare`, `analyze`: strategies side by side, and the social-learning analytics;
- `experiment`: a comparison (or the tuning experiment) over seeds and a grid, resumable,
  locally or on Dask (docs/experiments.md);
- `save`, `text`: write a result with its figures, or print it as a table;
- `replay`, `ReplayConfig`: the engine itself (docs/contract.md §3-4), on numpy arrays;
- `Dataset`, `DataError`, `ParameterError`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ideaflow import io
    from ideaflow.api import analyze, backtest, compare, experiment, save, text
    from ideaflow.data import Dataset
    from ideaflow.engine import ReplayConfig, replay
    from ideaflow.errors import DataError, ParameterError
    from ideaflow.io import dataset_from_frames, load_dataset, validate_dataset, write_dataset
    from ideaflow.results import BacktestResult

__version__ = version("ideaflow")

# where each public name lives: imported on first use (PEP 562), so that `import
# ideaflow.cli` (every command, `--help` too) does not load the whole library first
_HOMES = {
    "io": "ideaflow",
    "analyze": "ideaflow.api",
    "backtest": "ideaflow.api",
    "compare": "ideaflow.api",
    "experiment": "ideaflow.api",
    "save": "ideaflow.api",
    "text": "ideaflow.api",
    "Dataset": "ideaflow.data",
    "ReplayConfig": "ideaflow.engine",
    "replay": "ideaflow.engine",
    "DataError": "ideaflow.errors",
    "ParameterError": "ideaflow.errors",
    "dataset_from_frames": "ideaflow.io",
    "load_dataset": "ideaflow.io",
    "validate_dataset": "ideaflow.io",
    "write_dataset": "ideaflow.io",
    "BacktestResult": "ideaflow.results",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ideaflow' has no attribute {name!r}")
    value = (
        importlib.import_module(f"ideaflow.{name}")
        if home == "ideaflow"
        else getattr(importlib.import_module(home), name)
    )
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "BacktestResult",
    "DataError",
    "Dataset",
    "ParameterError",
    "ReplayConfig",
    "__version__",
    "analyze",
    "backtest",
    "compare",
    "dataset_from_frames",
    "experiment",
    "io",
    "load_dataset",
    "replay",
    "save",
    "text",
    "validate_dataset",
    "write_dataset",
]
