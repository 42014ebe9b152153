"""`ideaflow bench`: time a mirror replay of a random platform of a given size, per stage.

The platform comes from `ideaflow.synth.random_platform`; the stage timings are the ones
every backtest records. The benchmark suite (`benchmarks/`) measures more carefully
(child processes, alternating baselines, peak memory per stage).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

from ideaflow.api.backtesting import backtest
from ideaflow.synth.random_platform import ensure_platform


def run_bench(
    n_trades: int,
    n_traders: int,
    n_follows: int,
    *,
    seed: int = 0,
    depth: int = 1,
    workdir: Path | None = None,
    repeats: int = 1,
    progress: bool = False,
) -> dict:
    """Build (or reuse) a random platform, then time load + mirror replay + write per stage.

    Returns stage timings (median over `repeats` after one warm-up run that also loads
    the Numba cache), counts, throughput and the process's peak RSS.
    """
    work = workdir or Path(tempfile.mkdtemp(prefix="ideaflow-bench-"))
    data_dir, built_s = ensure_platform(work, n_trades, n_traders, n_follows, seed)
    runs = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        result = backtest(data_dir, "mirror", depth=depth, progress=progress and i == 0)
        result.write(work / "out")
        total = time.perf_counter() - started
        runs.append({"total": total, **result.timings})
    measured = runs[1:]
    stages = {key: statistics.median(r.get(key, 0.0) for r in measured) for key in measured[0]}
    copies = int(result.counts.get("copies_generated", 0))
    return {
        "dataset": str(data_dir),
        "build_platform_s": built_s,
        "warmup_total_s": runs[0]["total"],
        "stages_s": stages,
        "trades": n_trades,
        "traders": n_traders,
        "follows": n_follows,
        "copies": copies,
        "trades_per_s": n_trades / stages["total"],
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
