"""`ideaflow demo`: generate the `small` platform, run the headline comparison, plot, report.

The headline comparison runs at matched exposure (each subject's positions rescaled to
its exposure under isolation, docs/strategies.md) over isolation, the evaluator choices
under one vote (diverse, diverse-random, echo, popular, expert), the placebo and the herd
(`ideaflow.compare`). A plot of ROI against the share of a trader's trades that are copies
in the `mirror` replay (a simple proxy of idea flow, docs/contract.md §6) is saved too,
since the inverted U is what the platform plants.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ideaflow.api.runs import compare, text
from ideaflow.engine import ReplayConfig, replay
from ideaflow.io import load_dataset
from ideaflow.io.rundir import RunDirectory
from ideaflow.reporting.figures import save_figure
from ideaflow.reporting.html import write_report
from ideaflow.strategies import StrategyParams
from ideaflow.synth.generate import generate

HEADLINE_STRATEGIES = (
    "isolation",
    "diverse",
    "diverse-random",
    "echo",
    "popular",
    "expert",
    "placebo",
    "herd",
)
HEADLINE_EXPOSURE = "matched"  # judgment at equal capital at work, not trading volume


def run_demo(
    out: str | Path | None = None,
    *,
    seed: int = 0,
    preset: str = "small",
    progress: bool = False,
    echo: Callable[[str], Any] = print,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Run the demo into `out` (a new temporary directory when None); return what was written.

    `out/dataset` and `out/results` are run directories (`ideaflow.io.rundir`, with
    `command` in their manifests): each is written as a unit and replaces the one an
    earlier demo left there; a directory holding anything else is refused.
    """
    began = time.perf_counter()
    root = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="ideaflow-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "dataset"
    results_dir = root / "results"

    echo(f"[1/3] generating the '{preset}' platform (seed {seed}) into {data_dir}")
    with RunDirectory(data_dir, overwrite=True, command=command) as run:
        platform = generate(preset, seed=seed, out=run.path, progress=progress)
    c = platform.counts
    echo(
        f"      {c['traders']:,} traders, {c['original_trades']:,} ideas, "
        f"{c['copied_trades']:,} logged copies, {c['follows']:,} follows"
    )
    ds = load_dataset(data_dir)
    mirror = replay(ds, ReplayConfig(strategy="mirror", depth=1))

    with RunDirectory(results_dir, overwrite=True, command=command, dataset=data_dir) as run:
        table = _headline(ds, run.path, seed, progress, echo)
        echo("")
        echo(table)
        echo("")

        echo("[3/3] plotting ROI against idea flow")
        bins = idea_flow_bins(mirror.metrics.n_social, mirror.metrics.n_trades, mirror.metrics.roi)
        _plot_bins(bins, run.path / "idea_flow_roi.png")
    plot_path = results_dir / "idea_flow_roi.png"
    report_path = write_report(results_dir)
    echo(_bins_text(bins))
    elapsed = time.perf_counter() - began
    echo("")
    echo(f"dataset : {data_dir}")
    echo(f"results : {results_dir}")
    echo(f"plot    : {plot_path}")
    echo(f"done in {elapsed:.1f} s")
    echo(f"report  : {report_path}")
    return {
        "root": root,
        "dataset": data_dir,
        "results": results_dir,
        "plot": plot_path,
        "report": report_path,
    }


def _headline(ds: Any, results_dir: Path, seed: int, progress: bool, echo) -> str:
    """The headline comparison with its plots; returns the printed table."""
    echo(
        f"[2/3] comparing strategies {', '.join(HEADLINE_STRATEGIES)} "
        f"at {HEADLINE_EXPOSURE} exposure"
    )
    result = compare(
        ds,
        list(HEADLINE_STRATEGIES),
        StrategyParams(seed=seed, exposure=HEADLINE_EXPOSURE),
        results_dir,
        plots=True,
        progress=progress,
    )
    return text(result)


def idea_flow_bins(
    n_social: np.ndarray, n_trades: np.ndarray, roi: np.ndarray, edges: tuple[float, ...] = ()
) -> list[tuple[float, float, int, float]]:
    """Mean ROI of active traders per bin of copy share (copies / all trades).

    Returns (low, high, traders, mean ROI) per bin; the first bin holds the isolated
    traders (share exactly 0).
    """
    edges = edges or (0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)
    n_trades = np.asarray(n_trades, dtype=np.float64)
    active = n_trades >= 5
    share = np.divide(n_social, n_trades, out=np.zeros_like(n_trades), where=n_trades > 0)
    rows: list[tuple[float, float, int, float]] = []
    isolated = active & (share == 0)
    rows.append((0.0, 0.0, int(isolated.sum()), _mean(roi[isolated])))
    for low, high in zip(edges[:-1], edges[1:]):
        inside = active & (share > low) & (share <= high)
        rows.append((low, high, int(inside.sum()), _mean(roi[inside])))
    return rows


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def _bins_text(rows: list[tuple[float, float, int, float]]) -> str:
    lines = ["copy share      traders   mean ROI"]
    for low, high, n, mean in rows:
        label = "isolated (0)" if high == 0 else f"({low:.2f}, {high:.2f}]"
        lines.append(f"{label:<14}{n:>9,}   {mean:+.4f}")
    return "\n".join(lines)


def _plot_bins(rows: list[tuple[float, float, int, float]], path: Path) -> None:
    labels = ["0" if high == 0 else f"{low:.2f}-{high:.2f}" for low, high, _, _ in rows]
    means = [mean for _, _, _, mean in rows]
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.bar(range(len(rows)), means, color=["#888888"] + ["#3b75af"] * (len(rows) - 1))
    ax.set_xticks(range(len(rows)), labels, rotation=30)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("share of a trader's trades that are copies (idea-flow proxy)")
    ax.set_ylabel("mean ROI")
    ax.set_title("ROI by idea flow (mirror replay of the synthetic platform)")
    save_figure(fig, path)
