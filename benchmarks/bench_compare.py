"""Benchmark of `ideaflow compare` (docs/contract.md §5 strategies) on a generated preset.

    python benchmarks/bench_compare.py --preset medium          # target: < 2 min
    python benchmarks/bench_compare.py --preset etoro2011       # target: < 15 min, 12 GiB
    python benchmarks/bench_compare.py --quick                  # tiny preset, checks the script
    python benchmarks/bench_compare.py --preset medium --exposure matched \
        --strategies isolation,diverse,echo,popular,expert,placebo   # target: < 2 min
    python benchmarks/bench_compare.py --preset etoro2011 --report \
        --backends local,dask-1,dask-2    # target (local): < 3 min, < 8 GiB; Dask reported

Steps: (1) correctness first, on the `tiny` preset: placebo rejects exactly as many ideas
per subject as diverse, every strategy has the same subjects, and the vote kernel agrees
with a plain pandas/Python vote on a sample of ideas; (2) the dataset is generated once
(`ideaflow generate`, cached under benchmarks/.data/); (3) compile time apart: a warm-up
`compare` on the tiny preset; (4) end to end: `ideaflow compare` as a subprocess (wall
time, peak RSS of the child) plus per-strategy stage timings from each summary.json;
(5) throughput of the vote kernel against the plain Python vote on the same ideas.
With `--backends`, each run uses one backend in turn (`local`, or `dask-N`: a local Dask
cluster of N workers, `--backend dask --jobs N`), and every Parquet file a Dask run
writes is compared byte for byte with the first local run's.
Results go to benchmarks/results/compare.json (compare_PRESET.json for other presets, with
_matched or _backends added) and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from measure import measure_child as run_child

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
STRATEGIES = "isolation,herd,diverse,echo,placebo"


def dataset(preset: str, seed: int) -> Path:
    path = DATA / f"{preset}-{seed}"
    if not (path / "trades").exists() and not (path / "trades.parquet").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        res = run_child(
            [
                sys.executable,
                "-m",
                "ideaflow",
                "generate",
                "--preset",
                preset,
                "--seed",
                str(seed),
                "--out",
                str(path),
            ]
        )
        if res["returncode"] != 0:
            raise SystemExit(f"generate failed:\n{res['stderr_tail']}")
        print(f"generated {preset} in {res['wall_s']:.1f} s")
    return path


def python_votes(ds, runner, decisions, sample: np.ndarray) -> np.ndarray:
    """A plain pandas/Python vote per idea (the obviously-correct baseline)."""
    import pandas as pd

    t = ds.trades
    positions = pd.DataFrame(
        {
            "trader": t.trader,
            "instrument": t.instrument,
            "side": t.side,
            "open": t.open_time,
            "close": t.close_time,
        }
    )
    by_key = {
        key: g.sort_values("open", kind="stable")
        for key, g in positions.groupby(["trader", "instrument"], sort=False)
    }
    window = runner.params.window_ns
    sets = decisions.sets.reshape(-1, decisions.sets.shape[2])
    out = np.zeros(sample.shape[0], dtype=np.int64)
    for n, i in enumerate(sample):
        row = decisions.row[i]
        when, inst, side = int(t.open_time[row]), int(t.instrument[row]), int(t.side[row])
        total = 0
        for evaluator in sets[
            int(decisions.subject[i]) * runner.frame.n_periods + int(decisions.period[i])
        ]:
            if evaluator < 0 or (int(evaluator), inst) not in by_key:
                continue
            g = by_key[(int(evaluator), inst)]
            g = g[g["open"] < when]
            g = g[(g["open"] >= when - window) | (g["close"] > when)]
            if len(g):
                total += 1 if int(g["side"].iloc[-1]) == side else -1
        out[n] = total
    return out


def check_and_vote_throughput(path: Path, n_sample: int) -> dict:
    from ideaflow.io import load_dataset
    from ideaflow.strategies import StrategyParams, StrategyRunner

    ds = load_dataset(path)
    runner = StrategyRunner(ds, StrategyParams())
    started = time.perf_counter()
    diverse = runner.decisions("diverse")
    decide_s = time.perf_counter() - started
    placebo = runner.decisions("placebo")
    n_subjects = runner.frame.n_subjects
    same = np.array_equal(
        np.bincount(diverse.subject[~diverse.taken], minlength=n_subjects),
        np.bincount(placebo.subject[~placebo.taken], minlength=n_subjects),
    )
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(diverse), min(n_sample, len(diverse)), replace=False))
    started = time.perf_counter()
    reference = python_votes(ds, runner, diverse, sample)
    python_s = time.perf_counter() - started
    agree = bool(np.array_equal(reference, diverse.support[sample]))
    return {
        "placebo_matches_diverse_rejections": bool(same),
        "votes_agree_with_python": agree,
        "ideas": len(diverse),
        "diverse_decide_s": decide_s,
        "python_vote_ideas_per_s": len(sample) / python_s if python_s else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--exposure", default="as-logged", choices=["as-logged", "matched"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny preset only")
    parser.add_argument("--sample", type=int, default=300, help="ideas for the Python vote")
    parser.add_argument(
        "--backends",
        default="local",
        help="comma-separated: local, dask-N (a local Dask cluster of N workers); one run each",
    )
    parser.add_argument("--report", action="store_true", help="also write report.html")
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="an existing dataset of the preset and seed (instead of benchmarks/.data/)",
    )
    args = parser.parse_args()
    preset = "tiny" if args.quick else args.preset
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in backends:
        if backend != "local" and not (
            backend.startswith("dask-") and backend[5:].isdigit() and int(backend[5:]) >= 1
        ):
            raise SystemExit(f"--backends: expected local or dask-N; found {backend!r}")

    tiny = dataset("tiny", args.seed)
    check = check_and_vote_throughput(tiny, args.sample)
    print("correctness (tiny):", check)
    if not (check["placebo_matches_diverse_rejections"] and check["votes_agree_with_python"]):
        raise SystemExit("correctness check failed")

    cmd_base = [sys.executable, "-m", "ideaflow", "compare"]
    with tempfile.TemporaryDirectory() as tmp:
        warm = run_child(
            [
                *cmd_base,
                str(tiny),
                "--strategies",
                args.strategies,
                "--out",
                f"{tmp}/warm",
                "--no-plots",
                "--n-boot",
                "100",
            ]
        )
        path = args.dataset if args.dataset is not None else dataset(preset, args.seed)
        runs = []
        reference: Path | None = None
        for r, backend in [(r, b) for r in range(args.repeats) for b in backends]:
            out = Path(tmp) / f"run{r}-{backend}"
            extra = ["--report"] if args.report else []
            if backend != "local":
                extra += ["--backend", "dask", "--jobs", backend[5:]]
            res = run_child(
                [
                    *cmd_base,
                    str(path),
                    "--strategies",
                    args.strategies,
                    "--exposure",
                    args.exposure,
                    "--out",
                    str(out),
                    "--no-progress",
                    *extra,
                ]
            )
            if res["returncode"] != 0:
                raise SystemExit(f"compare failed:\n{res['stderr_tail']}")
            res["backend"] = backend
            if backend == "local" and reference is None:
                reference = out
            elif reference is not None:
                files = sorted(p.relative_to(reference) for p in reference.rglob("*.parquet"))
                differ = [
                    str(f) for f in files if (reference / f).read_bytes() != (out / f).read_bytes()
                ]
                res["parquet_files_compared"] = len(files)
                res["parquet_files_differing"] = differ
                print(f"{backend}: {len(files)} Parquet files compared, {len(differ)} differ")
            stages = {}
            for name in args.strategies.split(","):
                summary = json.loads((out / name / "summary.json").read_text())
                stages[name] = summary["timings_s"]
                stages[name]["positions"] = summary["counts"].get("positions")
            res["stages"] = stages
            runs.append(res)
        table = runs[-1]["stdout"]
    walls = sorted(r["wall_s"] for r in runs if r["backend"] == backends[0])
    by_backend = {
        b: {
            "wall_s": [r["wall_s"] for r in runs if r["backend"] == b],
            "peak_rss_gib": max(r["peak_rss_gib"] or 0 for r in runs if r["backend"] == b),
            "parquet_files_compared": max(
                (r.get("parquet_files_compared", 0) for r in runs if r["backend"] == b), default=0
            ),
            "parquet_files_differing": sorted(
                {f for r in runs if r["backend"] == b for f in r.get("parquet_files_differing", [])}
            ),
        }
        for b in backends
    }
    result = {
        "preset": preset,
        "seed": args.seed,
        "strategies": args.strategies,
        "exposure": args.exposure,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "correctness_tiny": check,
        "warmup_compile_wall_s": warm["wall_s"],
        "report": args.report,
        "backends": by_backend,
        "compare_wall_s_median": walls[len(walls) // 2],
        "compare_wall_s_all": walls,
        "peak_rss_gib": by_backend[backends[0]]["peak_rss_gib"],
        "stages": runs[-1]["stages"],
        "table": table,
    }
    (HERE / "results").mkdir(exist_ok=True)
    # the `medium` target is the headline figure; other presets get their own file
    name = "compare" if preset == "medium" else f"compare_{preset}"
    if args.exposure == "matched":
        name += "_matched"
    if backends != ["local"]:
        name += "_backends"
    target = HERE / "results" / f"{name}.json"
    target.write_text(json.dumps(result, indent=2))
    print(table)
    for backend, figures in by_backend.items():
        print(
            f"{backend}: wall {', '.join(f'{w:.1f}' for w in figures['wall_s'])} s, peak RSS "
            f"{figures['peak_rss_gib']:.2f} GiB (the largest process)"
        )
    print(
        f"\n{preset}: compare {walls[len(walls) // 2]:.1f} s (median of {len(walls)}), "
        f"peak RSS {result['peak_rss_gib']:.2f} GiB, warm-up/compile "
        f"{warm['wall_s']:.1f} s; vote kernel vs Python: see {target}"
    )


if __name__ == "__main__":
    main()
