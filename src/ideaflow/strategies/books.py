"""From decisions to accounting: each subject's positions as an engine `Book` (account =
subject index), its metrics and daily PnL, and the `BacktestResult` tables.

Positions are rows of the `actual` replay's book (so PnL, returns and marks of open
positions follow the engine's rules exactly), scaled by the decision's size: amount, fee
and PnL scale linearly, the return does not. A copied position gets a new deterministic
trade id (`max(logged trade_id) + 1 + n`, n = its rank in (subject, open time, idea
trade id) order), its idea as `parent_trade_id` and `root_trade_id`, and hop 1. Strategies that mix own ideas and copies (`MIXED_STRATEGIES`: the recommend
strategies) keep the own ideas' ids and number only their copies so.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.data import Dataset
from ideaflow.engine.metrics import account_metrics, daily_pnl, group_book
from ideaflow.records import Book, DailyPnl, DecisionRecord
from ideaflow.results import tables
from ideaflow.results.frames import to_frame
from ideaflow.strategies.decide import COPY_STRATEGIES, MIXED_STRATEGIES, Decisions
from ideaflow.strategies.exposure import held_metrics
from ideaflow.strategies.rebalance import Frame


def strategy_book(frame: Frame, decisions: Decisions, actual: Book) -> Book:
    """The subjects' positions implied by the decisions (only taken ones)."""
    taken = np.flatnonzero(decisions.taken)
    rows = decisions.row[taken]
    n = rows.shape[0]
    is_copy = decisions.strategy in COPY_STRATEGIES
    mixed = decisions.strategy in MIXED_STRATEGIES
    first_id = int(frame.ds.trades.trade_id.max()) + 1 if len(frame.ds.trades) else 0
    # the engine's books are in (open_time, trade_id) order: sort the decisions first and
    # gather each column once (no second, sorted copy of the whole book)
    if mixed:
        # own ideas keep their trade ids; a copy (an idea of another trader) gets
        # first_id + its rank among the copies in decision order
        copy_row = frame.ds.trades.trader[rows] != frame.subjects[decisions.subject[taken]]
        ids = actual.trade_id[rows].copy()
        ids[copy_row] = first_id + np.arange(int(copy_row.sum()), dtype=np.int64)
        order = np.lexsort((ids, actual.open_time[rows]))
        trade_id = ids[order]
        copy_row = copy_row[order]
        del ids
    elif is_copy:
        # a copy's id is first_id + its rank in decision order
        order = np.lexsort((np.arange(n, dtype=np.int64), actual.open_time[rows]))
        trade_id = first_id + order.astype(np.int64)
    else:
        order = np.lexsort((actual.trade_id[rows], actual.open_time[rows]))
    taken = taken[order]
    del order
    rows = decisions.row[taken]
    size = decisions.size[taken]
    base = actual.take(rows)
    del rows
    if mixed:
        parent = np.where(copy_row, base.trade_id, -1).astype(np.int64)
        hop = copy_row.astype(np.int16)
    elif is_copy:
        parent = base.trade_id
        hop = np.ones(n, dtype=np.int16)
    else:
        trade_id = base.trade_id
        parent = np.full(n, -1, dtype=np.int64)
        hop = np.zeros(n, dtype=np.int16)
    return Book(
        trade_id=trade_id,
        account=decisions.subject[taken].astype(np.int32),
        instrument=base.instrument,
        side=base.side,
        open_time=base.open_time,
        close_time=base.close_time,
        open_price=base.open_price,
        close_price=base.close_price,
        amount=base.amount * size,
        leverage=base.leverage,
        fee=base.fee * size,
        pnl=base.pnl * size,
        ret=base.ret,
        marked=base.marked,
        root_trade_id=parent,
        parent_trade_id=parent,
        hop=hop,
    )


def decision_record(frame: Frame, decisions: Decisions) -> DecisionRecord:
    """The decisions as a `DecisionRecord` (trader codes; the table gives their ids)."""
    trades = frame.ds.trades
    rows = decisions.row
    _, account_subject = decisions.accounts(frame.n_subjects)
    if decisions.sets is not None:
        flat = decisions.sets.reshape(-1, decisions.sets.shape[2])
        in_force = flat[decisions.subject.astype(np.int64) * frame.n_periods + decisions.period]
    else:
        in_force = np.full((rows.shape[0], 0), -1, dtype=np.int32)
    return DecisionRecord(
        subject=frame.subjects[account_subject[decisions.subject]],
        trade_id=trades.trade_id[rows],
        # the trader whose idea it is (copy strategies; own ideas and copies mixed)
        leader=trades.trader[rows]  # type: ignore[arg-type]
        if decisions.strategy in COPY_STRATEGIES + MIXED_STRATEGIES
        else None,
        time=trades.open_time[rows],
        instrument=trades.instrument[rows],
        side=trades.side[rows],
        taken=decisions.taken,
        support=decisions.support,
        n_evaluators=decisions.n_evaluators,
        size=decisions.size,
        in_force=in_force,
        rebalance_time=frame.times[decisions.period],
    )


def decisions_table(frame: Frame, decisions: Decisions) -> pa.Table:
    """decisions.parquet: one row per decision with the evaluators/leaders in force."""
    ds = frame.ds
    return tables.decisions_table(decision_record(frame, decisions), ds.trader_ids, ds.instruments)


def decisions_frame(frame: Frame, decisions: Decisions) -> pd.DataFrame:
    """`decisions_table` as a DataFrame."""
    return to_frame(decisions_table(frame, decisions))


def trades_table(frame: Frame, book: Book, decisions: Decisions) -> pa.Table:
    """trades.parquet of a strategy book: the engine's trades schema, with each account's
    positions under its subject's trader id."""
    return tables.book_table(book, _owner_ids(frame, decisions), frame.ds.instruments)


def _owner_ids(frame: Frame, decisions: Decisions) -> np.ndarray:
    """Trader id of the subject owning each account of the book."""
    _, account_subject = decisions.accounts(frame.n_subjects)
    return np.asarray(frame.ds.trader_ids[frame.subjects[account_subject]], dtype=np.int64)


def _expanded_daily(
    daily: DailyPnl, account_of: np.ndarray, n_accounts: int, scale: np.ndarray
) -> DailyPnl:
    """Daily rows of each subject's account scaled by the subject's factor, one block per
    subject (subject order; `account` becomes the subject index), filled a chunk of
    subjects at a time (herd's few accounts expand to tens of millions of rows)."""
    indptr = np.zeros(n_accounts + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(daily.account, minlength=n_accounts))
    starts = indptr[account_of]
    lengths = indptr[account_of + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.shape[0] else 0
    out_subject = np.empty(total, dtype=np.int32)
    out_day = np.empty(total, dtype=np.int64)
    out_pnl = np.empty(total, dtype=np.float64)
    step = 4096
    for a in range(0, account_of.shape[0], step):
        b = min(a + step, account_of.shape[0])
        lo = int(ends[a - 1]) if a else 0
        hi = int(ends[b - 1])
        if hi == lo:
            continue
        chunk_len = lengths[a:b]
        local_start = ends[a:b] - chunk_len - lo  # where each subject's block starts
        index = np.repeat(starts[a:b] - local_start, chunk_len) + np.arange(hi - lo)
        subject = np.repeat(np.arange(a, b, dtype=np.int32), chunk_len)
        out_subject[lo:hi] = subject
        out_day[lo:hi] = daily.day[index]
        out_pnl[lo:hi] = daily.pnl[index] * scale[subject]
    return DailyPnl(account=out_subject, day=out_day, pnl=out_pnl)


def account_tables(
    frame: Frame, book: Book, decisions: Decisions, holding: np.ndarray | None = None
) -> tuple[pa.Table, pa.Table]:
    """accounts (one row per subject, by subject id) and sparse daily PnL, as Arrow tables.

    With shared accounts (copy strategies), each subject gets its account's metrics and
    daily PnL scaled by its initial equity over the account's, and `positions_of` names
    the subject whose rows in trades.parquet and decisions.parquet hold its positions
    (itself, unless it shares an account). `holding` (per subject, exposure matching)
    replaces that scale: the subject's positions are its account's times `holding`, and
    its ratios (ROI, drawdown, Sharpe) are computed for those positions.
    """
    ds: Dataset = frame.ds
    params = frame.params
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    n_accounts = account_subject.shape[0]
    grouped = group_book(book, n_accounts, prices=ds.prices, data_end=ds.data_end)
    metrics = account_metrics(
        grouped,
        n_accounts,
        frame.initial_equity[account_subject],
        prices=ds.prices,
        data_end=ds.data_end,
        annualization=params.sharpe_annualization,
    )
    per_subject = metrics.take(account_of)
    # a subject sharing an account holds its positions scaled by the ratio of initial
    # equities: money amounts scale, ratios (roi, drawdown, sharpe, win rate) do not
    scale = frame.initial_equity / frame.initial_equity[account_subject[account_of]]
    per_subject = replace(
        per_subject,
        initial_equity=frame.initial_equity.copy(),
        final_equity=per_subject.final_equity * scale,
        pnl=per_subject.pnl * scale,
    )
    shared = n_accounts != frame.n_subjects or not np.array_equal(
        account_of, np.arange(frame.n_subjects)
    )
    if holding is not None and shared:
        scale = holding
        per_subject = held_metrics(
            grouped, account_of, holding, frame.initial_equity, params.sharpe_annualization
        )
    subject_ids = ds.trader_ids[frame.subjects]
    # the engine's accounts schema (NaN metrics stay NaN, as in a backtest's file) plus
    # the subject holding the positions
    accounts = tables.accounts_table(per_subject, subject_ids).append_column(
        "positions_of", pa.array(subject_ids[account_subject[account_of]], type=pa.int64())
    )
    daily = daily_pnl(grouped, n_accounts, prices=ds.prices, data_end=ds.data_end)
    if shared:
        daily = _expanded_daily(daily, account_of, n_accounts, scale)
    return accounts, tables.daily_table(daily, subject_ids)
