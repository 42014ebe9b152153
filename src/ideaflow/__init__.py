"""ideaflow: a research backtester for social (copy) trading.

The public API:

- `load_dataset`, `validate_dataset`, `dataset_from_frames`, `write_dataset`: the data contract;
- `backtest`: one strategy on a dataset, returning a `BacktestResult` of DataFrames;
- `replay`, `ReplayConfig`: the engine itself (SPEC §3-4), on numpy arrays;
- `Dataset`, `DataError`, `ParameterError`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ideaflow import io
from ideaflow.api import backtest
from ideaflow.data import Dataset
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import DataError, ParameterError
from ideaflow.io import dataset_from_frames, load_dataset, validate_dataset, write_dataset
from ideaflow.results import BacktestResult

__all__ = [
    "BacktestResult",
    "DataError",
    "Dataset",
    "ParameterError",
    "ReplayConfig",
    "__version__",
    "backtest",
    "dataset_from_frames",
    "io",
    "load_dataset",
    "replay",
    "validate_dataset",
    "write_dataset",
]
