"""The walk-forward frame shared by every docs/contract.md §5 strategy: subjects, rebalance times,
ideas per period, and the sorted position index the vote kernel searches.

Rebalance times are `r_j = first trade's open time + j * rebalance`, for every `r_j` up
to the end of the data; period j is `[r_j, r_{j+1})`. Whatever a strategy decides at
`r_j` (leaders or evaluators in force) applies to the ideas opened in period j, and is
computed only from positions closed strictly before `r_j` (styles, trailing performance),
positions opened before `r_j` (the random pool) and follows active at `r_j`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ideaflow.data import OPEN_END, Dataset
from ideaflow.kernels.votes import running_close_max_nb
from ideaflow.strategies.params import StrategyParams
from ideaflow.styles import PositionColumns, closed_in, position_columns


@dataclass(frozen=True, eq=False)
class Frame:
    """Walk-forward frame of one dataset under one set of parameters."""

    ds: Dataset
    params: StrategyParams
    times: np.ndarray  # int64 rebalance times r_0 < r_1 < ...
    period_start: np.ndarray  # int64, times + [OPEN_END]
    subjects: np.ndarray  # int32 trader codes of the subjects (ascending)
    subject_of: np.ndarray  # int64 per trader code: subject index or -1
    initial_equity: np.ndarray  # float64 per subject
    cols: PositionColumns  # every logged position, with its logged PnL
    # per-period results shared by strategies (style features of diverse and echo)
    cache: dict = field(default_factory=dict)

    @property
    def n_periods(self) -> int:
        return int(self.times.shape[0])

    @property
    def n_subjects(self) -> int:
        return int(self.subjects.shape[0])

    def period_of(self, times: np.ndarray) -> np.ndarray:
        return (np.searchsorted(self.times, times, side="right") - 1).astype(np.int32)

    def closed_counts_pnl(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Per trader code: positions closed in [start, end) and their realised PnL."""
        rows = closed_in(self.cols, start, end)
        n = self.ds.n_traders
        counts = np.bincount(self.cols.trader[rows], minlength=n)
        pnl = np.bincount(
            self.cols.trader[rows], weights=np.nan_to_num(self.cols.pnl[rows]), minlength=n
        )
        return counts, pnl

    def equity_before(self, t: int) -> np.ndarray:
        """Per trader code: initial equity + logged PnL of positions closed strictly before t
        (the trader's realised equity in the `actual` replay just before t)."""
        _, pnl = self.closed_counts_pnl(-OPEN_END, t)
        return self.ds.initial_equity + pnl


def build_frame(ds: Dataset, params: StrategyParams) -> Frame:
    """Subjects (>= min_ideas original trades), rebalance times and the position columns."""
    trades = ds.trades
    originals = trades.parent < 0
    n_ideas = np.bincount(trades.trader[originals], minlength=ds.n_traders)
    subjects = np.flatnonzero(n_ideas >= params.min_ideas).astype(np.int32)
    subject_of = np.full(ds.n_traders, -1, dtype=np.int64)
    subject_of[subjects] = np.arange(subjects.shape[0])
    if len(trades):
        first = int(trades.open_time[0])
        n_periods = max(1, (int(ds.data_end) - first) // params.rebalance_ns + 1)
        times = first + np.arange(n_periods, dtype=np.int64) * params.rebalance_ns
    else:
        times = np.zeros(1, dtype=np.int64)
    if params.initial_equity is not None:
        equity = np.full(subjects.shape[0], float(params.initial_equity))
    else:
        equity = ds.initial_equity[subjects].astype(np.float64)
    return Frame(
        ds=ds,
        params=params,
        times=times,
        period_start=np.append(times, np.int64(OPEN_END)),
        subjects=subjects,
        subject_of=subject_of,
        initial_equity=equity,
        cols=position_columns(ds),
    )


@dataclass(frozen=True, eq=False)
class SubjectIdeas:
    """The subjects' own ideas, grouped by subject and sorted by (open_time, trade_id)."""

    rows: np.ndarray  # int64 rows of ds.trades
    subject: np.ndarray  # int32 subject index
    period: np.ndarray  # int32 period of the open time
    indptr: np.ndarray  # int64 CSR over subjects


def subject_ideas(frame: Frame) -> SubjectIdeas:
    """The subjects' own ideas (computed once per frame and kept in its cache: every
    strategy of a comparison reads them; callers must not modify the arrays)."""
    cached = frame.cache.get(("subject_ideas",))
    if cached is None:
        cached = frame.cache[("subject_ideas",)] = _subject_ideas(frame)
    return cached


def _subject_ideas(frame: Frame) -> SubjectIdeas:
    trades = frame.ds.trades
    rows = np.flatnonzero((trades.parent < 0) & (frame.subject_of[trades.trader] >= 0))
    subject = frame.subject_of[trades.trader[rows]]
    order = np.argsort(subject, kind="stable")  # trades are already in open-time order
    rows, subject = rows[order], subject[order].astype(np.int32)
    indptr = np.zeros(frame.n_subjects + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(subject, minlength=frame.n_subjects))
    return SubjectIdeas(rows, subject, frame.period_of(trades.open_time[rows]), indptr)


@dataclass(frozen=True, eq=False)
class PositionIndex:
    """Every logged position sorted by (trader, instrument, open_time, trade_id)."""

    trader_indptr: np.ndarray
    instrument: np.ndarray
    open_time: np.ndarray
    close_time: np.ndarray
    side: np.ndarray
    close_max: np.ndarray


def position_index(ds: Dataset) -> PositionIndex:
    t = ds.trades
    # rows are in (open_time, trade_id) order, so the row index is the last sort key
    order = np.lexsort((np.arange(len(t)), t.instrument, t.trader))
    trader = t.trader[order]
    instrument = t.instrument[order].astype(np.int32)
    close_time = t.close_time[order]
    indptr = np.zeros(ds.n_traders + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(trader, minlength=ds.n_traders))
    return PositionIndex(
        trader_indptr=indptr,
        instrument=instrument,
        open_time=t.open_time[order],
        close_time=close_time,
        side=t.side[order].astype(np.int8),
        close_max=running_close_max_nb(trader, instrument, close_time),
    )
