"""Running docs/contract.md §5 strategies: validation, shared state, and the `BacktestResult`.

A `StrategyRunner` holds what every strategy on one dataset shares — the walk-forward
frame, the `actual` replay (its book sizes copies and supplies PnL), the leaders' equity
index — and caches `diverse` decisions so `placebo` reuses them in a comparison.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from ideaflow.data import Dataset
from ideaflow.engine import EquityIndex, ReplayConfig, replay
from ideaflow.errors import ParameterError
from ideaflow.progress import Stages
from ideaflow.results import BacktestResult
from ideaflow.strategies.books import (
    account_tables,
    decisions_table,
    strategy_book,
    trades_table,
)
from ideaflow.strategies.decide import COPY_STRATEGIES, Decisions, decide
from ideaflow.strategies.exposure import equity_ratio, exposure_columns, match_exposure
from ideaflow.strategies.params import StrategyParams
from ideaflow.strategies.rebalance import Frame, build_frame
from ideaflow.strategies.recommend import RECOMMEND_STRATEGIES, recommend_decisions

STRATEGIES: tuple[str, ...] = (
    "isolation",
    "herd",
    "top",
    "random",
    "diverse",
    "echo",
    "popular",
    "expert",
    "diverse-random",
    "placebo",
    "recommend",
    "recommend-top",
    "recommend-random",
)


# strategies whose evaluators are chosen from the style features of each rebalance
STYLE_STRATEGIES = ("diverse", "echo", "diverse-random", "recommend")
# evaluator sets a `selector` may compute by subject partitions (the costly searches)
PARTITIONED_STRATEGIES = ("diverse", "echo", "diverse-random")


def check_name(name: Any) -> str:
    if name not in STRATEGIES:
        close = difflib.get_close_matches(str(name), STRATEGIES, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ParameterError(
            f"strategy: expected one of {', '.join(STRATEGIES)}; found `{name}`{hint}"
        )
    return str(name)


class StrategyRunner:
    """Runs strategies on one dataset with one parameter set, sharing the common work."""

    def __init__(
        self,
        ds: Dataset,
        params: StrategyParams | None = None,
        selector: Callable[[Frame, str], np.ndarray] | None = None,
    ):
        """`selector(frame, name)`: the evaluator sets of the style strategies (diverse,
        echo, diverse-random) computed elsewhere, e.g. by subject partitions on a Dask
        cluster (`strategies.partition`); None: computed in this process."""
        if not isinstance(ds, Dataset):
            raise ParameterError(f"ds: expected an ideaflow Dataset; found {type(ds).__name__}")
        self.ds = ds
        self.params = params if params is not None else StrategyParams()
        if not isinstance(self.params, StrategyParams):
            raise ParameterError(
                f"params: expected StrategyParams; found {type(self.params).__name__}"
            )
        self._frame: Frame | None = None
        self._actual: Any = None
        self._equity: Any = None
        self._decisions: dict[str, Decisions] = {}
        self.timings: dict[str, float] = {}
        self.selector = selector

    @property
    def frame(self) -> Frame:
        if self._frame is None:
            started = time.perf_counter()
            self._frame = build_frame(self.ds, self.params)
            self.timings["frame"] = time.perf_counter() - started
        return self._frame

    @property
    def actual(self) -> Any:
        if self._actual is None:
            started = time.perf_counter()
            self._actual = replay(self.ds, ReplayConfig(strategy="actual")).book
            self.timings["actual_replay"] = time.perf_counter() - started
        return self._actual

    def leader_equity(self, traders: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Realised equity of traders in the `actual` replay (closes at t included)."""
        if self._equity is None:
            self._equity = EquityIndex.from_book(
                self.actual, self.ds.n_traders, self.ds.initial_equity
            )
        return self._equity.at(traders, times)

    def decisions(self, name: str) -> Decisions:
        name = check_name(name)
        if name not in self._decisions:
            if name in RECOMMEND_STRATEGIES:
                self._decisions[name] = recommend_decisions(self.frame, name, self.leader_equity)
                return self._decisions[name]
            diverse = self.decisions("diverse") if name == "placebo" else None
            sets = None
            if self.selector is not None and name in PARTITIONED_STRATEGIES:
                sets = self.selector(self.frame, name)
            self._decisions[name] = decide(self.frame, name, self.leader_equity, diverse, sets)
        return self._decisions[name]

    def release(self, name: str, remaining: tuple[str, ...] | list[str] | None = None) -> None:
        """Forget what `name` cached once nothing still to run needs it: its decisions
        (diverse's are kept while placebo may need them) and, with `remaining` given (the
        strategies still to run), the shared style features once neither diverse nor echo
        (nor a placebo that must first decide diverse) is left."""
        if name != "diverse" or (remaining is not None and "placebo" not in remaining):
            self._decisions.pop(name, None)
        if remaining is None:
            return
        if "placebo" not in remaining and "diverse" not in remaining:
            self._decisions.pop("diverse", None)
        needs_styles = any(n in STYLE_STRATEGIES for n in remaining) or (
            "placebo" in remaining and "diverse" not in self._decisions
        )
        if not needs_styles and self._frame is not None:
            for key in [k for k in self._frame.cache if k[0] == "styles"]:
                del self._frame.cache[key]

    def run(self, name: str, *, progress: bool = False) -> BacktestResult:
        """One strategy as an `ideaflow.results.BacktestResult`."""
        name = check_name(name)
        stages = Stages(["decide", "accounting"], progress, name)
        try:
            with stages.stage("decide"):
                frame = self.frame
                decisions = self.decisions(name)
            with stages.stage("accounting"):
                holding = None
                factor = np.ones(frame.n_subjects)
                if self.params.exposure == "matched":
                    # same decisions, each subject's sizes scaled to its exposure under
                    # isolation
                    decisions, factor, holding = match_exposure(frame, decisions, self.actual)
                book = strategy_book(frame, decisions, self.actual)
                n_positions = len(book)
                accounts, daily = account_tables(frame, book, decisions, holding)
                if holding is None:
                    holding = equity_ratio(frame, decisions)
                exposure, roe = exposure_columns(
                    frame, book, decisions, holding, accounts.column("pnl").to_numpy()
                )
                for column, values in (
                    ("gross_exposure", exposure),
                    ("return_on_exposure", roe),
                    ("exposure_factor", factor),
                    ("holding_scale", holding),
                ):
                    accounts = accounts.append_column(column, pa.array(values, type=pa.float64()))
                # Arrow tables straight from numpy (no pandas copy of millions of rows);
                # the book goes as soon as its table exists
                trades = trades_table(frame, book, decisions)
                del book
                table = decisions_table(frame, decisions)
        finally:
            stages.close()
        timings = stages.timings
        n = len(decisions)
        n_taken = int(decisions.taken.sum())
        counts: dict[str, Any] = {
            "n_subjects": frame.n_subjects,
            "n_rebalances": frame.n_periods,
            "n_decisions": n,
            "n_taken": n_taken,
            "n_rejected": n - n_taken,
            "rejection_rate": (n - n_taken) / n if n else float("nan"),
            "positions": n_positions,
            "exposure": self.params.exposure,
            "zero_exposure_subjects": int((exposure == 0).sum()),
        }
        if name in RECOMMEND_STRATEGIES:
            owner = self.ds.trades.trader[decisions.row]
            copy = owner != frame.subjects[decisions.subject]
            counts["copies_generated"] = int((decisions.taken & copy).sum())
            counts["copies_skipped_bankrupt"] = int((~decisions.taken & copy).sum())
        if name in COPY_STRATEGIES:
            counts["shared_accounts"] = int(decisions.accounts(frame.n_subjects)[1].shape[0])
            counts["copies_generated"] = n_taken
            counts["copies_skipped_bankrupt"] = n - n_taken
        params = {"strategy": name, **self.params.to_dict()}
        return BacktestResult(
            strategy=name,
            params=params,
            trades=trades,
            accounts=accounts,
            decisions=table,
            daily=daily,
            counts=counts,
            timings={**{f"shared_{k}": v for k, v in self.timings.items()}, **timings},
            meta={},
        )


def run_strategy(
    ds: Dataset, name: str, params: StrategyParams | None = None, *, progress: bool = False
) -> BacktestResult:
    """Run one strategy walk-forward on `ds`; returns a `BacktestResult`.

    `name`: isolation, herd, top, random, diverse, echo or placebo (see
    docs/strategies.md); `params`: a `StrategyParams` (defaults when None).
    """
    name = check_name(name)
    return StrategyRunner(ds, params).run(name, progress=progress)
