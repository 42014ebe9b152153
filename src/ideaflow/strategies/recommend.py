"""The recommend strategies: a subject keeps every own idea and also copies one
recommended leader with a small allocation (docs/strategies.md, "Recommend"), the
replayable form of the tuning experiment's arms (docs/experiments.md).

At every rebalance r, among the candidate leaders (>= min_history positions closed in
[r - lookback, r) and positive equity before the window, as for `top`):

- `recommend` (the complementary arm): diverse's choice with k = 1 — the best trailing
  performer of the style cluster farthest from the subject's own style vector;
- `recommend-top`: the best trailing performer (top with k = 1);
- `recommend-random`: one candidate drawn uniformly (seeded, counter-based per (period,
  subject)).

The leader's ideas opened in the period are copied like a copy strategy's, with the
allocation `recommend_allocation x the subject's initial equity` (amount = idea amount x
allocation / the leader's realised equity at the open; not copied when that equity is
<= 0). A subject is its own account (its own ideas differ from everybody else's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ideaflow.kernels.strategy import random_leaders_nb
from ideaflow.strategies.decide import (
    MIXED_STRATEGIES,
    Decisions,
    copy_decisions,
    own_idea_decisions,
)
from ideaflow.strategies.rebalance import Frame
from ideaflow.strategies.selection import evaluator_sets, top_sets, trailing_roi

RECOMMEND_STRATEGIES = MIXED_STRATEGIES


def _one_leader_frame(frame: Frame) -> Frame:
    """The frame with k = 1 (one leader); the style cache is keyed by the lookback and
    shared, the clusters follow `n_clusters` (default max(2k, 4) of the subject's k)."""
    params = frame.params.replace(k=1, n_clusters=frame.params.clusters)
    return replace(frame, params=params)


def random_candidate_sets(frame: Frame) -> np.ndarray:
    """One candidate leader per (subject, period), drawn uniformly from top's candidates."""
    sets = np.full((frame.n_subjects, frame.n_periods, 1), -1, dtype=np.int32)
    for j, r in enumerate(frame.times):
        _, eligible = trailing_roi(frame, int(r))
        pool = np.flatnonzero(eligible).astype(np.int32)
        if pool.shape[0]:
            sets[:, j, :] = random_leaders_nb(frame.params.seed, j, frame.subjects, pool, 1)
    return sets


def recommended_sets(frame: Frame, name: str) -> np.ndarray:
    """The recommended leader of every subject in every period, (n_subjects, n_periods, 1)."""
    one = _one_leader_frame(frame)
    if name == "recommend":
        return evaluator_sets(one, "diverse", every_period=True)
    if name == "recommend-top":
        return top_sets(one)
    if name == "recommend-random":
        return random_candidate_sets(one)
    raise ValueError(f"unknown recommend strategy {name!r}")


def recommend_decisions(
    frame: Frame, name: str, leader_equity: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> Decisions:
    """Own ideas (all taken, logged size) and the recommended leader's copied ideas, one
    row per decision, by (subject, open time, trade id)."""
    own = own_idea_decisions(frame, name, None)
    sets = recommended_sets(frame, name)
    one = _one_leader_frame(frame)
    copies = copy_decisions(one, name, sets, leader_equity)
    account_of, account_subject = copies.accounts(frame.n_subjects)
    # copies are computed once per distinct leader schedule (an account) and sized for its
    # first subject; give every subject its own rows, scaled to its equity and allocation
    by_account = np.zeros(account_subject.shape[0] + 1, dtype=np.int64)
    by_account[1:] = np.cumsum(np.bincount(copies.subject, minlength=account_subject.shape[0]))
    counts = np.diff(by_account)[account_of]
    subject = np.repeat(np.arange(frame.n_subjects, dtype=np.int32), counts)
    starts = by_account[account_of]
    # row index into the copies: each subject's account block, subject after subject
    index = np.arange(int(counts.sum()), dtype=np.int64)
    index += np.repeat(starts - (np.cumsum(counts) - counts), counts)
    ratio = frame.initial_equity / frame.initial_equity[account_subject[account_of]]
    share = frame.params.recommend_allocation
    copy_size = copies.size[index] * ratio[subject] * share
    trades = frame.ds.trades
    rows = np.concatenate([own.row, copies.row[index]])
    subjects = np.concatenate([own.subject, subject])
    order = np.lexsort((trades.trade_id[rows], trades.open_time[rows], subjects))
    zeros = np.zeros(rows.shape[0], dtype=np.int32)
    return Decisions(
        name,
        subjects[order].astype(np.int32),
        rows[order],
        np.concatenate([own.period, copies.period[index]])[order].astype(np.int32),
        np.concatenate([own.taken, copies.taken[index]])[order],
        zeros,
        zeros,
        np.concatenate([own.size, copy_size])[order],
        sets,
        None,
        None,
    )
