"""Effects across seeds: per setting and strategy pair, the distribution of the per-seed
effect (each seed a replication: a new platform draw, or new strategy draws on one log).

For n seeds with per-seed effects d_1..d_n: mean, standard deviation (n - 1), a 95%
Student t interval over seeds, mean ± t(0.975, n - 1) · sd / √n (NaN with one seed), the
smallest and largest, and the share of seeds where the effect is > 0. The t interval
treats the seeds as independent replications of the experiment; with few seeds it is
wide, as it should be.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

CI_METHOD = "t_interval_95_over_seeds"
EFFECT_COLUMNS = [
    "n_seeds",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "ci_method",
    "share_positive",
    "min",
    "max",
]


def over_seeds(values: np.ndarray, level: float = 0.95) -> dict[str, float | int | str]:
    """The summary of per-seed effects (see the module docstring)."""
    values = np.asarray(values, dtype=float)
    n = int(values.shape[0])
    mean = float(values.mean()) if n else float("nan")
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    if n > 1:
        half = float(scipy_stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = float("nan")
    return {
        "n_seeds": n,
        "mean": mean,
        "sd": sd,
        "ci_low": low,
        "ci_high": high,
        "ci_method": CI_METHOD,
        "share_positive": float(np.mean(values > 0)) if n else float("nan"),
        "min": float(values.min()) if n else float("nan"),
        "max": float(values.max()) if n else float("nan"),
    }


def summarize(per_seed: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    """One row per group (in order of first appearance) of `per_seed`'s `value` column."""
    rows = []
    for values, part in per_seed.groupby(group, sort=False, dropna=False):
        keys = values if isinstance(values, tuple) else (values,)
        rows.append({**dict(zip(group, keys)), **over_seeds(part["value"].to_numpy())})
    return pd.DataFrame(rows, columns=[*group, *EFFECT_COLUMNS])


def comparison_effects(
    cells: pd.DataFrame, settings: list[str], pairs: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-seed effects, effects across seeds) of a replicated comparison.

    `cells`: the cells' summary rows (key columns, `strategy`, `mean_roi`, `mean_roe`);
    `settings`: the key columns other than `seed`. Per cell and pair (a, b): the paired
    difference in mean ROI and in mean return on exposure, a - b (the same subjects in
    both, so the mean of the per-subject differences).
    """
    rows = []
    cell_keys = ["seed", *settings]
    for keys, part in cells.groupby(cell_keys, sort=False, dropna=False):
        by = {
            (str(name), column): float(value)
            for name, roi, roe in zip(part["strategy"], part["mean_roi"], part["mean_roe"])
            for column, value in (("mean_roi", roi), ("mean_roe", roe))
        }
        key_map = dict(zip(cell_keys, keys if isinstance(keys, tuple) else (keys,)))
        for a, b in pairs:
            for metric, column in (("roi", "mean_roi"), ("roe", "mean_roe")):
                rows.append(
                    {
                        **key_map,
                        "strategy_a": a,
                        "strategy_b": b,
                        "metric": metric,
                        "value": by[(a, column)] - by[(b, column)],
                    }
                )
    per_seed = pd.DataFrame(
        rows, columns=[*cell_keys, "strategy_a", "strategy_b", "metric", "value"]
    )
    group = [*settings, "strategy_a", "strategy_b", "metric"]
    # ROI effects first, then return on exposure; within each, the order of first
    # appearance (settings in grid order, pairs in spec order)
    order = per_seed.sort_values("metric", kind="stable", key=lambda m: m.map(METRIC_ORDER))
    return per_seed, summarize(order, group)


METRIC_ORDER = {"roi": 0, "roe": 1}
