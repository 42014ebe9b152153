"""Running an experiment: the cells on this machine or on a Dask cluster, written as they
finish, resumable, then the effects across seeds (docs/experiments.md).

Layout of DIR:
- `spec.json`: the canonical spec; a rerun into DIR resumes only with the same spec;
- `cells/cell=NNNNN/part-0.parquet`: one row per strategy of cell NNNNN (a partitioned
  Parquet dataset: read `DIR/cells` with pyarrow.dataset or pandas);
- `subjects/cell=NNNNN/part-0.parquet`: per subject and strategy pair, the paired
  differences (written before the cell's row file, which marks the cell as done);
- `effects.parquet`, `effects_by_seed.parquet`, and what `figures` draws.

Every output depends only on the spec: the cells are computed by the same function
whichever backend runs them, written one file per cell, and the tables at the end are read
back in cell order, so the files are byte-identical across backends and across a resumed
and an uninterrupted run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ideaflow.errors import ParameterError
from ideaflow.experiments.cells import run_comparison_cell, strategy_pairs
from ideaflow.experiments.effects import comparison_effects
from ideaflow.experiments.spec import Cell, ExperimentSpec
from ideaflow.experiments.tuning import run_tuning_cell, tuning_effects
from ideaflow.io.write import write_bytes_atomic, write_parquet_atomic
from ideaflow.strategies.cluster import check_backend, dask_client, job_count

PART = "part-0.parquet"

# figures(result, out_dir) -> written paths (the reporting layer draws them)
ExperimentFigures = Callable[["ExperimentResult", Path], list[Path]]


@dataclass
class ExperimentResult:
    """The cells' rows, the per-seed effects and the effects across seeds."""

    spec: ExperimentSpec
    cells: pd.DataFrame
    per_seed: pd.DataFrame
    effects: pd.DataFrame
    n_run: int  # cells computed by this call (the others were already in DIR)
    out_dir: Path


def run_cell(spec: ExperimentSpec, cell: Cell) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """One cell (the task the backends run): (index, its rows, its per-subject rows)."""
    if spec.kind == "tuning":
        rows, subjects = run_tuning_cell(spec, cell)
    else:
        rows, subjects = run_comparison_cell(spec, cell)
    return cell.index, rows, subjects


def _check_out(spec: ExperimentSpec, out: Path) -> None:
    """Write DIR/spec.json, or refuse a DIR holding another spec's cells."""
    path = out / "spec.json"
    text = spec.canonical()
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old != json.loads(text):
            new = json.loads(text)
            keys = sorted(k for k in set(new) | set(old or {}) if (old or {}).get(k) != new.get(k))
            raise ParameterError(
                f"out: {str(out)!r} holds the cells of another experiment spec (differs in "
                f"{', '.join(keys) or 'spec.json'}); use a new directory or the same spec"
            )
        return
    if (out / "cells").exists():
        raise ParameterError(f"out: {str(out)!r} has cells/ but no spec.json; use a new directory")
    others = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if others:
        raise ParameterError(
            f"out: {str(out)!r} holds {len(others)} entries that are no experiment of ideaflow "
            f"(e.g. {', '.join(others[:3])}); an experiment starts in a new or empty directory"
        )
    write_bytes_atomic(text.encode("utf-8"), path)


def _done(out: Path, cell: Cell) -> bool:
    return (out / "cells" / cell.name / PART).exists()


def _write_cell(out: Path, cell: Cell, rows: pd.DataFrame, subjects: pd.DataFrame) -> None:
    # the per-subject rows first: the cell's row file marks the cell as finished
    write_parquet_atomic(subjects, out / "subjects" / cell.name / PART)
    write_parquet_atomic(rows, out / "cells" / cell.name / PART)


def _local(spec: ExperimentSpec, cells: list[Cell], jobs: int) -> Iterator[tuple]:
    if jobs == 1 or len(cells) <= 1:
        for cell in cells:
            yield run_cell(spec, cell)
        return
    n_jobs = jobs if jobs > 0 else -1
    yield from Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
        delayed(run_cell)(spec, cell) for cell in cells
    )


def _dask(
    spec: ExperimentSpec, cells: list[Cell], jobs: int, scheduler: str | None
) -> Iterator[tuple]:
    with dask_client(scheduler, jobs, at_most=len(cells)) as client:
        from dask.distributed import as_completed  # importable: dask_client checked

        # a task carries its cell and the (small) spec; the dataset is built or loaded
        # on the worker and cached there (experiments.cells), once per worker
        futures = [client.submit(run_cell, spec, cell, pure=False) for cell in cells]
        try:
            for future in as_completed(futures):
                yield future.result()
                future.release()
        finally:
            client.cancel(futures)


def _read_parts(root: Path, cells: list[Cell]) -> pd.DataFrame:
    tables = [pq.read_table(root / cell.name / PART).to_pandas() for cell in cells]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    *,
    backend: str = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    figures: ExperimentFigures | None = None,
) -> ExperimentResult:
    """Run the cells of `spec` not yet in `out_dir`, then the effects across seeds.

    `backend="local"`: in this process (`jobs=1`) or `jobs` joblib processes (None or -1:
    every core); `backend="dask"`: tasks on the cluster at `scheduler`, or on a
    `LocalCluster` of `jobs` single-threaded workers started for the run.
    """
    check_backend(backend, scheduler)
    n_jobs = job_count(jobs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_out(spec, out)
    cells = spec.cells()
    todo = [c for c in cells if not _done(out, c)]
    by_index = {c.index: c for c in cells}
    bar = tqdm(
        total=len(cells),
        initial=len(cells) - len(todo),
        desc="cells",
        unit="cell",
        disable=not progress,
    )
    try:
        if todo:
            stream = (
                _dask(spec, todo, n_jobs, scheduler)
                if backend == "dask"
                else _local(spec, todo, n_jobs)
            )
            for index, rows, subjects in stream:
                _write_cell(out, by_index[index], rows, subjects)
                bar.update(1)
    finally:
        bar.close()
    table = _read_parts(out / "cells", cells)
    settings = [k for k in spec.key_columns if k != "seed"]
    if spec.kind == "tuning":
        per_seed, effects = tuning_effects(table, settings)
    else:
        per_seed, effects = comparison_effects(table, settings, strategy_pairs(spec.strategies))
    write_parquet_atomic(per_seed, out / "effects_by_seed.parquet")
    write_parquet_atomic(effects, out / "effects.parquet")
    result = ExperimentResult(spec, table, per_seed, effects, len(todo), out)
    if figures is not None:
        figures(result, out)
    return result
