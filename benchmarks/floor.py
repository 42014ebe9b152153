"""The floor of a mirror backtest: what no implementation of it can skip on this machine.

    python benchmarks/floor.py DATASET        # prints one JSON line

Two parts, timed in this (fresh) process:

1. `read_s`: `pyarrow.parquet.read_table` of DATASET/trades.parquet (the input must be
   read), median of `--repeats` reads (`read_first_s`: the first, which also starts
   Arrow's thread pool);
2. `fanout_s`: the bare fan-out of `bench_ceiling.py` that counts the copies of every
   root and writes them (follower, amount) into new arrays, sized on the leaders'
   initial equity (no equity replay): the copies must be made. Median of `--repeats`
   runs after a compiling (or cache-loading) warm-up; the dataset it needs is loaded
   untimed.

`floor_s` = read_s + fanout_s. `bench_replay.py` runs this script and the backtest in
alternating rounds and divides one by the other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ceiling import bare_count_nb, bare_fan_out_nb  # noqa: E402


def measure_floor(data_dir: Path, repeats: int) -> dict:
    reads = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        table = pq.read_table(data_dir / "trades.parquet")
        reads.append(time.perf_counter() - started)
        n_rows = table.num_rows
        del table
    read_s = statistics.median(reads)

    from ideaflow.io import load_dataset

    ds = load_dataset(data_dir)
    t, f = ds.trades, ds.follows
    originals = np.flatnonzero(t.parent < 0)
    trader = t.trader[originals]
    open_time = t.open_time[originals]
    amount = t.amount[originals]
    active = np.flatnonzero((np.diff(f.leader_indptr) > 0)[trader])

    def fan_out() -> int:
        start = bare_count_nb(active, trader, open_time, f.leader_indptr, f.start_time, f.end_time)
        n = int(start[-1])
        bare_fan_out_nb(
            active,
            trader,
            open_time,
            amount,
            f.leader_indptr,
            f.follower,
            f.end_time,
            f.allocation,
            ds.initial_equity,
            start,
            np.empty(n, dtype=np.int32),
            np.empty(n, dtype=np.float64),
        )
        return n

    copies = fan_out()  # compile or load the cached kernels
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fan_out()
        runs.append(time.perf_counter() - started)
    fanout_s = statistics.median(runs)
    return {
        "trades": n_rows,
        "copies": copies,
        "read_first_s": reads[0],
        "read_s": read_s,
        "fanout_s": fanout_s,
        "fanout_runs_s": runs,
        "floor_s": read_s + fanout_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure_floor(args.dataset, args.repeats)))


if __name__ == "__main__":
    main()
