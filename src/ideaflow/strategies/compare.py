"""`compare`: run several docs/contract.md §5 strategies on the same subjects and compare them.

Per strategy (comparison.parquet, one row each):
- n_subjects; mean / median ROI over subjects; total ROI = sum of PnL / sum of initial
  equity (the pooled ROI of all subjects); total PnL; mean Sharpe (subjects with a
  defined Sharpe); mean max drawdown; hit rate = share of subjects with ROI > 0;
  rejection rate (share of decisions not taken);
- uplift vs isolation / diverse / herd in %: `(mean_roi - base) / |base| * 100` only when
  the base's block interval excludes 0 (NaN otherwise: the table then shows the
  difference in points), and the share of subjects whose ROI beat the base's;
- the 95% interval of the mean ROI by a moving-block bootstrap over time (default): the
  daily PnL of each subject divided by its initial equity, averaged over subjects, summed
  over time (this total is the mean ROI), resampled in blocks of `block_days` days
  (`ideaflow.stats`); beside it, a per-subject bootstrap interval, labelled as such;
- exposure (`strategies.exposure`): mean gross exposure, subjects without exposure, mean
  return on exposure (PnL / gross exposure, 0 without exposure) with its block interval;
- against `isolation` and `diverse`: paired differences in mean ROI and in mean return on
  exposure with block intervals and Holm-adjusted bootstrap p-values
  (`ideaflow.significance`; one family: every strategy against both bases, both metrics).

Per ordered pair (a, b) (paired.parquet): mean ROI difference a - b with block and
per-subject intervals, share of subjects where a beat b, relative uplift of a over b
(same rule), the return-on-exposure difference with its interval, p-values.

The printed table leads with a one-line verdict (`headline`).

Subjects: the intersection of the strategies' subjects (with one parameter set they are
the same traders: >= min_ideas ideas).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from ideaflow.data import NS_PER_DAY, Dataset
from ideaflow.errors import ParameterError
from ideaflow.io.write import json_ready, write_json_atomic, write_parquet_atomic
from ideaflow.records import ComparisonRow, PairedRow
from ideaflow.results import BacktestResult, FigureWriter
from ideaflow.results.frames import to_frame
from ideaflow.results.tables import rows_table
from ideaflow.significance import bootstrap_p_values, holm, uplift_or_points, verdict
from ideaflow.stats import (
    DEFAULT_BLOCK_DAYS,
    DEFAULT_N_BOOT,
    moving_block_bootstrap,
    per_subject_intervals,
    share_beating,
)
from ideaflow.strategies.cluster import check_backend
from ideaflow.strategies.params import StrategyParams
from ideaflow.strategies.partition import dask_partitions
from ideaflow.strategies.run import StrategyRunner, check_name


@dataclass
class ComparisonResult:
    """Results per strategy, the comparison and paired tables, and the daily ROI series."""

    results: dict[str, Any]
    comparison: pd.DataFrame
    paired: pd.DataFrame
    daily_roi: pd.DataFrame  # day x strategy: mean over subjects of pnl / initial equity
    params: dict[str, Any] = field(default_factory=dict)

    def described(self) -> dict[str, Any]:
        """The parameters, the verdict line, what the comparison holds equal and what its
        intervals resample (comparison.json)."""
        p = self.params
        n = int(self.comparison["n_subjects"].max()) if len(self.comparison) else 0
        held = (
            f"the same {n:,} subjects and their ideas in every strategy; exposure "
            f"{p.get('exposure', 'as-logged')}"
            + (
                " (each subject's gross exposure rescaled to its exposure under isolation)"
                if p.get("exposure") == "matched"
                else ""
            )
            + f"; one vote rule (k = {p.get('k')} evaluators, taken when net support >= "
            f"{p.get('min_support')}); seed {p.get('seed')}"
        )
        interval = (
            "95% intervals: moving-block bootstrap over time of the subjects' mean daily "
            f"ROI (blocks of {p.get('block_days')} days, {p.get('n_boot')} resamples); "
            "per-subject intervals resample subjects; Holm-adjusted p-values over every "
            "strategy against isolation and diverse, in ROI and ROE"
        )
        return {**p, "verdict": headline(self.comparison), "held_equal": held, "interval": interval}

    def write(
        self,
        out_dir: str | Path,
        *,
        figures: FigureWriter | None = None,
        skip: set[str] | frozenset = frozenset(),
    ) -> Path:
        """Write DIR/STRATEGY/ (except those in `skip`, already written), the tables, and
        the figures `figures(self, out_dir)` draws."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        # per-strategy directories without their own plots: the comparison plots below
        # show every strategy side by side (and per-strategy PNGs cost seconds each)
        for name, result in self.results.items():
            if name not in skip:
                result.write(out / name)
        write_parquet_atomic(self.comparison, out / "comparison.parquet")
        write_parquet_atomic(self.paired, out / "paired.parquet")
        write_json_atomic(json_ready(self.described()), out / "comparison.json")
        if figures is not None:
            figures(self, out)
        return out


DAILY_CHUNK = 1 << 22  # daily rows handled at a time (herd has tens of millions)


def _daily_columns(result: Any) -> tuple[Any, Any, Any] | None:
    """trader_id, day and pnl Arrow columns of a result's daily table (None: no rows)."""
    table = result.table("daily")
    if table is None or table.num_rows == 0:
        return None
    return table.column("trader_id"), table.column("day"), table.column("pnl")


def daily_chunks(result: Any):
    """(trader ids, UTC day numbers, pnl) numpy chunks of a result's daily rows, in order."""
    columns = _daily_columns(result)
    if columns is None:
        return
    ids, days, pnl = columns
    for a in range(0, len(ids), DAILY_CHUNK):
        day = days.slice(a, DAILY_CHUNK).cast(pa.int64()).to_numpy() // NS_PER_DAY
        yield (
            ids.slice(a, DAILY_CHUNK).to_numpy(),
            day,
            pnl.slice(a, DAILY_CHUNK).to_numpy(),
        )


def daily_day_range(result: Any) -> tuple[int, int] | None:
    """First and last UTC day number of a result's daily rows (None: no rows)."""
    columns = _daily_columns(result)
    if columns is None:
        return None
    bounds = pc.min_max(columns[1])
    return int(bounds["min"].value) // NS_PER_DAY, int(bounds["max"].value) // NS_PER_DAY


def _daily_roi(
    result: Any, subjects: np.ndarray, equity: np.ndarray, day0: int, n_days: int
) -> np.ndarray:
    """Per day: mean over the subjects of daily PnL / initial equity."""
    return _daily_mean(result, subjects, 1.0 / equity, day0, n_days)


def _daily_mean(
    result: Any, subjects: np.ndarray, weight: np.ndarray, day0: int, n_days: int
) -> np.ndarray:
    """Per day: mean over the subjects of daily PnL * weight (1 / initial equity: the
    daily ROI; 1 / gross exposure, 0 without exposure: the daily return on exposure)."""
    total = np.zeros(n_days, dtype=np.float64)
    # chunks keep the temporaries small; np.add.at adds in row order like one bincount,
    # so the sums are the same to the last bit
    for ids, day, pnl in daily_chunks(result):
        pos = np.minimum(np.searchsorted(subjects, ids), max(len(subjects) - 1, 0))
        keep = subjects[pos] == ids if len(subjects) else np.zeros(len(ids), dtype=bool)
        np.add.at(total, day[keep] - day0, pnl[keep] * weight[pos[keep]])
    return total / max(len(subjects), 1)


def _exposure_weight(accounts: pd.DataFrame) -> np.ndarray:
    """1 / gross exposure per subject, 0 where the exposure is 0 (ROE counted as 0)."""
    exposure = accounts["gross_exposure"].to_numpy(dtype=float)
    positive = exposure > 0
    return np.where(positive, 1.0 / np.where(positive, exposure, 1.0), 0.0)


def compare(
    ds: Dataset,
    names: list[str] | tuple[str, ...],
    params: StrategyParams | None = None,
    out_dir: str | Path | None = None,
    *,
    block_days: int = DEFAULT_BLOCK_DAYS,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = 0.05,
    figures: FigureWriter | None = None,
    progress: bool = False,
    backend: str = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
) -> ComparisonResult:
    """Run `names` on `ds` (one shared runner), compare, and write to `out_dir` if given.

    With `out_dir`, each strategy's outputs are written as soon as it finishes and its
    positions and decisions are then dropped from the returned results (memory).

    `backend="dask"`: the evaluator searches of diverse, echo and diverse-random run by
    subject ranges on the Dask cluster at `scheduler` (or a `LocalCluster` of `jobs`
    workers); everything else runs here, and the result is the local one, byte for byte
    (`strategies.partition`).
    """
    check_backend(backend, scheduler)
    if backend == "dask":
        with dask_partitions(ds, jobs, scheduler) as selector:
            return _compare(
                ds, names, params, out_dir, block_days, n_boot, alpha, figures, progress, selector
            )
    return _compare(ds, names, params, out_dir, block_days, n_boot, alpha, figures, progress, None)


def _compare(
    ds: Dataset,
    names: list[str] | tuple[str, ...],
    params: StrategyParams | None,
    out_dir: str | Path | None,
    block_days: int,
    n_boot: int,
    alpha: float,
    figures: FigureWriter | None,
    progress: bool,
    selector: Any,
) -> ComparisonResult:
    names = [check_name(n) for n in names]
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"strategies: expected distinct strategy names; found {names}")
    if isinstance(block_days, bool) or not isinstance(block_days, int) or block_days < 1:
        raise ParameterError(f"block_days: expected an integer >= 1; found {block_days!r}")
    runner = StrategyRunner(ds, params, selector)
    results = {}
    written = set()
    for i, name in enumerate(_progress(names, progress)):
        result = runner.run(name)
        if out_dir is not None:
            # write each strategy as it finishes and keep only what the comparison needs
            # (accounts, daily PnL, counts): positions and decisions of several strategies
            # on an eToro-sized platform do not fit in memory together
            result.write(Path(out_dir) / name)
            result = _light(result)
            written.add(name)
        runner.release(name, names[i + 1 :])
        results[name] = result
    comparison, paired, daily_roi = comparison_tables(
        results, block_days=block_days, n_boot=n_boot, alpha=alpha, seed=runner.params.seed
    )
    out = ComparisonResult(
        results=results,
        comparison=comparison,
        paired=paired,
        daily_roi=daily_roi,
        params={
            "strategies": names,
            **runner.params.to_dict(),
            "block_days": block_days,
            "n_boot": n_boot,
            "alpha": alpha,
        },
    )
    if out_dir is not None:
        out.write(out_dir, figures=figures, skip=written)
    return out


def _light(result: BacktestResult) -> BacktestResult:
    """The result without its positions and decisions (already written)."""
    trades = result.table("trades")
    assert trades is not None  # every result has its trades table
    return BacktestResult(
        strategy=result.strategy,
        params=result.params,
        trades=trades.slice(0, 0),
        accounts=result.accounts,
        decisions=None,
        daily=result.table("daily"),
        counts=result.counts,
        timings=result.timings,
        meta=result.meta,
    )


def _progress(names: list[str], progress: bool) -> Iterable[str]:
    return tqdm(names, desc="strategies", unit="strategy") if progress else names


# every strategy is tested against these bases (docs/strategies.md, "Comparing")
BASES = ("isolation", "diverse")


def comparison_tables(
    results: dict[str, Any],
    *,
    block_days: int = DEFAULT_BLOCK_DAYS,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """comparison (per strategy), paired (per ordered pair) and daily ROI tables."""
    names = list(results)
    subjects = None
    for result in results.values():
        ids = result.accounts["trader_id"].to_numpy()
        subjects = ids if subjects is None else np.intersect1d(subjects, ids)
    assert subjects is not None
    subjects = np.sort(subjects)
    accounts = {n: r.accounts.set_index("trader_id").loc[subjects] for n, r in results.items()}
    equity = accounts[names[0]]["initial_equity"].to_numpy(dtype=float)
    exposure_mode = str(results[names[0]].params.get("exposure", "as-logged"))
    day_sets = [b for b in (daily_day_range(r) for r in results.values()) if b is not None]
    if day_sets:
        day0 = int(min(d[0] for d in day_sets))
        n_days = int(max(d[1] for d in day_sets)) - day0 + 1
        days = pd.date_range(pd.Timestamp(day0 * NS_PER_DAY, tz="UTC"), periods=n_days, freq="D")
        series = np.column_stack(
            [_daily_roi(results[n], subjects, equity, day0, n_days) for n in names]
        )
        roe_series = np.column_stack(
            [
                _daily_mean(results[n], subjects, _exposure_weight(accounts[n]), day0, n_days)
                for n in names
            ]
        )
    else:
        days = pd.DatetimeIndex([], tz="UTC")
        series = np.zeros((0, len(names)))
        roe_series = np.zeros((0, len(names)))
    roi = {n: accounts[n]["roi"].to_numpy(dtype=float) for n in names}
    # return on exposure per subject, a subject without exposure counted as 0
    roe = {
        n: accounts[n]["pnl"].to_numpy(dtype=float) * _exposure_weight(accounts[n]) for n in names
    }

    def mean(values: np.ndarray) -> float:
        return float(np.mean(values)) if len(values) else float("nan")

    mean_roi = {n: mean(roi[n]) for n in names}
    mean_roe = {n: mean(roe[n]) for n in names}
    pairs = [(a, b) for a in names for b in names if a != b]
    index = {n: i for i, n in enumerate(names)}
    # bootstrap columns: ROI and ROE per strategy, then ROI and ROE differences per pair,
    # all resampled with the same blocks
    columns = [series[:, i] for i in range(len(names))]
    columns += [roe_series[:, i] for i in range(len(names))]
    columns += [series[:, index[a]] - series[:, index[b]] for a, b in pairs]
    columns += [roe_series[:, index[a]] - roe_series[:, index[b]] for a, b in pairs]
    estimates = np.array(
        [mean_roi[n] for n in names]
        + [mean_roe[n] for n in names]
        + [mean_roi[a] - mean_roi[b] for a, b in pairs]
        + [mean_roe[a] - mean_roe[b] for a, b in pairs]
    )
    matrix = np.column_stack(columns) if columns and len(days) else np.zeros((0, len(columns)))
    boot = moving_block_bootstrap(matrix, block=block_days, n_boot=n_boot, seed=seed)
    deviation = boot - boot.mean(axis=0) if matrix.shape[0] else np.zeros_like(boot)
    q_lo, q_hi = np.quantile(deviation, [alpha / 2, 1 - alpha / 2], axis=0)
    low, high = estimates + q_lo, estimates + q_hi
    p_values = bootstrap_p_values(estimates, boot)
    n, m = len(names), len(pairs)
    roi_at = {pair: 2 * n + p for p, pair in enumerate(pairs)}
    roe_at = {pair: 2 * n + m + p for p, pair in enumerate(pairs)}
    # one family: every strategy against each base present, for ROI and for ROE
    family = [
        at[(a, b)]
        for b in BASES
        if b in results
        for a in names
        if a != b
        for at in (roi_at, roe_at)
    ]
    p_holm = np.full(estimates.shape, np.nan)
    p_holm[family] = holm(p_values[family])

    # per-subject intervals of every strategy's ROI and every pair's difference: one set
    # of resampled subjects shared by all (drawn once)
    per_subject = per_subject_intervals(
        [roi[n] for n in names] + [roi[a] - roi[b] for a, b in pairs],
        n_boot=n_boot,
        alpha=alpha,
        seed=seed,
    )

    rows = []
    for i, name in enumerate(names):
        acc = accounts[name]
        r = roi[name]
        ps = per_subject[i]
        counts = results[name].counts
        sharpe = acc["sharpe"].to_numpy(dtype=float)
        gross = acc["gross_exposure"].to_numpy(dtype=float)
        row: dict[str, Any] = {
            "strategy": name,
            "exposure": exposure_mode,
            "n_subjects": len(subjects),
            "mean_roi": mean_roi[name],
            "median_roi": float(np.median(r)) if len(r) else float("nan"),
            "total_roi": float(acc["pnl"].sum() / acc["initial_equity"].sum())
            if len(acc)
            else float("nan"),
            "total_pnl": float(acc["pnl"].sum()),
            "mean_sharpe": float(np.nanmean(sharpe)) if np.isfinite(sharpe).any() else float("nan"),
            "mean_max_drawdown": float(acc["max_drawdown"].mean()) if len(acc) else float("nan"),
            "hit_rate": float(np.mean(r > 0)) if len(r) else float("nan"),
            "rejection_rate": float(counts.get("rejection_rate", float("nan"))),
            "n_positions": int(counts.get("positions", 0)),
            "mean_exposure": mean(gross),
            "n_zero_exposure": int((gross == 0).sum()),
            "mean_roe": mean_roe[name],
            "mean_roe_ci_low": float(low[n + i]),
            "mean_roe_ci_high": float(high[n + i]),
        }
        for base in ("isolation", "herd", "diverse"):
            if base in results:
                at = index[base]
                row[f"uplift_vs_{base}_pct"] = uplift_or_points(
                    mean_roi[name], mean_roi[base], float(low[at]), float(high[at])
                )
                row[f"beat_{base}_share"] = (
                    share_beating(r, roi[base]) if name != base else float("nan")
                )
            else:
                row[f"uplift_vs_{base}_pct"] = float("nan")
                row[f"beat_{base}_share"] = float("nan")
        for base in BASES:
            for metric, where in (("roi", roi_at), ("roe", roe_at)):
                j = where.get((name, base))
                present = base in results
                zero = 0.0 if present and name == base else float("nan")
                row[f"{metric}_diff_vs_{base}"] = float(estimates[j]) if j is not None else zero
                row[f"{metric}_diff_vs_{base}_ci_low"] = float(low[j]) if j is not None else zero
                row[f"{metric}_diff_vs_{base}_ci_high"] = float(high[j]) if j is not None else zero
                row[f"p_holm_{metric}_vs_{base}"] = (
                    float(p_holm[j]) if j is not None else float("nan")
                )
        row["mean_roi_ci_low"] = float(low[i])
        row["mean_roi_ci_high"] = float(high[i])
        row["ci_method"] = f"moving_block_{block_days}d"
        row["mean_roi_ci_low_per_subject"] = ps.low
        row["mean_roi_ci_high_per_subject"] = ps.high
        rows.append(row)
    comparison = to_frame(rows_table(ComparisonRow, rows))

    prow = []
    for p, (a, b) in enumerate(pairs):
        j, k = roi_at[(a, b)], roe_at[(a, b)]
        ps = per_subject[n + p]
        prow.append(
            {
                "strategy_a": a,
                "strategy_b": b,
                "exposure": exposure_mode,
                "n_subjects": len(subjects),
                "mean_roi_a": mean_roi[a],
                "mean_roi_b": mean_roi[b],
                "mean_diff": float(estimates[j]),
                "ci_low": float(low[j]),
                "ci_high": float(high[j]),
                "ci_method": f"moving_block_{block_days}d",
                "ci_low_per_subject": ps.low,
                "ci_high_per_subject": ps.high,
                "p_value": float(p_values[j]),
                "p_holm": float(p_holm[j]),
                "median_diff": float(np.median(roi[a] - roi[b])) if len(subjects) else float("nan"),
                "a_beat_b_share": share_beating(roi[a], roi[b]),
                "uplift_pct": uplift_or_points(
                    mean_roi[a], mean_roi[b], float(low[index[b]]), float(high[index[b]])
                ),
                "mean_roe_a": mean_roe[a],
                "mean_roe_b": mean_roe[b],
                "roe_diff": float(estimates[k]),
                "roe_ci_low": float(low[k]),
                "roe_ci_high": float(high[k]),
                "roe_p_value": float(p_values[k]),
                "roe_p_holm": float(p_holm[k]),
            }
        )
    paired = to_frame(rows_table(PairedRow, prow))
    daily_roi = pd.DataFrame(series, index=days, columns=names)
    daily_roi.index.name = "day"
    return comparison, paired, daily_roi


def headline(comparison: pd.DataFrame) -> str:
    """The one-line verdict: diverse (else the first other strategy) against isolation
    (else against diverse), by the paired difference in mean ROI."""
    names = comparison["strategy"].tolist()
    if len(names) < 2:
        return "one strategy: nothing to compare"
    base = "isolation" if "isolation" in names else "diverse" if "diverse" in names else None
    if base is None:
        return "no isolation or diverse in the comparison: see the paired table"
    others = [n for n in names if n != base]
    name = "diverse" if "diverse" in others else others[0]
    row = comparison.set_index("strategy").loc[name].to_dict()
    return verdict(
        str(row["exposure"]),
        name,
        base,
        float(row[f"roi_diff_vs_{base}"]),
        float(row[f"roi_diff_vs_{base}_ci_low"]),
        float(row[f"roi_diff_vs_{base}_ci_high"]),
        float(row[f"p_holm_roi_vs_{base}"]),
    )
