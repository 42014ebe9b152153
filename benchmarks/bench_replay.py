"""Benchmark of the `mirror` replay: end to end (CLI) and per stage, against plain pandas.

    python benchmarks/bench_replay.py --trades 10_000_000 --traders 1_600_000 --follows 1_000_000
    python benchmarks/bench_replay.py --quick          # a small run to check the script

Steps: (1) correctness first: on a small platform the engine and the pandas baseline must
agree on every copy amount and account pnl; (2) end to end against the floor, in
alternating rounds: the floor (`floor.py`: a pyarrow read of the trades table plus the
bare fan-out of `bench_ceiling.py`, in a fresh process), then `ideaflow backtest
--strategy mirror` as a subprocess on the full platform (wall time, peak RSS, stage
timings from summary.json); each round's ratio is backtest / floor, the figure is the
median ratio; (3) the replay kernels alone, compile time apart; (4) the pandas
baseline at --baseline-trades, in a subprocess with its own peak RSS, and where it
breaks (MemoryError under a memory cap). Results go to benchmarks/results/replay.json
(no machine paths) and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ideaflow.synth.random_platform import build_platform, ensure_platform  # noqa: E402
from measure import add_platform_arguments  # noqa: E402
from measure import measure_child as child_peak  # noqa: E402
from pandas_baseline import mirror_replay  # noqa: E402


def check_correctness(seed: int) -> dict:
    """Engine vs pandas baseline on a small platform: copy amounts and account pnl agree."""
    import ideaflow
    from ideaflow.engine import ReplayConfig, replay
    from ideaflow.results.frames import accounts_frame

    tables = build_platform(20_000, 2_000, 3_000, seed=seed)
    trades = tables["trades"].to_pandas()
    follows = tables["follows"].to_pandas()
    ds = ideaflow.io.dataset_from_frames(tables["trades"], tables["follows"])
    res = replay(ds, ReplayConfig(strategy="mirror", depth=1))
    copies, accounts, iters = mirror_replay(trades, follows)
    book = res.book
    is_copy = book.hop > 0
    engine_amounts = np.sort(book.amount[is_copy])
    base_amounts = np.sort(copies["amount"].to_numpy())
    assert engine_amounts.shape == base_amounts.shape, (engine_amounts.shape, base_amounts.shape)
    np.testing.assert_allclose(engine_amounts, base_amounts, rtol=1e-9, atol=1e-9)
    eng = accounts_frame(res.metrics, ds.trader_ids).set_index("trader_id")
    base = accounts.set_index("trader_id")
    common = base.index
    np.testing.assert_allclose(eng.loc[common, "pnl"], base["pnl"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        eng.loc[common, "max_drawdown"], base["max_drawdown"], rtol=1e-9, atol=1e-12
    )
    return {
        "copies": int(is_copy.sum()),
        "accounts_compared": len(common),
        "pandas_fixed_point_iterations": iters,
    }


def time_kernels(data_dir: Path, repeats: int) -> dict:
    """Load once, then time replay repeatedly (first call includes Numba compile/cache load)."""
    import ideaflow
    from ideaflow.engine import ReplayConfig, replay

    t0 = time.perf_counter()
    ds = ideaflow.load_dataset(data_dir)
    load_s = time.perf_counter() - t0
    runs = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        res = replay(ds, ReplayConfig(strategy="mirror", depth=1))
        runs.append({"total_s": time.perf_counter() - t0, **res.timings})
    first, rest = runs[0], runs[1:]
    copies = int(res.counts.get("copies_generated", 0))
    kernel_key = next((k for k in ("replay_kernel", "replay") if k in rest[0]), None)
    kernel_s = statistics.median(r[kernel_key] for r in rest) if kernel_key else None
    return {
        "load_s": load_s,
        "first_call_s": first["total_s"],
        "median_replay_total_s": statistics.median(r["total_s"] for r in rest),
        "median_stage_s": {k: statistics.median(r[k] for r in rest) for k in rest[0]},
        "copies": copies,
        "kernel_stage": kernel_key,
        "copies_per_s_kernel": copies / kernel_s if kernel_s else None,
        "n_trades": len(ds.trades),
        "n_traders": ds.n_traders,
        "n_follows": len(ds.follows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_platform_arguments(parser)
    parser.add_argument("--baseline-trades", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--baseline-cap-gib", type=float, default=20.0)
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=3,
        help="alternating pandas / engine rounds per baseline size (speed-up: median ratio)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument(
        "--baseline-only",
        action="store_true",
        help="only step 5 (pandas vs engine); results go to results/replay_baseline.json",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the platforms are built and kept"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of an earlier commit: its backtest joins every round too (before/after)",
    )
    parser.add_argument(
        "--no-kernels",
        action="store_true",
        help="skip step 4 (the replay kernels in process)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip step 5 (pandas vs engine)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "replay.json")
    args = parser.parse_args()
    if args.quick:
        args.trades, args.traders, args.follows = 200_000, 20_000, 20_000
        args.baseline_trades, args.repeats, args.baseline_rounds = [100_000], 1, 1
        if args.out == HERE / "results" / "replay.json":
            # a check of the script, not a measurement: keep the recorded results
            args.out = Path(tempfile.gettempdir()) / "ideaflow-bench-quick.json"

    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        # no machine paths in the results
        "args": {k: str(v) for k, v in vars(args).items() if k not in ("workdir", "out", "before")},
    }
    print("1. correctness (engine vs pandas baseline, 20k trades) ...", flush=True)
    result["correctness"] = check_correctness(args.seed)
    print(f"   ok: {result['correctness']}", flush=True)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ideaflow-bench-"))
    print(
        f"2. platform {args.trades:,} trades / {args.traders:,} traders / "
        f"{args.follows:,} follows (built unless already in the workdir) ...",
        flush=True,
    )
    data_dir, built_s = ensure_platform(work, args.trades, args.traders, args.follows, args.seed)
    if built_s:
        result["build_platform_s"] = built_s

    if args.baseline_only:
        if args.out == HERE / "results" / "replay.json":
            args.out = HERE / "results" / "replay_baseline.json"
    else:
        _end_to_end_and_kernels(args, work, data_dir, result)
    if not args.no_baseline:
        _baseline(args, work, result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


def _end_to_end_and_kernels(
    args: argparse.Namespace, work: Path, data_dir: Path, result: dict
) -> None:
    print(
        "3. end to end: ideaflow backtest --strategy mirror (CLI subprocess), alternating "
        "with the floor ...",
        flush=True,
    )
    cli = [
        sys.executable,
        "-m",
        "ideaflow.cli",
        "backtest",
        str(data_dir),
        "--strategy",
        "mirror",
        "--out",
        str(work / "out"),
        "--overwrite",  # every repeat replaces the previous run
        "--no-plots",
        "--no-progress",
    ]
    floor_cmd = [sys.executable, str(HERE / "floor.py"), str(data_dir)]
    before_cmd = None
    if args.before is not None:
        # the same command on an earlier checkout (its own source first on the path)
        out_before = str(work / "out-before")
        before_cmd = ["env", f"PYTHONPATH={args.before / 'src'}"]
        before_cmd += [out_before if a == str(work / "out") else a for a in cli]
        result["before_commit"] = subprocess.run(
            ["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        child_peak(before_cmd)  # warm its Numba cache
    child_peak(cli)  # warm the Numba cache once; not counted
    child_peak(floor_cmd)
    rounds = []
    before_rounds = []
    for _ in range(args.repeats):
        if before_cmd is not None:
            old = child_peak(before_cmd)
            if old["returncode"] != 0:
                raise SystemExit(f"earlier backtest failed: {old['stderr_tail']}")
            before_rounds.append({"wall_s": old["wall_s"], "peak_rss_gib": old["peak_rss_gib"]})
            print(
                f"   before: {old['wall_s']:.1f} s, peak {old['peak_rss_gib']:.2f} GiB", flush=True
            )
        # the machine's speed drifts between minutes: floor and backtest alternate, and
        # each round compares the two at nearly the same moment
        floor_run = child_peak(floor_cmd)
        if floor_run["returncode"] != 0:
            raise SystemExit(f"floor failed: {floor_run['stderr_tail']}")
        floor = json.loads(floor_run["stdout"].strip().splitlines()[-1])
        run = child_peak(cli)
        if run["returncode"] != 0:
            raise SystemExit(f"backtest failed: {run['stderr_tail']}")
        summary = json.loads((work / "out" / "summary.json").read_text())
        rounds.append(
            {
                "wall_s": run["wall_s"],
                "peak_rss_gib": run["peak_rss_gib"],
                "stages_s": summary.get("timings_s", {}),
                "counts": summary.get("counts"),
                "floor": floor,
                "ratio": run["wall_s"] / floor["floor_s"],
            }
        )
        print(
            f"   round: backtest {run['wall_s']:.1f} s, peak {run['peak_rss_gib']:.2f} GiB; "
            f"floor {floor['floor_s']:.2f} s (read {floor['read_s']:.2f} + fan-out "
            f"{floor['fanout_s']:.2f}); ratio {rounds[-1]['ratio']:.1f}",
            flush=True,
        )
    result["end_to_end"] = {
        "median_wall_s": statistics.median(r["wall_s"] for r in rounds),
        "max_peak_rss_gib": max((r["peak_rss_gib"] or 0) for r in rounds),
        "median_floor_s": statistics.median(r["floor"]["floor_s"] for r in rounds),
        "median_ratio": statistics.median(r["ratio"] for r in rounds),
        "runs": rounds,
    }
    if before_rounds:
        result["before"] = {
            "median_wall_s": statistics.median(r["wall_s"] for r in before_rounds),
            "max_peak_rss_gib": max((r["peak_rss_gib"] or 0) for r in before_rounds),
            "median_ratio": statistics.median(
                b["wall_s"] / r["floor"]["floor_s"] for b, r in zip(before_rounds, rounds)
            ),
            "runs": before_rounds,
        }
    e2e = result["end_to_end"]
    print(
        f"   median {e2e['median_wall_s']:.1f} s, peak {e2e['max_peak_rss_gib']:.2f} GiB, "
        f"floor {e2e['median_floor_s']:.2f} s, ratio {e2e['median_ratio']:.1f}",
        flush=True,
    )

    if args.no_kernels:
        return
    print("4. replay kernels in process ...", flush=True)
    result["kernels"] = time_kernels(data_dir, args.repeats)
    print(f"   {result['kernels']}", flush=True)


def _baseline(args: argparse.Namespace, work: Path, result: dict) -> None:
    print("5. pandas baseline vs engine ...", flush=True)
    result["baseline"] = []
    for n in args.baseline_trades:
        n_traders = max(1_000, int(n * args.traders / args.trades))
        n_follows = max(1_000, int(n * args.follows / args.trades))
        small, _ = ensure_platform(work, n, n_traders, n_follows, args.seed)
        code = (
            f"import sys,time; sys.path.insert(0,{str(HERE)!r});"
            "import pandas as pd; from pandas_baseline import mirror_replay;"
            f"t=pd.read_parquet({str(small / 'trades.parquet')!r});"
            f"f=pd.read_parquet({str(small / 'follows.parquet')!r});"
            "t0=time.perf_counter(); c,a,i=mirror_replay(t,f);"
            "print(time.perf_counter()-t0, len(c), i)"
        )
        # the machine's speed drifts by up to ~35% between minutes: pandas and the engine
        # are measured in alternating rounds, and the speed-up is the median of the
        # rounds' ratios (each round compares the two at nearly the same moment)
        row: dict = {"trades": n, "traders": n_traders, "follows": n_follows, "rounds": []}
        for _ in range(max(1, args.baseline_rounds)):
            run = child_peak([sys.executable, "-c", code], mem_cap_gib=args.baseline_cap_gib)
            row["peak_rss_gib"] = max(row.get("peak_rss_gib", 0.0), run["peak_rss_gib"] or 0.0)
            if run["returncode"] != 0:
                row["pandas_failed"] = run["stderr_tail"].strip().splitlines()[-1:]
                break
            secs, copies, iters = run["stdout"].split()
            row.update(copies=int(copies), iterations=int(iters))
            eng = time_kernels(small, max(1, args.repeats))
            row["rounds"].append(
                {
                    "pandas_replay_s": float(secs),
                    "engine_replay_s": eng["median_replay_total_s"],
                    "speedup": float(secs) / eng["median_replay_total_s"],
                }
            )
        if row["rounds"]:
            rounds = row["rounds"]
            row["pandas_replay_s"] = statistics.median(r["pandas_replay_s"] for r in rounds)
            row["engine_replay_s"] = statistics.median(r["engine_replay_s"] for r in rounds)
            row["speedup"] = statistics.median(r["speedup"] for r in rounds)
        result["baseline"].append(row)
        print(f"   {row}", flush=True)


if __name__ == "__main__":
    main()
