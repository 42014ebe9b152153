"""Build `01_network_diversity.ipynb` from the cells below, and run it so that it is
committed with its outputs (figures visible on first open):

    python notebooks/build_01.py            # build and execute on the `small` preset
    python notebooks/build_01.py --no-run   # build only (no outputs)

The cells live in this script so that they stay reviewable as code; CI executes the
notebook again with nbclient on a reduced platform (IDEAFLOW_NB_PRESET=tiny), see
tests/test_notebook.py, and checks that the committed cells are these.
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
        """# Network diversity, echo chambers and the inverted U

Pentland's *Beyond the Echo Chamber* (HBR, 2013) reports that on an online FX platform
traders with the *right amount* of idea flow earned about 30% more than both isolated
traders and traders caught in an echo chamber: an **inverted U** of return against idea
flow. Joseph et al. (2025) add that people pick whom to mirror by **popularity**, which
tracks performance poorly.

Neither effect is a law of nature; both depend on *why* listening to others helps or
hurts. This notebook uses ideaflow's synthetic platform, where we can turn the causes on
and off, and `ideaflow.analytics.analyze` — the same analysis a researcher runs on real
logs — to ask two questions:

1. **Shared error.** Traders in a style cluster share part of their mistakes. When that
   shared error grows, listening to one's own cluster should become an echo chamber. Does
   the inverted U sharpen, and does the gap between traders with diverse and with
   homogeneous sources widen?
2. **Popularity vs performance.** If mirroring tilted from popularity towards
   performance, would popularity start to mean something, and would idea flow pay more?

Definitions (idea flow, source diversity, tie density, ...) are in `docs/analytics.md`.
Every number below comes with the way it was computed, in `result.findings`.""",
    ),
    (
        "code",
        """import os
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import ideaflow
from ideaflow.analytics import analyze, binned_fit
from ideaflow.io import dataset_from_frames
from ideaflow.synth import PRESETS, generate

# CI runs this notebook on a reduced platform; a reader gets the `small` preset
PRESET = os.environ.get("IDEAFLOW_NB_PRESET", "small")
SCALE = float(os.environ.get("IDEAFLOW_NB_SCALE", "1.0"))
N_BOOT = int(os.environ.get("IDEAFLOW_NB_BOOT", "200"))
SEED = 0
N_TRADERS = max(100, int(PRESETS[PRESET].n_traders * SCALE))
started = time.perf_counter()
print(f"preset {PRESET}, {N_TRADERS} traders, {N_BOOT} bootstrap replicates")


def platform(**overrides):
    \"\"\"Generate a platform (seeded) and return it as a validated Dataset.\"\"\"
    g = generate(PRESET, seed=SEED, overrides={"n_traders": N_TRADERS, **overrides})
    return dataset_from_frames(**g.frames())


def run(**overrides):
    return analyze(platform(**overrides), n_boot=N_BOOT, seed=SEED)""",
    ),
    (
        "md",
        """## 1. The baseline platform

First the platform as the preset draws it. The table is what `ideaflow analyze DATASET
--out DIR` prints: each finding with its 95% interval and, where there is one, the
published figure next to it.""",
    ),
    (
        "code",
        """base = run()
print(ideaflow.text(base))""",
    ),
    (
        "md",
        """The per-trader table has one row per trader. Idea flow is bimodal on a copy-trading
platform: isolated traders sit at 0, pure copiers at 1, and the interesting traders —
those who both trade their own ideas and listen — sit in between.""",
    ),
    (
        "code",
        """traders = base.traders
cols = [
    "idea_flow",
    "diversity",
    "cluster_entropy",
    "tie_density",
    "reciprocity",
    "exploration_rate",
    "roi",
]
display(traders[cols].describe().T.round(4))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
traders["idea_flow"].dropna().plot.hist(bins=30, ax=axes[0], color="C0")
axes[0].set_xlabel("idea flow")
axes[0].set_title("Idea flow across traders")
iu = base.findings["inverted_u"]["fit"]["bins"]
x = [b["x_mean"] for b in iu]
y = [b["y_mean"] for b in iu]
err = [
    [b["y_mean"] - (b["y_lo"] if b["y_lo"] is not None else b["y_mean"]) for b in iu],
    [(b["y_hi"] if b["y_hi"] is not None else b["y_mean"]) - b["y_mean"] for b in iu],
]
axes[1].errorbar(x, y, yerr=err, fmt="o-", capsize=3)
axes[1].set_xlabel("idea flow (bin mean)")
axes[1].set_ylabel("mean ROI")
axes[1].set_title("Return against idea flow, 95% intervals")
plt.tight_layout()
plt.show()""",
    ),
    (
        "md",
        """`binned_fit` is public and works on any two arrays. Here it relates ROI to source
diversity (1 − mean correlation of one's leaders' daily PnL) — the "diverse evaluators"
half of the story — among traders with at least two leaders.""",
    ),
    (
        "code",
        """ok = traders["diversity"].notna()
fit = binned_fit(
    traders.loc[ok, "diversity"],
    traders.loc[ok, "roi"],
    bins=5,
    transform="linear",
    fit="linear",
    n_boot=N_BOOT,
)
display(fit.table.round(4))
print(f"slope {fit.slope:.4f} (p = {fit.pvalues[1]:.3g}), R^2 = {fit.r2:.4f}, n = {fit.n}")""",
    ),
    (
        "md",
        """## 2. Growing the shared cluster error

`cluster_error` is the standard deviation of the error that members of a style cluster
share (0 = independent mistakes). We regenerate the platform with the same seed for each
value and record the curvature of the inverted U, where its peak lies, the uplift of the
best idea-flow bin over the lowest- and highest-flow bins, and the ROI gap between traders
in the top and the bottom third of source diversity.""",
    ),
    (
        "code",
        """def summary(result):
    f = result.findings
    iu, net, pop = f["inverted_u"], f["network"], f["popularity_vs_performance"]
    return {
        "curvature": iu.get("curvature", np.nan),
        "curvature_p": iu.get("curvature_p", np.nan),
        "peak_flow": iu.get("peak_x", np.nan),
        "peak_inside": iu.get("peak_inside", False),
        "uplift_vs_lowest_pts": iu.get("uplift_vs_lowest_pts", {}).get("value", np.nan),
        "uplift_vs_highest_pts": iu.get("uplift_vs_highest_pts", {}).get("value", np.nan),
        "diverse_minus_echo": net.get("diverse_minus_echo", np.nan),
        "spearman_trailing": pop["spearman_trailing"]["value"],
        "spearman_next": pop["spearman_next"]["value"],
        "per_trader_corr": pop["per_trader"]["mean"],
    }


errors = [0.0, 1.0, 2.0, 4.0]
by_error = pd.DataFrame(
    [summary(run(cluster_error=e)) for e in errors], index=pd.Index(errors, name="cluster_error")
)
display(by_error.round(4))""",
    ),
    (
        "code",
        """fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(by_error.index, by_error["curvature"], "o-")
axes[0].axhline(0, color="0.6", lw=0.8)
axes[0].set_xlabel("shared cluster error")
axes[0].set_ylabel("curvature of ROI on flow²")
axes[0].set_title("Inverted U (negative = U upside down)")
axes[1].plot(by_error.index, by_error["diverse_minus_echo"], "o-", color="C1")
axes[1].axhline(0, color="0.6", lw=0.8)
axes[1].set_xlabel("shared cluster error")
axes[1].set_ylabel("ROI, diverse − echo")
axes[1].set_title("Diverse vs echo-chamber sources")
plt.tight_layout()
plt.show()""",
    ),
    (
        "md",
        """How to read this: a negative curvature with its peak inside the observed range is
an inverted U; its p-value says whether the sample can tell it from a straight line. A
positive *diverse − echo* gap means traders whose leaders' PnL is less correlated earned
more. On a single seeded platform both are noisy — the intervals in the findings, not the
point estimates, say how much to trust a difference between two rows.""",
    ),
    (
        "md",
        """## 3. Tilting mirroring from popularity to performance

The generator's choice weights say how much a trader's follower count (`w_popularity`)
and its trailing performance (`w_performance`) make it attractive to mirror. The 2025
study estimates that performance weighs about 46 times less than popularity. We move
from that regime to one where only performance counts.""",
    ),
    (
        "code",
        """tilts = [
    ("popularity only", {"w_popularity": 1.0, "w_performance": 0.0}),
    ("2025 estimate (1/46)", {"w_popularity": 1.0, "w_performance": 1 / 46}),
    ("balanced", {"w_popularity": 1.0, "w_performance": 1.0}),
    ("performance only", {"w_popularity": 0.0, "w_performance": 2.0}),
]
by_tilt = pd.DataFrame(
    [summary(run(**kw)) for _, kw in tilts],
    index=pd.Index([name for name, _ in tilts], name="mirroring"),
)
display(by_tilt.round(4))""",
    ),
    (
        "code",
        """fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
pos = np.arange(len(by_tilt))
axes[0].bar(pos - 0.2, by_tilt["spearman_trailing"], 0.4, label="trailing ROI")
axes[0].bar(pos + 0.2, by_tilt["spearman_next"], 0.4, label="next-period ROI")
axes[0].set_xticks(pos, by_tilt.index, rotation=20)
axes[0].set_ylabel("Spearman with follower count")
axes[0].legend()
axes[0].set_title("Does popularity mean performance?")
axes[1].bar(pos, by_tilt["curvature"], color="C2")
axes[1].set_xticks(pos, by_tilt.index, rotation=20)
axes[1].axhline(0, color="0.6", lw=0.8)
axes[1].set_ylabel("curvature of ROI on flow²")
axes[1].set_title("Inverted U")
plt.tight_layout()
plt.show()""",
    ),
    (
        "md",
        """If mirroring follows trailing performance, follower counts should correlate with
*trailing* ROI; whether they also predict *next-period* ROI depends on how persistent
skill is on the platform — the next-period column is the one a follower cares about.

## 4. What to take away

The cell below prints the comparison in words from the numbers computed above, so the
conclusion always matches the run (and the reduced run in CI).""",
    ),
    (
        "code",
        """def sign_word(v):
    return "negative" if v < 0 else "positive" if v > 0 else "zero"


lo, hi = by_error.iloc[0], by_error.iloc[-1]
print(
    f"Shared cluster error {by_error.index[0]:g} -> {by_error.index[-1]:g}: curvature "
    f"{lo.curvature:+.4f} -> {hi.curvature:+.4f} ({sign_word(hi.curvature - lo.curvature)} "
    f"change); diverse-minus-echo ROI gap {lo.diverse_minus_echo:+.4f} -> "
    f"{hi.diverse_minus_echo:+.4f}."
)
first, last = by_tilt.iloc[0], by_tilt.iloc[-1]
print(
    f"Mirroring by popularity -> by performance: Spearman(followers, trailing ROI) "
    f"{first.spearman_trailing:+.3f} -> {last.spearman_trailing:+.3f}; with next-period ROI "
    f"{first.spearman_next:+.3f} -> {last.spearman_next:+.3f}."
)
published = base.findings["inverted_u"]["published"]["uplift_pct"]
print(
    f"Baseline uplift of the best idea-flow bin over the lowest-flow bin: "
    f"{base.findings['inverted_u']['uplift_vs_lowest_pct']['value']:+.1f}% "
    f"(published: about +{published:.0f}%)."
)
print(f"notebook ran in {time.perf_counter() - started:.0f} s")""",
    ),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        nb.cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    # stable cell ids so that rebuilding gives the same file
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 1200) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (working directory: this folder); outputs kept."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    return nb


def main(run: bool = True) -> Path:
    path = HERE / "01_network_diversity.ipynb"
    nb = build()
    nbformat.write(execute(nb) if run else nb, path)
    return path


if __name__ == "__main__":
    print(main(run="--no-run" not in sys.argv[1:]))
