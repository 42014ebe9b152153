"""Social-learning analytics (docs/contract.md §6): idea flow, source diversity, echo chambers,
popularity vs performance, exploration and the inverted U, on top of the engine's
`actual` replay. Definitions: docs/analytics.md and each module's docstring.

    >>> from ideaflow.analytics import analyze, binned_fit
    >>> result = analyze(dataset)          # doctest: +SKIP
    >>> print(result.table()); result.write("out/")   # doctest: +SKIP
"""

from __future__ import annotations

from ideaflow.analytics.analysis import AnalysisParams, AnalysisResult, analyze
from ideaflow.analytics.diversity import leader_correlation, source_diversity, style_labels
from ideaflow.analytics.echo import echo_chamber
from ideaflow.analytics.exploration import exploration_columns, exploration_finding
from ideaflow.analytics.facts import FactsResult, facts, power_law_tail
from ideaflow.analytics.fit import BinnedFit, binned_fit
from ideaflow.analytics.ideaflow_metrics import idea_flow, matched_trades
from ideaflow.analytics.inverted_u import inverted_u_finding, social_vs_single
from ideaflow.analytics.nulls import idea_flow_null, inverted_u_tests, social_vs_single_by_root
from ideaflow.analytics.popularity import (
    per_trader_correlations,
    popularity_panel,
    popularity_performance,
)
from ideaflow.analytics.published import PUBLISHED

__all__ = [
    "AnalysisParams",
    "AnalysisResult",
    "BinnedFit",
    "analyze",
    "binned_fit",
    "echo_chamber",
    "exploration_columns",
    "exploration_finding",
    "facts",
    "FactsResult",
    "power_law_tail",
    "idea_flow",
    "idea_flow_null",
    "inverted_u_tests",
    "PUBLISHED",
    "social_vs_single_by_root",
    "inverted_u_finding",
    "leader_correlation",
    "matched_trades",
    "per_trader_correlations",
    "popularity_panel",
    "popularity_performance",
    "social_vs_single",
    "source_diversity",
    "style_labels",
]
