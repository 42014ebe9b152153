"""Benchmark of `ideaflow report`: the HTML page of a comparison run, its time and size.

    python benchmarks/bench_report.py --run DIR          # DIR: an existing compare output
    python benchmarks/bench_report.py --preset medium    # generate, compare, then report
    python benchmarks/bench_report.py --quick            # tiny preset, checks the script

Steps: (1) correctness first: the page of the run is built twice and must be byte-identical,
must name every strategy of the comparison and hold one inline <svg> per figure and no
reference outside the file; (2) `ideaflow report RUN` as a child process, `--repeats`
times (wall time and peak RSS of the child, median reported), and the page's size.
Targets: a `compare` on `medium` reported in < 10 s; the page of `etoro2011` < 5 MB.
Results go to benchmarks/results/report.json (or `--out`) and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from ideaflow.reporting.html import report_html
from measure import measure_child

HERE = Path(__file__).resolve().parent
STRATEGIES = "isolation,herd,diverse,echo,placebo"


def _ideaflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "ideaflow", *args]


def _prepare(preset: str, work: Path) -> Path:
    data, run = work / f"{preset}-data", work / f"{preset}-compare"
    if not (data / "trades.parquet").exists():
        done = measure_child(_ideaflow("generate", "--preset", preset, "--out", str(data)))
        assert done["returncode"] == 0, done["stderr_tail"]
    if not (run / "comparison.parquet").exists():
        done = measure_child(
            _ideaflow(
                "compare", str(data), "--strategies", STRATEGIES, "--exposure", "matched",
                "--out", str(run), "--no-progress",
            )
        )  # fmt: skip
        assert done["returncode"] == 0, done["stderr_tail"]
    return run


def _check(run: Path) -> dict:
    page = report_html(run)
    assert page == report_html(run), "the same run must give the same page"
    names = json.loads((run / "comparison.json").read_text()).get("strategies", [])
    missing = [n for n in names if f">{n}<" not in page]
    assert not missing, f"strategies missing from the page: {missing}"
    for marker in ("<script", "<link", "<img", 'src="http'):
        assert marker not in page, marker
    return {"strategies": names, "svg_figures": page.count("<svg")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, default=None, help="an existing compare output")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny preset, one repeat")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "report.json")
    args = parser.parse_args()
    if args.quick:
        args.preset, args.repeats = "tiny", 1
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ideaflow-bench-report-"))
    run = args.run or _prepare(args.preset, work)
    checked = _check(run)
    target = work / "report.html"
    runs = []
    for _ in range(args.repeats):
        done = measure_child(_ideaflow("report", str(run), "--out", str(target)))
        assert done["returncode"] == 0, done["stderr_tail"]
        runs.append(done)
    result = {
        "workload": "ideaflow report of a compare run",
        "run": run.name,
        "preset": None if args.run else args.preset,
        **checked,
        "repeats": args.repeats,
        "wall_s_median": statistics.median(r["wall_s"] for r in runs),
        "wall_s": [round(r["wall_s"], 3) for r in runs],
        "peak_rss_gib": max(r["peak_rss_gib"] for r in runs),
        "page_bytes": target.stat().st_size,
        "machine": {
            "arch": platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    print(json.dumps(result, indent=2))
    if not args.quick:
        args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
