"""The table of published figures: one source in code, the same in docs/published.md,
and carried by the findings the tool prints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ideaflow.analytics.exploration import exploration_finding
from ideaflow.analytics.published import PAPERS, PUBLISHED, cite, printed, references
from ideaflow.reporting.findings import findings_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "published.md"


def test_every_figure_names_a_known_paper_and_is_in_the_docs_table():
    text = DOC.read_text()
    for key, fig in PUBLISHED.items():
        assert fig.paper in PAPERS
        assert f"| `{key}` | {fig.display.replace('-', '–')} |" in text or (
            f"| `{key}` | {fig.display} |" in text
        ), key


def test_cite_carries_the_full_reference_and_whether_it_was_checked():
    c = cite("exploration_slope")
    assert c["value"] == 2.06 and c["confirmed"] is False
    assert "arXiv:2507.01817" in c["source"] and c["ref"] == "[3]"
    assert cite("losing_share")["interval"] == [0.74, 0.89]
    assert printed("idea_flow_uplift_pct") == "+30% [1]"
    assert printed("popularity_per_trader_corr") == "0.11 [3]?"


def test_references_list_each_paper_once_in_order():
    lines = references(["exploration_slope", "popularity_weight_ratio", "social_vs_single"])
    assert lines[0].startswith("[2] W. Pan") and lines[1].startswith("[3] B. Joseph")
    assert len(lines) == 3 and lines[2].startswith("?")


def test_exploration_finding_sets_the_study_procedure_beside_the_published_slope():
    rng = np.random.default_rng(3)
    rate = np.exp(rng.normal(0, 1, 600))
    roi = 0.0206 * np.log(rate) + rng.normal(0, 0.02, 600)
    out = exploration_finding(rate, roi, bins=10, n_boot=0)
    assert out["published"]["source"].startswith("B. Joseph")
    # 100 x ROI per ln(rate) over ten bin means: the planted 2.06 within sampling error
    assert abs(out["study"]["slope"] - 2.06) < 0.3
    table = findings_table({"exploration": out})
    assert "study procedure" in table and "2.06 [3]?" in table
    assert "[3] B. Joseph, C. Riedl, A. Pentland, E. Moro" in table
