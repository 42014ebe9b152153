"""Walk-forward decisions of every docs/contract.md §5 strategy, before any accounting.

A `Decisions` record holds one row per decision: for the decision strategies
(isolation / diverse / echo / popular / expert / diverse-random / placebo) one row per
own idea of a subject (taken or not, support, evaluators in force); for the copying
strategies (herd / top / random) one row per idea of a leader in force that the subject copies (taken unless the leader's
realised equity at the open is <= 0).

Sizing:
- own ideas: the logged amount; with `size_by_support` the amount is multiplied by
  `1 + support / n_evaluators` (0x when every evaluator opposes, 2x when every one
  agrees, 1x without evaluators) and the idea is still taken only when
  `support >= min_support`;
- copies: `amount = idea.amount * allocation / E_L(t)` with `allocation = initial_equity
  / k` and `E_L(t)` the leader's realised equity in the `actual` replay (closes at t
  included), exactly as docs/contract.md §4 sizes a copy.

placebo: per subject, exactly as many ideas are rejected as `diverse` rejected for that
subject; which ones is a seeded draw keyed by (seed, subject, trade id). Its rate comes
from the whole `diverse` run, so it is a control, not a walk-forward policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ideaflow.kernels.strategy import copy_count_nb, copy_fill_nb, placebo_reject_nb
from ideaflow.kernels.votes import idea_votes_nb
from ideaflow.strategies.rebalance import Frame, position_index, subject_ideas
from ideaflow.strategies.selection import selection_sets

COPY_STRATEGIES = ("herd", "top", "random")
# own ideas under the evaluator vote; they differ only in who evaluates
EVALUATOR_STRATEGIES = ("diverse", "echo", "popular", "expert", "diverse-random")
DECISION_STRATEGIES = ("isolation", *EVALUATOR_STRATEGIES, "placebo")
# own ideas and one recommended leader's copies (strategies.recommend)
MIXED_STRATEGIES = ("recommend", "recommend-top", "recommend-random")


@dataclass(frozen=True, eq=False)
class Decisions:
    """One row per decision (see the module docstring), sorted by (subject, time, trade)."""

    strategy: str
    subject: np.ndarray  # int32 account index (= subject index unless accounts are shared)
    row: np.ndarray  # int64 row of ds.trades (the idea)
    period: np.ndarray  # int32 rebalance period in force
    taken: np.ndarray  # bool
    support: np.ndarray  # int32 (0 for copies and isolation)
    n_evaluators: np.ndarray  # int32 evaluators that voted (0 for copies)
    size: np.ndarray  # float64: position amount / idea amount
    sets: np.ndarray | None  # (n_accounts, n_periods, k) trader codes in force, or None
    # copy strategies: subjects with the same leaders in every period hold the same
    # positions up to the factor initial_equity / the account's initial equity, so they
    # share one account (sized for its first subject); identity otherwise
    account_of: np.ndarray | None = None  # int32 per subject: its account
    account_subject: np.ndarray | None = None  # int32 per account: representative subject

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def accounts(self, n_subjects: int) -> tuple[np.ndarray, np.ndarray]:
        """(account_of per subject, representative subject per account)."""
        if self.account_of is None or self.account_subject is None:
            identity = np.arange(n_subjects, dtype=np.int32)
            return identity, identity
        return self.account_of, self.account_subject


def own_idea_decisions(frame: Frame, name: str, sets: np.ndarray | None) -> Decisions:
    """Votes on every subject's own ideas with the evaluator sets (None: isolation)."""
    ideas = subject_ideas(frame)
    trades = frame.ds.trades
    params = frame.params
    n = ideas.rows.shape[0]
    if sets is None:
        support = np.zeros(n, dtype=np.int32)
        n_eval = np.zeros(n, dtype=np.int32)
    else:
        index = position_index(frame.ds)
        flat_sets = sets.reshape(-1, sets.shape[2])
        idea_set = ideas.subject.astype(np.int64) * frame.n_periods + ideas.period
        support, n_eval = idea_votes_nb(
            trades.instrument[ideas.rows].astype(np.int32),
            trades.side[ideas.rows].astype(np.int8),
            trades.open_time[ideas.rows],
            idea_set,
            flat_sets,
            np.int64(params.window_ns),
            index.trader_indptr,
            index.instrument,
            index.open_time,
            index.close_time,
            index.side,
            index.close_max,
        )
    taken = support >= params.min_support
    size = np.ones(n, dtype=np.float64)
    if params.size_by_support:
        voted = n_eval > 0
        size[voted] = 1.0 + support[voted] / n_eval[voted]
        taken &= size > 0
    return Decisions(
        name,
        ideas.subject,
        ideas.rows,
        ideas.period,
        taken,
        support,
        n_eval,
        np.where(taken, size, 0.0),
        sets,
    )


def placebo_decisions(frame: Frame, diverse: Decisions) -> Decisions:
    """Reject per subject as many ideas as `diverse` did, chosen by a seeded draw."""
    ideas = subject_ideas(frame)
    n_reject = np.bincount(diverse.subject[~diverse.taken], minlength=frame.n_subjects)
    taken = placebo_reject_nb(
        np.int64(frame.params.seed),
        ideas.subject,
        frame.ds.trades.trade_id[ideas.rows],
        n_reject.astype(np.int64),
        ideas.indptr,
    )
    n = ideas.rows.shape[0]
    zeros = np.zeros(n, dtype=np.int32)
    return Decisions(
        "placebo",
        ideas.subject,
        ideas.rows,
        ideas.period,
        taken,
        zeros,
        zeros,
        taken.astype(np.float64),
        None,
    )


def copy_decisions(frame: Frame, name: str, sets: np.ndarray, leader_equity) -> Decisions:
    """The leaders' ideas each subject copies, sized by the leaders' realised equity.

    `leader_equity(traders, times)` returns realised equity in the actual replay.
    """
    trades = frame.ds.trades
    # subjects sharing a leader schedule get the same copies up to a factor (the copy
    # amount is proportional to the subject's initial equity): one account per distinct
    # schedule, sized with its first subject's equity (herd/top: a handful of accounts)
    signature = sets.reshape(sets.shape[0], -1)
    _, first, account_of = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")  # accounts in order of their first subject
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(by_first.shape[0])
    account_of = rank[account_of.ravel()].astype(np.int32)
    account_subject = first[by_first].astype(np.int32)
    sets = sets[account_subject]
    idea_rows = np.flatnonzero(trades.parent < 0)
    # group the ideas by trader, keeping open-time order inside each trader
    idea_rows = idea_rows[np.argsort(trades.trader[idea_rows], kind="stable")]
    indptr = np.zeros(frame.ds.n_traders + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(trades.trader[idea_rows], minlength=frame.ds.n_traders))
    idea_open = trades.open_time[idea_rows]
    counts = copy_count_nb(sets, frame.period_start, indptr, idea_open)
    offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    subject, period, rows = copy_fill_nb(
        sets, frame.period_start, indptr, idea_open, idea_rows, offsets
    )
    # per subject: time order, then trade id (rows are in (open_time, trade_id) order)
    order = np.lexsort((rows, subject))
    subject, period, rows = subject[order], period[order], rows[order]
    equity = leader_equity(trades.trader[rows], trades.open_time[rows])
    allocation = frame.initial_equity[account_subject[subject]] / frame.params.k
    taken = equity > 0
    size = np.where(taken, allocation / np.where(taken, equity, 1.0), 0.0)
    zeros = np.zeros(rows.shape[0], dtype=np.int32)
    return Decisions(
        name,
        subject.astype(np.int32),
        rows,
        period.astype(np.int32),
        taken,
        zeros,
        zeros,
        size,
        sets,
        account_of,
        account_subject,
    )


def decide(
    frame: Frame,
    name: str,
    leader_equity=None,
    diverse: Decisions | None = None,
    sets: np.ndarray | None = None,
) -> Decisions:
    """Decisions of strategy `name` (a copy strategy, or isolation, diverse, echo or placebo).

    `sets`: the evaluators of an evaluator strategy, computed elsewhere (by subject
    partitions on a cluster, `strategies.partition`); None: computed here."""
    if name == "isolation":
        return own_idea_decisions(frame, name, None)
    if name in EVALUATOR_STRATEGIES:
        chosen = sets if sets is not None else selection_sets(frame, name)
        return own_idea_decisions(frame, name, chosen)
    if name == "placebo":
        if diverse is None:
            diverse = own_idea_decisions(frame, "diverse", selection_sets(frame, "diverse"))
        return placebo_decisions(frame, diverse)
    if name in COPY_STRATEGIES:
        if leader_equity is None:
            raise ValueError("copy strategies need leader_equity")
        return copy_decisions(frame, name, selection_sets(frame, name), leader_equity)
    raise ValueError(f"unknown strategy {name!r}")
