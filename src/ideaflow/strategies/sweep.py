"""`sweep`: one strategy over a grid of parameters, in parallel on the local cores (joblib)
or on a Dask cluster (`backend="dask"`).

Every grid point runs the strategy and `isolation` with the same parameters (the subjects
depend on `min_ideas` and the equity), so each row carries its uplift over isolation. The
result is one tidy table: the grid's parameters as columns, then the metrics. Both backends
run the same `_run_point` on the same inputs and keep the grid's order, so they give the
same table.
"""

from __future__ import annotations

import itertools
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from ideaflow.data import Dataset
from ideaflow.errors import ParameterError
from ideaflow.stats import relative_uplift
from ideaflow.strategies.cluster import check_backend, dask_client, job_count
from ideaflow.strategies.params import StrategyParams
from ideaflow.strategies.run import StrategyRunner, check_name

_GRID_TYPES = {f.name: f.type for f in fields(StrategyParams)}


def _parse_value(key: str, text: str) -> Any:
    kind = str(_GRID_TYPES[key])
    text = text.strip()
    try:
        if kind.startswith("str"):
            return text
        if kind.startswith("bool"):
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind.startswith("int"):
            return int(text)
        return float(text)
    except ValueError:
        raise ParameterError(f"grid: expected {kind} values for `{key}`; found `{text}`") from None


def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, list[Any]]:
    """`["k=1,2,4", "min_support=-1,0"]` -> `{"k": [1, 2, 4], "min_support": [-1, 0]}`."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"grid: expected KEY=V1,V2,...; found `{item}`")
        key, _, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in _GRID_TYPES or key in ("sharpe_annualization",):
            import difflib

            close = difflib.get_close_matches(key, list(_GRID_TYPES), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ParameterError(
                f"grid: unknown parameter `{key}` (expected one of {', '.join(_GRID_TYPES)}){hint}"
            )
        parsed = [_parse_value(key, v) for v in values.split(",") if v.strip()]
        if not parsed:
            raise ParameterError(f"grid: expected at least one value for `{key}`")
        grid[key] = parsed
    return grid


def _summary(result: Any) -> dict[str, Any]:
    acc = result.accounts
    roi = acc["roi"].to_numpy(dtype=float)
    sharpe = acc["sharpe"].to_numpy(dtype=float)
    return {
        "n_subjects": len(acc),
        "mean_roi": float(roi.mean()) if len(roi) else float("nan"),
        "median_roi": float(np.median(roi)) if len(roi) else float("nan"),
        "total_roi": float(acc["pnl"].sum() / acc["initial_equity"].sum())
        if len(acc)
        else float("nan"),
        "mean_sharpe": float(np.nanmean(sharpe)) if np.isfinite(sharpe).any() else float("nan"),
        "mean_max_drawdown": float(acc["max_drawdown"].mean()) if len(acc) else float("nan"),
        "hit_rate": float(np.mean(roi > 0)) if len(roi) else float("nan"),
        "rejection_rate": float(result.counts.get("rejection_rate", float("nan"))),
        "n_positions": int(result.counts.get("positions", 0)),
        "mean_exposure": float(acc["gross_exposure"].mean()) if len(acc) else float("nan"),
        "mean_roe": float(acc["return_on_exposure"].fillna(0.0).mean())
        if len(acc)
        else float("nan"),
    }


def _run_point(ds: Dataset, name: str, params: StrategyParams) -> dict[str, Any]:
    runner = StrategyRunner(ds, params)
    row = _summary(runner.run(name))
    base = _summary(runner.run("isolation")) if name != "isolation" else dict(row)
    row["isolation_mean_roi"] = base["mean_roi"]
    row["uplift_vs_isolation_pct"] = relative_uplift(row["mean_roi"], base["mean_roi"])
    return row


def sweep(
    ds: Dataset,
    name: str,
    grid: dict[str, list[Any]],
    params: StrategyParams | None = None,
    *,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run `name` at every point of `grid` (a product of parameter lists) in parallel.

    `backend="local"`: joblib worker processes on this machine; `jobs` of them (None or -1:
    every core; 1: in this process). `backend="dask"`: the points are tasks on a Dask
    cluster — the one at `scheduler` (an address such as `tcp://host:8786`; its workers
    need ideaflow installed), or, when `scheduler` is None, a `LocalCluster` of `jobs`
    single-threaded workers, started and closed by this call: threads of this process, or
    processes when Numba's threading layer is not thread-safe (`workqueue`). The dataset
    is shipped to every worker once. Either way the rows come back in the grid's order.
    """
    name = check_name(name)
    base = params if params is not None else StrategyParams()
    if not grid:
        raise ParameterError("grid: expected at least one KEY=V1,V2,... item")
    check_backend(backend, scheduler)
    keys = list(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*grid.values())]
    settings = [base.replace(**point) for point in points]  # validates every point first
    n_jobs = job_count(jobs)
    if backend == "dask":
        rows = _run_dask(ds, name, settings, n_jobs, scheduler)
    elif n_jobs == 1 or len(points) == 1:
        rows = [_run_point(ds, name, p) for p in settings]
    else:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(_run_point)(ds, name, p) for p in settings
        )
    return pd.DataFrame([{"strategy": name, **point, **row} for point, row in zip(points, rows)])


def _run_dask(
    ds: Dataset,
    name: str,
    settings: list[StrategyParams],
    n_jobs: int,
    scheduler: str | None,
) -> list[dict[str, Any]]:
    # start a cluster yourself and pass its address to watch a sweep on its dashboard
    with dask_client(scheduler, n_jobs, at_most=len(settings)) as client:
        # Once to every worker, not once per task: the dataset is the big argument.
        shared = client.scatter(ds, broadcast=True, hash=False)
        futures = client.map(
            _run_point,
            [shared] * len(settings),
            [name] * len(settings),
            settings,
            pure=False,
        )
        rows: list[dict[str, Any]] = client.gather(futures)
    return rows
