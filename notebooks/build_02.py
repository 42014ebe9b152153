"""Build `02_experiments.ipynb` and run it, so that it is committed with its outputs
(run: python notebooks/build_02.py; `--no-run` builds the cells only).

The cells live in this script so that they stay reviewable as code; CI executes the
notebook again with nbclient on a reduced spec (IDEAFLOW_NB_PRESET=tiny,
IDEAFLOW_NB_SEEDS=3), see tests/test_notebook.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Experiments: one comparison over many platform draws, and the tuning experiment

A synthetic platform is one draw of a random world. A difference between two strategies
on one draw may be that draw's luck; the question a researcher asks is whether it holds
from draw to draw. `ideaflow.experiment` runs the same comparison on many seeds (and a
grid of settings), writes every cell as it finishes, and summarises each effect across
seeds: mean, spread, a t-interval over seeds and the share of seeds where it is positive
(`docs/experiments.md`).

The second half replays the eToro "tuning" experiment on the synthetic platform: a share
of traders is nudged to mirror one recommended leader — a complementary one, the top
performer, or a random one — and compared with the same traders in the untreated run of
the same draw.""",
    ),
    (
        "code",
        """import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import ideaflow
from ideaflow.api import experiment_text
from ideaflow.experiments import parse_spec

# CI runs this notebook on a reduced spec; a reader gets the `small` preset and 10 seeds
PRESET = os.environ.get("IDEAFLOW_NB_PRESET", "small")
N_SEEDS = int(os.environ.get("IDEAFLOW_NB_SEEDS", "10"))
SEEDS = list(range(1, N_SEEDS + 1))
OUT = Path(tempfile.mkdtemp(prefix="ideaflow_experiments_"))
started = time.perf_counter()
print(f"preset {PRESET}, {N_SEEDS} seeds, outputs in {OUT}")""",
    ),
    (
        "md",
        """## 1. A replicated comparison

`diverse` (the subject's own ideas, vetoed by evaluators from style clusters far from its
own) against `isolation` (every own idea) and the `placebo` (as many rejections as
`diverse`, chosen at random), at matched exposure, for two strengths of the error shared
inside a style cluster. The spec is the same dict a TOML file would hold.""",
    ),
    (
        "code",
        """spec = parse_spec(
    {
        "platform": {
            "preset": PRESET,
            "seeds": SEEDS,
            "overrides": {"cluster_error": [0.0, 1.0]},
        },
        "comparison": {
            "strategies": ["isolation", "diverse", "placebo"],
            "exposure": "matched",
            "n_boot": 200,
        },
    }
)
result = ideaflow.experiment(spec, OUT / "replicated", jobs=1)
print(experiment_text(result))""",
    ),
    (
        "code",
        """per_seed = result.per_seed
roi = per_seed[(per_seed["metric"] == "roi") & (per_seed["strategy_b"] == "isolation")]
fig, ax = plt.subplots(figsize=(7, 3.2))
labels = []
for y, ((err, a), part) in enumerate(roi.groupby(["cluster_error", "strategy_a"], sort=False)):
    labels.append(f"{a} - isolation, cluster_error={err:g}")
    ax.scatter(part["value"], np.full(len(part), y), color="#9aa5b1", s=14)
    ax.plot([part["value"].mean()], [y], "D", color="#c0392b")
ax.axvline(0, color="black", lw=0.8)
ax.set_yticks(range(len(labels)), labels)
ax.invert_yaxis()
ax.set_xlabel("difference in mean ROI per seed (dots) and its mean (diamond)")
plt.show()
share = result.effects.query("metric == 'roi' and strategy_a == 'diverse' and strategy_b == 'isolation'")
for row in share.itertuples():
    print(
        f"cluster_error={row.cluster_error:g}: diverse beat isolation in "
        f"{row.share_positive:.0%} of {row.n_seeds} seeds"
    )""",
    ),
    (
        "md",
        """Rerunning the same spec into the same directory resumes: finished cells are not run
again (the directory holds `spec.json`; another spec would be refused).""",
    ),
    (
        "code",
        """again = ideaflow.experiment(spec, OUT / "replicated", jobs=1)
print(f"cells run again: {again.n_run} of {len(spec.cells())}")""",
    ),
    (
        "md",
        """## 2. The tuning experiment

From day 30 (60 on larger presets), a fifth of the eligible traders is nudged to mirror
one recommended leader with a tenth of their equity. The treated traders are drawn from
a random stream of their own, so the market, the ideas and every other choice are those
of the untreated run: each treated trader is compared with himself untreated
(`roi30_vs_untreated`), with the control group (`roi30_vs_control`, difference in
differences) and with his own pre-period (`roi30_vs_pre`), and we see what happened to
his idea flow and the diversity of his sources.""",
    ),
    (
        "code",
        """tuning = parse_spec(
    {
        "platform": {"preset": PRESET, "seeds": SEEDS},
        "tuning": {"start_day": 30 if PRESET == "tiny" else 60, "share": 0.2, "allocation": 0.1},
    }
)
nudged = ideaflow.experiment(tuning, OUT / "tuning", jobs=1)
print(experiment_text(nudged))""",
    ),
    (
        "code",
        """effects = nudged.effects
measures = ["roi30_vs_untreated", "roi30_vs_control", "copies_per_day_change"]
fig, axes = plt.subplots(1, len(measures), figsize=(12, 3))
for ax, measure in zip(axes, measures):
    part = effects[effects["measure"] == measure]
    y = np.arange(len(part))
    err = np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
    ax.errorbar(part["mean"], y, xerr=np.nan_to_num(err), fmt="D", color="#3b6ea8")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, part["arm"])
    ax.set_title(measure, fontsize=9)
plt.tight_layout()
plt.show()
print(f"notebook ran in {time.perf_counter() - started:.0f} s")""",
    ),
    (
        "md",
        """What this can and cannot say: on the synthetic platform a nudge changes whom a trader
copies, not how he trades his own ideas, so the return change is the recommended
leader's contribution at that allocation. The published study's figures (and which of
them are confirmed) are in `docs/experiments.md`; to replay the arms on a real log, use
the `recommend`, `recommend-top` and `recommend-random` strategies in a
`dataset = "PATH"` spec.""",
    ),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    # committed with its outputs, like notebook 01 (`--no-run`: cells only)
    from build_01 import execute

    notebook = build()
    if "--no-run" not in sys.argv[1:]:
        execute(notebook)
    nbformat.write(notebook, HERE / "02_experiments.ipynb")
    print(HERE / "02_experiments.ipynb")
