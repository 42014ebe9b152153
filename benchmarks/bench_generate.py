"""Benchmark of the synthetic platform generator: wall time, peak memory and rows per preset.

    python benchmarks/bench_generate.py                                # all four presets
    python benchmarks/bench_generate.py --presets tiny,small --repeats 3
    python benchmarks/bench_generate.py --quick                        # tiny only, to check the script

Steps: (1) correctness first: `tiny` generated twice gives byte-identical files that load
through the contract's validation; (2) compile: a `tiny` generation in a fresh process
(numba's on-disk cache makes later runs skip it); (3) each preset generated and written
(`ideaflow.synth.generate(..., out=DIR)`) in a fresh process under `/usr/bin/time -v`:
wall time, peak RSS, per-stage timings and row counts (median wall time of `--repeats`).
The target for `etoro2011` is < 180 s and < 8 GiB on a 2-core machine. There is no
baseline implementation to compare with: the generator is the only one of its kind here.
Results go to benchmarks/results/generate.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import measure_child

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 180.0
TARGET_GIB = 8.0


def _worker(preset: str, seed: int, out: str) -> None:
    """Generate one preset in this process and print its counts and stage timings."""
    from ideaflow.synth import generate

    began = time.perf_counter()
    platform_ = generate(preset, seed=seed, out=out)
    elapsed = time.perf_counter() - began
    print("RESULT " + json.dumps({"seconds": elapsed, "counts": platform_.counts,
                                  "stages": platform_.timings}))  # fmt: skip


def _run(preset: str, seed: int, out: Path) -> dict:
    """One generation in a fresh process, measured by /usr/bin/time -v when available."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", preset, str(seed), str(out)]
    run = measure_child(cmd)
    if run["returncode"] != 0:
        raise SystemExit(f"generation of {preset} failed:\n{run['stdout']}\n{run['stderr']}")
    line = next(x for x in run["stdout"].splitlines() if x.startswith("RESULT "))
    record = json.loads(line[len("RESULT ") :])
    record["wall_seconds"] = run["wall_s"]
    record["peak_rss_gib"] = run["peak_rss_gib"]
    record["bytes_on_disk"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return record


def _check_correctness(workdir: Path) -> None:
    from ideaflow.io import load_dataset
    from ideaflow.synth import generate

    a, b = workdir / "check_a", workdir / "check_b"
    generate("tiny", seed=0, out=a)
    generate("tiny", seed=0, out=b)
    for path in sorted(p for p in a.rglob("*") if p.is_file()):
        other = b / path.relative_to(a)
        if path.read_bytes() != other.read_bytes():
            raise SystemExit(f"not deterministic: {path.relative_to(a)}")
    load_dataset(a)
    print("correctness: tiny is byte-identical across runs and passes validation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="tiny,small,medium,etoro2011")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny only")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "generate.json")
    parser.add_argument(
        "--worker", nargs=3, metavar=("PRESET", "SEED", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], int(args.worker[1]), args.worker[2])
        return

    presets = ["tiny"] if args.quick else [p.strip() for p in args.presets.split(",") if p.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="ideaflow-bench-generate-"))
    results: dict[str, dict] = {}
    try:
        _check_correctness(workdir)
        began = time.perf_counter()
        _run("tiny", args.seed, workdir / "compile")
        compile_seconds = time.perf_counter() - began
        print(f"compile + first tiny run in a fresh process: {compile_seconds:.1f} s")
        for preset in presets:
            runs = []
            for i in range(args.repeats):
                out = workdir / f"{preset}_{i}"
                runs.append(_run(preset, args.seed, out))
                shutil.rmtree(out, ignore_errors=True)
                print(f"  {preset} run {i + 1}: {runs[-1]['wall_seconds']:.1f} s", flush=True)
            best = runs[0]
            walls = [r["wall_seconds"] for r in runs]
            rss = [r["peak_rss_gib"] for r in runs if r["peak_rss_gib"] is not None]
            results[preset] = {
                "wall_seconds_median": statistics.median(walls),
                "wall_seconds": walls,
                # in-process time of generate() (excludes interpreter start and imports)
                "generate_seconds": [r["seconds"] for r in runs],
                "peak_rss_gib": max(rss) if rss else None,
                "counts": best["counts"],
                "stage_seconds": best["stages"],
                "bytes_on_disk": best["bytes_on_disk"],
                "trades_per_second": best["counts"]["trades"] / statistics.median(walls),
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "benchmark": "generate",
        "seed": args.seed,
        "repeats": args.repeats,
        "compile_seconds": compile_seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "targets": {"etoro2011": {"seconds": TARGET_SECONDS, "peak_rss_gib": TARGET_GIB}},
        "presets": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")

    header = f"{'preset':<10}{'traders':>11}{'ideas':>12}{'copies':>11}{'trades':>12}"
    header += f"{'follows':>11}{'gen s':>8}{'wall s':>9}{'peak GiB':>10}{'MB disk':>9}"
    print(header)
    for preset, r in results.items():
        c = r["counts"]
        rss = f"{r['peak_rss_gib']:.2f}" if r["peak_rss_gib"] is not None else "n/a"
        print(
            f"{preset:<10}{c['traders']:>11,}{c['original_trades']:>12,}{c['copied_trades']:>11,}"
            f"{c['trades']:>12,}{c['follows']:>11,}{min(r['generate_seconds']):>8.1f}"
            f"{r['wall_seconds_median']:>9.1f}{rss:>10}"
            f"{r['bytes_on_disk'] / 1e6:>9.1f}"
        )
    if "etoro2011" in results:
        r = results["etoro2011"]
        ok = r["wall_seconds_median"] < TARGET_SECONDS and (r["peak_rss_gib"] or 0) < TARGET_GIB
        print(f"etoro2011 target (< {TARGET_SECONDS:.0f} s, < {TARGET_GIB:.0f} GiB): "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
