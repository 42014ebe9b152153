"""One cell of an experiment: its dataset (built or loaded once per process) and its
comparison, as two tables (one row per strategy; one row per subject and strategy pair).

A task carries only the cell and the spec: the dataset is built where the task runs — a
platform draw generated from its seed, or a dataset loaded from its path — and kept in a
small per-process cache, so a worker builds or loads each dataset once however many cells
it runs on it (nothing large travels with a task).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from ideaflow.data import DEFAULT_INITIAL_EQUITY, Dataset
from ideaflow.experiments.spec import Cell, ExperimentSpec
from ideaflow.io import dataset_from_frames, load_dataset
from ideaflow.strategies import compare
from ideaflow.synth import generate

# datasets kept per process: one per worker thread of a local Dask cluster is enough
CACHE_SIZE = 2
_cache: OrderedDict[tuple, Dataset] = OrderedDict()
_lock = threading.Lock()
# how many datasets this process built or loaded (tests check the once-per-worker rule)
BUILT: list[tuple] = []


def source_key(spec: ExperimentSpec, cell: Cell) -> tuple:
    """What identifies a cell's dataset: the path, or (preset, seed, overrides)."""
    if spec.dataset is not None:
        return ("dataset", spec.dataset, spec.initial_equity)
    return ("platform", spec.preset, cell.seed, tuple(sorted(cell.overrides.items())))


def datasets_built() -> list[tuple]:
    """The source keys this process built or loaded, in order (run on every Dask worker
    with `client.run(datasets_built)` to see that each worker built each dataset once)."""
    return list(BUILT)


def kernel_cache_stats() -> dict[str, int]:
    """Numba on-disk cache use of ideaflow's kernels in this process: `hits` (compiled
    code loaded from the cache) and `misses` (compiled here). Run on Dask workers with
    `client.run(kernel_cache_stats)` to see that they load the kernels, not compile them."""
    hits = misses = 0
    for name in [n for n in list(sys.modules) if n.startswith("ideaflow.kernels.")]:
        for obj in vars(sys.modules[name]).values():
            stats = getattr(obj, "stats", None)
            if stats is not None and hasattr(stats, "cache_hits"):
                hits += sum(stats.cache_hits.values())
                misses += sum(stats.cache_misses.values())
    return {"hits": hits, "misses": misses}


def build_dataset(key: tuple) -> Dataset:
    """The dataset a source key names (not cached)."""
    if key[0] == "dataset":
        equity = key[2] if key[2] is not None else DEFAULT_INITIAL_EQUITY
        return load_dataset(key[1], initial_equity=equity)
    _, preset, seed, overrides = key
    platform = generate(preset, seed=seed, overrides=dict(overrides))
    return dataset_from_frames(
        platform.trades, platform.follows, platform.prices, platform.accounts
    )


def cached_dataset(key: tuple) -> Dataset:
    """The dataset of `key`, built at most once per process while it stays in the cache."""
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        ds = build_dataset(key)
        BUILT.append(key)
        _cache[key] = ds
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return ds


PAIR_COLUMNS = [
    "strategy_a",
    "strategy_b",
    "trader_id",
    "roi_a",
    "roi_b",
    "roi_diff",
    "roe_a",
    "roe_b",
    "roe_diff",
]


def strategy_pairs(names: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(a, b) for every strategy a listed after b: the effect of a over b."""
    return [(names[j], names[i]) for i in range(len(names)) for j in range(i + 1, len(names))]


def _keyed(frame: pd.DataFrame, keys: dict[str, Any]) -> pd.DataFrame:
    # a key column names the setting once (the comparison repeats `exposure`)
    rest = frame.drop(columns=[c for c in keys if c in frame.columns]).reset_index(drop=True)
    front = pd.DataFrame({k: [v] * len(frame) for k, v in keys.items()})
    return pd.concat([front, rest], axis=1)


def run_comparison_cell(spec: ExperimentSpec, cell: Cell) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison of one cell: (summary rows per strategy, per-subject paired rows)."""
    ds = cached_dataset(source_key(spec, cell))
    params = spec.strategy_params(cell)
    result = compare(
        ds, list(spec.strategies), params, block_days=spec.block_days, n_boot=spec.n_boot
    )
    summary = result.comparison.drop(columns=["strategy"])
    summary.insert(0, "strategy", result.comparison["strategy"])
    summary = _keyed(summary, cell.keys)
    # per subject: ROI and return on exposure (0 without exposure), on the common subjects
    subjects = None
    for r in result.results.values():
        ids = r.accounts["trader_id"].to_numpy()
        subjects = ids if subjects is None else np.intersect1d(subjects, ids)
    assert subjects is not None
    subjects = np.sort(subjects)
    roi, roe = {}, {}
    for name, r in result.results.items():
        acc = r.accounts.set_index("trader_id").loc[subjects]
        roi[name] = acc["roi"].to_numpy(dtype=float)
        gross = acc["gross_exposure"].to_numpy(dtype=float)
        pnl = acc["pnl"].to_numpy(dtype=float)
        roe[name] = np.where(gross > 0, pnl / np.where(gross > 0, gross, 1.0), 0.0)
    parts = []
    for a, b in strategy_pairs(spec.strategies):
        parts.append(
            pd.DataFrame(
                {
                    "strategy_a": a,
                    "strategy_b": b,
                    "trader_id": subjects,
                    "roi_a": roi[a],
                    "roi_b": roi[b],
                    "roi_diff": roi[a] - roi[b],
                    "roe_a": roe[a],
                    "roe_b": roe[b],
                    "roe_diff": roe[a] - roe[b],
                }
            )
        )
    pairs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PAIR_COLUMNS)
    return summary, _keyed(pairs, cell.keys)
