"""Gross exposure of each subject, and matching it to `isolation` (`exposure="matched"`).

Definitions (docs/strategies.md, "Exposure"):

- a position's *notional-days*: `amount * leverage * duration`, the duration in days from
  its open to its close (to the end of the data when still open);
- a subject's *active days*: from the open of its first own idea to the last close of its
  own ideas (the end of the data when one is still open), at least one day; the same
  span in every strategy, so exposures of one subject compare across strategies;
- *gross exposure*: the subject's notional-days over its active days (the average notional
  it held per active day); *return on exposure*: PnL / gross exposure (NaN at zero
  exposure).

`matched` multiplies every position of a subject in a strategy by one factor, the
subject's exposure under `isolation` over its exposure under the strategy, so that both
are equal; decisions (which ideas are taken, which leaders are copied) do not change,
sizes, fees and PnL scale. A subject without exposure in the strategy keeps factor 1 (it
stays at zero). This is a normalisation after the fact, for measurement (as `placebo`),
not a policy a trader could follow: the factor uses the whole run.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ideaflow.data import NS_PER_DAY, OPEN_END
from ideaflow.engine.metrics import GroupedBook, account_record, threads_for
from ideaflow.kernels.exposure import ranged_account_metrics_nb
from ideaflow.records import AccountMetrics, Book
from ideaflow.strategies.decide import Decisions
from ideaflow.strategies.rebalance import Frame, subject_ideas


def _days(open_time: np.ndarray, close_time: np.ndarray, data_end: int) -> np.ndarray:
    """Days each position is held: to its close, or to the end of the data when open."""
    end = np.where(close_time == OPEN_END, np.maximum(int(data_end), open_time), close_time)
    return (end - open_time).astype(np.float64) / NS_PER_DAY


def active_days(frame: Frame) -> np.ndarray:
    """Per subject: days from its first own idea's open to its own ideas' last close
    (the end of the data when one is open), at least 1."""
    ideas = subject_ideas(frame)
    trades = frame.ds.trades
    n = frame.n_subjects
    opens = trades.open_time[ideas.rows]
    closes = trades.close_time[ideas.rows]
    ends = np.where(closes == OPEN_END, np.maximum(int(frame.ds.data_end), opens), closes)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, ideas.subject, opens)
    np.maximum.at(last, ideas.subject, ends)
    span = np.where(last >= first, (last - first).astype(np.float64) / NS_PER_DAY, 0.0)
    return np.maximum(span, 1.0)


def isolation_notional_days(frame: Frame, actual: Book) -> np.ndarray:
    """Per subject: notional-days of all its own ideas at their logged size."""
    ideas = subject_ideas(frame)
    rows = ideas.rows
    held = _days(actual.open_time[rows], actual.close_time[rows], frame.ds.data_end)
    weights = actual.amount[rows] * actual.leverage[rows] * held
    return np.bincount(ideas.subject, weights=weights, minlength=frame.n_subjects)


def account_notional_days(frame: Frame, decisions: Decisions, actual: Book) -> np.ndarray:
    """Per account of `decisions`: notional-days of its taken positions at their size."""
    _, account_subject = decisions.accounts(frame.n_subjects)
    rows = decisions.row
    held = _days(actual.open_time[rows], actual.close_time[rows], frame.ds.data_end)
    weights = np.where(
        decisions.taken, decisions.size * actual.amount[rows] * actual.leverage[rows] * held, 0.0
    )
    return np.bincount(decisions.subject, weights=weights, minlength=account_subject.shape[0])


def equity_ratio(frame: Frame, decisions: Decisions) -> np.ndarray:
    """Per subject: its initial equity over its account's (1 unless accounts are shared)."""
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    return frame.initial_equity / frame.initial_equity[account_subject[account_of]]


def matching_factors(target: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """`target / exposure` per subject; 1 where the exposure is 0 (it stays 0)."""
    target = np.asarray(target, dtype=np.float64)
    exposure = np.asarray(exposure, dtype=np.float64)
    positive = exposure > 0
    return np.where(positive, target / np.where(positive, exposure, 1.0), 1.0)


def match_exposure(
    frame: Frame, decisions: Decisions, actual: Book
) -> tuple[Decisions, np.ndarray, np.ndarray]:
    """Decisions with sizes scaled so each subject's exposure equals isolation's.

    Returns (scaled decisions, factor per subject, holding scale per subject). Accounts
    that are not shared are scaled by their subject's factor. A shared account (copy
    strategies) is scaled by its first subject's factor (1 when that is 0), and every
    subject holds the account's positions times its *holding scale*: its initial equity
    over the account's, times its factor over the account's factor.
    """
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    ratio = equity_ratio(frame, decisions)
    subject_days = account_notional_days(frame, decisions, actual)[account_of] * ratio
    factor = matching_factors(isolation_notional_days(frame, actual), subject_days)
    # a shared account cannot take a zero factor from its first subject (the others
    # would lose their positions): it keeps its size, that subject holds it at 0
    shared = np.bincount(account_of, minlength=account_subject.shape[0]) > 1
    account_factor = factor[account_subject]
    account_factor = np.where(shared & (account_factor == 0), 1.0, account_factor)
    of_account = account_factor[account_of]
    holding = np.where(
        of_account > 0, ratio * factor / np.where(of_account > 0, of_account, 1.0), 1.0
    )
    scaled = replace(decisions, size=decisions.size * account_factor[decisions.subject])
    return scaled, factor, holding


def exposure_columns(
    frame: Frame, book: Book, decisions: Decisions, holding: np.ndarray, pnl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(gross exposure, return on exposure) per subject of a strategy book.

    `holding`: per subject, the factor from its account's positions in `book` to its own;
    `pnl`: per subject.
    """
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    held = _days(book.open_time, book.close_time, frame.ds.data_end)
    days = np.bincount(
        book.account,
        weights=book.amount * book.leverage * held,
        minlength=account_subject.shape[0],
    )
    exposure = days[account_of] * holding / active_days(frame)
    positive = exposure > 0
    roe = np.where(positive, pnl / np.where(positive, exposure, 1.0), np.nan)
    return exposure, roe


def held_metrics(
    grouped: GroupedBook,
    account_of: np.ndarray,
    holding: np.ndarray,
    initial_equity: np.ndarray,
    annualization: float,
) -> AccountMetrics:
    """Per subject: metrics of its account's positions times `holding` (its own holdings),
    with its own initial equity; a subject holding 0 has an empty account."""
    held = holding > 0
    starts = np.where(held, grouped.indptr[account_of], 0).astype(np.int64)
    ends = np.where(held, grouped.indptr[account_of + 1], 0).astype(np.int64)
    # c * (path started at E0 / c) is the path of the positions times c started at E0
    start_equity = np.where(held, initial_equity / np.where(held, holding, 1.0), initial_equity)
    with threads_for(grouped.records.shape[0] + account_of.shape[0]):
        out = ranged_account_metrics_nb(
            starts,
            ends,
            grouped.records,
            np.ascontiguousarray(start_equity, dtype=np.float64),
            float(annualization),
            grouped.marks,
        )
    pnl = np.where(held, out[1] * holding, 0.0)
    equity = np.asarray(initial_equity, dtype=np.float64).copy()
    return account_record(equity, equity + pnl, pnl, out[2:])
