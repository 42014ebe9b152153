"""Benchmark of `ideaflow experiment` (docs/experiments.md) on each backend.

    python benchmarks/bench_experiment.py                 # 10 seeds x small x 5 strategies
    python benchmarks/bench_experiment.py --quick         # 2 seeds of tiny: checks the script

The issue-12 target: 10 seeds of the `small` preset x (isolation, diverse, echo, popular,
placebo) in under 5 minutes with `--jobs 2`. Steps: a warm-up run on `tiny` (so the
Numba caches are written and no backend pays the compile time), then the same spec with
`--backend local --jobs 1`, `--backend local --jobs 2` and `--backend dask --jobs 2`, each
as a child process (wall time, peak RSS of the child: the driver, plus its worker threads
for the Dask local cluster; joblib worker processes are not counted), each into a fresh
directory; then every output file is compared across the backends (they must be
identical). Results go to benchmarks/results/experiment.json and are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from measure import measure_child

HERE = Path(__file__).resolve().parent
STRATEGIES = ["isolation", "diverse", "echo", "popular", "placebo"]
BACKENDS = {
    "local_jobs1": ["--backend", "local", "--jobs", "1"],
    "local_jobs2": ["--backend", "local", "--jobs", "2"],
    "dask_jobs2": ["--backend", "dask", "--jobs", "2"],
}


def spec_text(preset: str, seeds: int) -> str:
    names = ", ".join(f'"{n}"' for n in STRATEGIES)
    return (
        f'[platform]\npreset = "{preset}"\nseeds = {list(range(1, seeds + 1))}\n\n'
        f"[comparison]\nstrategies = [{names}]\n"
    )


def digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 seeds of tiny")
    args = parser.parse_args()
    preset, seeds = ("tiny", 2) if args.quick else (args.preset, args.seeds)
    cli = [sys.executable, "-m", "ideaflow", "experiment"]
    results: dict = {
        "preset": preset,
        "seeds": seeds,
        "strategies": STRATEGIES,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warm = root / "warm.toml"
        warm.write_text(spec_text("tiny", 1))
        measure_child([*cli, str(warm), "--out", str(root / "warm"), "--no-progress"])
        spec = root / "spec.toml"
        spec.write_text(spec_text(preset, seeds))
        digests = {}
        for name, options in BACKENDS.items():
            out = root / name
            run = measure_child([*cli, str(spec), "--out", str(out), "--no-progress", *options])
            if run["returncode"] != 0:
                raise SystemExit(f"{name} failed:\n{run['stderr_tail']}")
            results["runs"][name] = {
                "wall_s": round(run["wall_s"], 2),
                "peak_rss_gib": round(run["peak_rss_gib"], 3),
            }
            digests[name] = digest(out)
            print(f"{name:<12} {run['wall_s']:7.1f} s  {run['peak_rss_gib']:.2f} GiB", flush=True)
        first = next(iter(digests.values()))
        results["identical_outputs"] = all(d == first for d in digests.values())
        results["n_files"] = len(first)
    results["target_s"] = 300
    results["target_met"] = all(r["wall_s"] < 300 for r in results["runs"].values())
    print(json.dumps(results, indent=2))
    if not args.quick:
        out = HERE / "results" / "experiment.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
