"""How fast can copies be made at all on this machine? A bare fan-out next to the engine.

    python benchmarks/bench_ceiling.py --workdir /tmp/bench           # the full platform
    python benchmarks/bench_ceiling.py --quick                        # a small run

The replay kernels (`timings["replay_kernel"]`) size every copy on its leader's equity
*in the replay*, which has to be replayed in time order. This script times what is left
when that is taken away: a **bare fan-out** of the same platform that writes every copy
(follower and amount) with the leader's *initial* equity, so no equity is replayed and
nothing is read in time order. It is the same work per copy as the engine's last pass
and a bound on what any replay of these copies can reach here:

1. `bare fan-out, warm`: the copy-writing pass alone, into output arrays that were
   already written once (no page faults), copy ranges known;
2. `bare fan-out, fresh`: counting the copies of each root (its follows active at the
   open) and writing them into new arrays, as a replay must;
3. `engine replay kernels`: `ideaflow.engine.replay(..., mirror, depth 1)`, its
   `replay_kernel` stage (median of the repeats after a warm-up call).

Both bare passes run in parallel over roots (`prange`), one root's copies sequentially.
The copies must agree: the engine's and the bare count are compared (bankrupt leaders
aside). Results go to benchmarks/results/ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import add_platform_arguments  # noqa: E402


@njit(cache=True, nogil=True, parallel=True)
def bare_count_nb(active, root_trader, root_open_time, f_indptr, f_start, f_end):
    """Copy ranges of the active roots: their leader's follows active at the open."""
    n = active.shape[0]
    counts = np.empty(n, dtype=np.int64)
    for j in prange(n):
        i = active[j]
        t = root_open_time[i]
        leader = root_trader[i]
        rows = 0
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t:
                rows += 1
        counts[j] = rows
    start = np.empty(n + 1, dtype=np.int64)
    total = 0
    for j in range(n):
        start[j] = total
        total += counts[j]
    start[n] = total
    return start


@njit(cache=True, nogil=True, parallel=True)
def bare_fan_out_nb(
    active,
    root_trader,
    root_open_time,
    root_amount,
    f_indptr,
    f_follower,
    f_end,
    f_alloc,
    equity,
    start,
    acct,
    amount,
):
    """Every copy (follower, amount sized on the leader's fixed `equity`) into
    `acct` / `amount` at the ranges `start`."""
    for j in prange(active.shape[0]):
        k = start[j]
        k_end = start[j + 1]
        i = active[j]
        t = root_open_time[i]
        leader = root_trader[i]
        scale = root_amount[i] / equity[leader]
        f = f_indptr[leader]
        while k < k_end:
            if f_end[f] > t:
                acct[k] = f_follower[f]
                amount[k] = scale * f_alloc[f]
                k += 1
            f += 1


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(data_dir: Path, repeats: int) -> dict:
    import ideaflow
    from ideaflow.engine import ReplayConfig, replay

    ds = ideaflow.load_dataset(data_dir)
    t, f = ds.trades, ds.follows
    originals = np.flatnonzero(t.parent < 0)
    trader = t.trader[originals]
    open_time = t.open_time[originals]
    amount_in = t.amount[originals]
    leads = np.diff(f.leader_indptr) > 0
    active = np.flatnonzero(leads[trader])
    count_args = (active, trader, open_time, f.leader_indptr, f.start_time, f.end_time)
    start = bare_count_nb(*count_args)  # compile (or load from cache) and warm up
    n = int(start[-1])
    acct = np.empty(n, dtype=np.int32)
    amount = np.empty(n, dtype=np.float64)

    def fan_out(start: np.ndarray, acct: np.ndarray, amount: np.ndarray) -> None:
        bare_fan_out_nb(
            active,
            trader,
            open_time,
            amount_in,
            f.leader_indptr,
            f.follower,
            f.end_time,
            f.allocation,
            ds.initial_equity,
            start,
            acct,
            amount,
        )

    fan_out(start, acct, amount)  # compile, and write the outputs once
    warm_s = _median_time(lambda: fan_out(start, acct, amount), repeats)

    def fresh() -> None:
        s = bare_count_nb(*count_args)
        m = int(s[-1])
        fan_out(s, np.empty(m, dtype=np.int32), np.empty(m, dtype=np.float64))

    fresh_s = _median_time(fresh, repeats)

    config = ReplayConfig(strategy="mirror", depth=1)
    replay(ds, config)  # warm-up: compile or load the kernels
    kernel_times = []
    copies = skipped = 0
    for _ in range(repeats):
        res = replay(ds, config)
        kernel_times.append(res.timings["replay_kernel"])
        copies = int(res.counts["copies_generated"])
        skipped = int(res.counts["copies_skipped_bankrupt"])
        del res
    if copies + skipped != n:
        raise AssertionError(f"bare fan-out: {n} copies; engine: {copies} + {skipped} skipped")
    kernel_s = statistics.median(kernel_times)
    return {
        "n_trades": len(t),
        "n_active_roots": int(active.shape[0]),
        "copies_bare": n,
        "copies_engine": copies,
        "skipped_bankrupt": skipped,
        "bare_warm_s": warm_s,
        "bare_fresh_s": fresh_s,
        "engine_kernel_s": kernel_s,
        "engine_kernel_runs_s": kernel_times,
        "copies_per_s": {
            "bare fan-out, warm": n / warm_s,
            "bare fan-out, fresh": n / fresh_s,
            "engine replay kernels": copies / kernel_s,
        },
    }


def main() -> None:
    from ideaflow.synth.random_platform import ensure_platform

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_platform_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ideaflow-bench"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ceiling.json")
    args = parser.parse_args()
    if args.quick:
        args.trades, args.traders, args.follows, args.repeats = 200_000, 20_000, 20_000, 1
    data, _ = ensure_platform(args.workdir, args.trades, args.traders, args.follows, args.seed)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "args": {k: str(v) for k, v in vars(args).items()},
        **measure(data, args.repeats),
    }
    print(f"{'pass':<24} {'seconds':>8} {'M copies/s':>11}")
    seconds = {
        "bare fan-out, warm": result["bare_warm_s"],
        "bare fan-out, fresh": result["bare_fresh_s"],
        "engine replay kernels": result["engine_kernel_s"],
    }
    for name, rate in result["copies_per_s"].items():
        print(f"{name:<24} {seconds[name]:>8.3f} {rate / 1e6:>11.1f}")
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
