"""Benchmark of `ideaflow analyze` (docs/contract.md §6): end to end with peak memory, per stage, and
the idea-flow kernel against a plain pandas implementation.

    python benchmarks/bench_analyze.py --preset etoro2011          # the target: < 5 min, < 12 GiB
    python benchmarks/bench_analyze.py --dataset PATH              # an existing dataset
    python benchmarks/bench_analyze.py --quick                     # tiny, to check the script

Steps: (1) correctness first: on a generated `small` platform the Numba idea flow equals a
plain pandas merge implementation, trade by trade; (2) compile time: the first `analyze`
of a tiny platform in a fresh process (numba's cache may make it short); (3) end to end:
`ideaflow analyze DATASET --out DIR` as a subprocess, wall time and peak RSS (median of
`--repeats`), stage timings from summary.json; (4) the idea-flow baseline in pandas vs
the kernel on the `small` platform. Results go to benchmarks/results/analyze.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from measure import measure_child as child

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 300.0
TARGET_GIB = 12.0


def pandas_idea_flow(ds, window_ns: int) -> np.ndarray:
    """Matched flag per trade, by brute-force merges (the obviously-correct baseline)."""
    tr = ds.trades
    trades = pd.DataFrame(
        {
            "row": np.arange(len(tr)),
            "trader": tr.trader,
            "instrument": tr.instrument,
            "side": tr.side,
            "time": tr.open_time,
            "parent": tr.parent,
        }
    )
    f = ds.follows
    follows = pd.DataFrame(
        {"trader": f.follower, "leader": f.leader, "start": f.start_time, "end": f.end_time}
    )
    x = trades.merge(follows, on="trader")
    x = x[(x["start"] <= x["time"]) & (x["time"] < x["end"])]
    leader_trades = trades.rename(columns={"trader": "leader", "time": "ltime"})[
        ["leader", "instrument", "side", "ltime"]
    ]
    y = x.merge(leader_trades, on=["leader", "instrument", "side"])
    y = y[(y["ltime"] >= y["time"] - window_ns) & (y["ltime"] <= y["time"])]
    matched = np.zeros(len(tr), dtype=np.int8)
    matched[np.unique(y["row"].to_numpy())] = 1
    matched[tr.parent >= 0] = 1
    return matched


def check_correctness(seed: int) -> dict:
    from ideaflow.analytics import matched_trades
    from ideaflow.io import dataset_from_frames
    from ideaflow.synth import generate

    ds = dataset_from_frames(**generate("small", seed=seed).frames())
    window = 24 * 3_600 * 1_000_000_000
    t = time.perf_counter()
    kernel = matched_trades(ds, window_hours=24)
    kernel_s = time.perf_counter() - t
    t = time.perf_counter()
    base = pandas_idea_flow(ds, window)
    base_s = time.perf_counter() - t
    if not np.array_equal(kernel, base):
        raise SystemExit(f"idea flow mismatch on {int((kernel != base).sum())} trades")
    return {
        "trades": len(ds.trades),
        "matched_share": float(kernel.mean()),
        "kernel_s": kernel_s,
        "pandas_s": base_s,
        "agree": True,
    }


def compile_time() -> float:
    code = (
        "import time; t=time.perf_counter();"
        "from ideaflow.io import dataset_from_frames; from ideaflow.synth import generate;"
        "from ideaflow.analytics import analyze;"
        "analyze(dataset_from_frames(**generate('tiny', seed=0).frames()), n_boot=10);"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="etoro2011")
    parser.add_argument("--dataset", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="tiny preset, one repeat")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "analyze.json")
    args = parser.parse_args()
    preset = "tiny" if args.quick else args.preset

    results: dict = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()}}
    print("[1/4] correctness: Numba idea flow vs pandas merges on `small` ...", flush=True)
    results["correctness"] = check_correctness(args.seed)
    print("[2/4] compile + first run on `tiny` ...", flush=True)
    results["first_run_tiny_s"] = compile_time()

    with tempfile.TemporaryDirectory() as tmp:
        dataset = args.dataset
        if dataset is None:
            print(f"[3/4] generating `{preset}` (seed {args.seed}) ...", flush=True)
            dataset = Path(tmp) / "data"
            gen = child(
                [
                    sys.executable,
                    "-m",
                    "ideaflow",
                    "generate",
                    "--preset",
                    preset,
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(dataset),
                ]
            )
            if gen["returncode"] != 0:
                raise SystemExit(gen["stderr_tail"])
            results["generate"] = {"wall_s": gen["wall_s"], "peak_rss_gib": gen["peak_rss_gib"]}
        runs = []
        for r in range(args.repeats):
            print(f"[3/4] ideaflow analyze, run {r + 1}/{args.repeats} ...", flush=True)
            out = Path(tmp) / f"out{r}"
            res = child(
                [
                    sys.executable,
                    "-m",
                    "ideaflow",
                    "analyze",
                    str(dataset),
                    "--out",
                    str(out),
                    "--n-boot",
                    str(args.n_boot),
                    "--no-progress",
                ]
            )
            if res["returncode"] != 0:
                raise SystemExit(res["stderr_tail"])
            findings = json.loads((out / "findings.json").read_text())
            runs.append(
                {
                    "wall_s": res["wall_s"],
                    "peak_rss_gib": res["peak_rss_gib"],
                    "stages_s": json.loads((out / "summary.json").read_text())["timings_s"],
                    "dataset": findings["dataset"],
                }
            )
            table = res["stdout"]
        wall = statistics.median(r["wall_s"] for r in runs)
        peak = max((r["peak_rss_gib"] or 0.0) for r in runs)
        results["analyze"] = {
            "preset": None if args.dataset else preset,
            "dataset": str(args.dataset) if args.dataset else None,
            "n_boot": args.n_boot,
            "median_wall_s": wall,
            "peak_rss_gib": peak,
            "trades_per_s": runs[0]["dataset"]["n_trades"] / wall,
            "runs": runs,
            "target": {
                "seconds": TARGET_SECONDS,
                "gib": TARGET_GIB,
                "met": wall < TARGET_SECONDS and peak < TARGET_GIB,
            },
        }
    print("[4/4] writing", args.out, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    c = results["correctness"]
    a = results["analyze"]
    print(table)
    print(
        f"\nidea flow on {c['trades']:,} trades: numba {c['kernel_s']:.2f} s vs pandas "
        f"{c['pandas_s']:.2f} s (identical flags)"
    )
    print(f"first run on tiny (compile or cache load): {results['first_run_tiny_s']:.1f} s")
    print(
        f"analyze {a['runs'][0]['dataset']['n_trades']:,} trades: {a['median_wall_s']:.1f} s, "
        f"peak RSS {a['peak_rss_gib']:.2f} GiB, target met: {a['target']['met']}"
    )


if __name__ == "__main__":
    main()
