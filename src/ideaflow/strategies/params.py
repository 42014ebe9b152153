"""Parameters of the docs/contract.md §5 strategies, with their documented defaults and validation.

Defaults (see docs/strategies.md for the reasoning):
- k = 5 leaders or evaluators per subject: enough for a vote to have a majority, few
  enough that each evaluator's view matters;
- lookback_days = 90: a quarter of closed trades per candidate style/performance window;
- rebalance_days = 30: monthly re-decisions (the contract's default);
- window_hours = 24: an evaluator's position opened within a day before the idea counts;
- min_history = 5 closed trades in the lookback for a candidate leader/evaluator;
- min_support = 0: an idea is taken unless its evaluators net-oppose it (the contract's default);
- min_ideas = 10 original trades to be a subject (the contract's default);
- size_by_support = False: a taken idea keeps its logged size;
- n_clusters = None: KMeans clusters = max(2k, 4) (at most the number of candidates), so
  `diverse` can pick k clusters and still skip the ones nearest the subject;
- seed = 0 (random leaders and the placebo's rejections);
- recommend_allocation = 0.1: the recommend strategies copy their one leader with a tenth
  of the subject's initial equity (a small allocation, as a nudge is);
- exposure = "as-logged": positions at the size the strategy decides; "matched" rescales
  each subject's positions to its exposure under isolation (`strategies.exposure`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ideaflow.data import DEFAULT_ANNUALIZATION, NS_PER_DAY, NS_PER_HOUR
from ideaflow.errors import ParameterError

EXPOSURE_MODES: tuple[str, ...] = ("as-logged", "matched")


@dataclass(frozen=True)
class StrategyParams:
    """Parameters shared by every docs/contract.md §5 strategy (each uses the ones it needs)."""

    k: int = 5
    lookback_days: float = 90.0
    rebalance_days: float = 30.0
    window_hours: float = 24.0
    min_history: int = 5
    min_support: int = 0
    min_ideas: int = 10
    size_by_support: bool = False
    n_clusters: int | None = None
    seed: int = 0
    depth: int = 1  # recorded only: strategies copy leaders' original trades (one hop)
    sharpe_annualization: float = DEFAULT_ANNUALIZATION
    initial_equity: float | None = None  # None: each subject's equity from the dataset
    exposure: str = "as-logged"  # or "matched" (docs/strategies.md, "Exposure")
    # recommend strategies: share of the subject's initial equity copying the leader
    recommend_allocation: float = 0.1

    def __post_init__(self) -> None:
        def integer(name: str, low: int | None) -> None:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or (low is not None and value < low)
            ):
                bound = f" >= {low}" if low is not None else ""
                raise ParameterError(f"{name}: expected an integer{bound}; found {value!r}")

        def positive(name: str) -> None:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value > 0)
            ):
                raise ParameterError(f"{name}: expected a finite number > 0; found {value!r}")

        integer("k", 1)
        integer("min_history", 1)
        integer("min_support", None)
        integer("min_ideas", 1)
        integer("seed", 0)
        integer("depth", 1)
        if self.n_clusters is not None:
            integer("n_clusters", 1)
        for name in ("lookback_days", "rebalance_days", "window_hours", "sharpe_annualization"):
            positive(name)
        if self.initial_equity is not None:
            positive("initial_equity")
        positive("recommend_allocation")
        if self.recommend_allocation > 1:
            raise ParameterError(
                "recommend_allocation: expected a share of the initial equity in (0, 1]; "
                f"found {self.recommend_allocation!r}"
            )
        if self.exposure not in EXPOSURE_MODES:
            raise ParameterError(
                f"exposure: expected one of {', '.join(EXPOSURE_MODES)}; found {self.exposure!r}"
            )
        if not isinstance(self.size_by_support, bool):
            raise ParameterError(
                f"size_by_support: expected true or false; found {self.size_by_support!r}"
            )

    @property
    def clusters(self) -> int:
        return self.n_clusters if self.n_clusters is not None else max(2 * self.k, 4)

    @property
    def lookback_ns(self) -> int:
        return int(round(self.lookback_days * NS_PER_DAY))

    @property
    def rebalance_ns(self) -> int:
        return int(round(self.rebalance_days * NS_PER_DAY))

    @property
    def window_ns(self) -> int:
        return int(round(self.window_hours * NS_PER_HOUR))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> StrategyParams:
        unknown = sorted(set(changes) - set(self.to_dict()))
        if unknown:
            import difflib

            names = list(self.to_dict())
            hints = [difflib.get_close_matches(u, names, n=1) for u in unknown]
            hint = "".join(f"; did you mean `{h[0]}`?" for h in hints if h)
            raise ParameterError(
                f"strategy parameters: unknown {', '.join(unknown)} (expected one of "
                f"{', '.join(names)}){hint}"
            )
        return StrategyParams(**{**self.to_dict(), **changes})
