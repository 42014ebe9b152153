"""The data contract (docs/contract.md §2): reading, validating, quarantining and writing datasets.

Modules: `schema` (column specifications), `read` (files, partitioned directories and
frames), `columns` (type checks and normalisation), `validate` (the rules), `report`
(violations and `ValidationReport`), `quarantine`, `convert` (-> `Dataset`), `write`
(atomic, deterministic writers) and `load` (the entry points below).
"""

from __future__ import annotations

from ideaflow.io.load import dataset_from_frames, load_dataset, validate_dataset
from ideaflow.io.report import ValidationReport
from ideaflow.io.schema import TABLE_NAMES, TABLES, arrow_schema
from ideaflow.io.write import write_dataset, write_json_atomic, write_parquet_atomic

__all__ = [
    "TABLES",
    "TABLE_NAMES",
    "ValidationReport",
    "arrow_schema",
    "dataset_from_frames",
    "load_dataset",
    "validate_dataset",
    "write_dataset",
    "write_json_atomic",
    "write_parquet_atomic",
]
