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

from importlib.metadata import version

from ideaflow import io
from ideaflow.api import analyze, backtest, compare, experiment, save, text
from ideaflow.data import Dataset
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import DataError, ParameterError
from ideaflow.io import dataset_from_frames, load_dataset, validate_dataset, write_dataset
from ideaflow.results import BacktestResult

__version__ = version("ideaflow")

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
