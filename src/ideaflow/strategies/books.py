"""From decisions to accounting: each subject's positions as an engine `Book` (account =
subject index), its SPEC §3 metrics and daily PnL, and the `BacktestResult` tables.

Positions are rows of the `actual` replay's book (so PnL, returns and marks of open
positions follow the engine's rules exactly), scaled by the decision's size: amount, fee
and PnL scale linearly, the return does not. A copied position gets a new deterministic
trade id (`max(logged trade_id) + 1 + n`, n = its rank in (subject, open time, idea
trade id) order), its idea as `parent_trade_id` and `root_trade_id`, and hop 1.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.book import AccountMetrics, Book, accounts_frame, daily_frame, trades_frame
from ideaflow.data import Dataset
from ideaflow.metrics import account_metrics, daily_pnl
from ideaflow.strategies.decide import COPY_STRATEGIES, Decisions
from ideaflow.strategies.rebalance import Frame


def _utc(times: np.ndarray) -> pd.Series:
    naive = pd.DatetimeIndex(np.asarray(times, dtype=np.int64).view("datetime64[ns]"))
    return pd.Series(naive.tz_localize("UTC"), copy=False)


def strategy_book(frame: Frame, decisions: Decisions, actual: Book) -> Book:
    """The subjects' positions implied by the decisions (only taken ones)."""
    taken = np.flatnonzero(decisions.taken)
    rows = decisions.row[taken]
    size = decisions.size[taken]
    base = actual.take(rows)
    n = rows.shape[0]
    is_copy = decisions.strategy in COPY_STRATEGIES
    if is_copy:
        first_id = int(frame.ds.trades.trade_id.max()) + 1 if len(frame.ds.trades) else 0
        trade_id = first_id + np.arange(n, dtype=np.int64)
        parent = base.trade_id.copy()
        hop = np.ones(n, dtype=np.int16)
    else:
        trade_id = base.trade_id
        parent = np.full(n, -1, dtype=np.int64)
        hop = np.zeros(n, dtype=np.int16)
    book = Book(
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
    # the engine's books are in (open_time, trade_id) order
    order = np.lexsort((book.trade_id, book.open_time))
    return book.take(order)


def decisions_frame(frame: Frame, decisions: Decisions) -> pd.DataFrame:
    """decisions.parquet: one row per decision with the evaluators/leaders in force."""
    ds = frame.ds
    trades = ds.trades
    rows = decisions.row
    n = rows.shape[0]
    if decisions.sets is not None:
        flat = decisions.sets.reshape(-1, decisions.sets.shape[2])
        in_force = flat[decisions.subject.astype(np.int64) * frame.n_periods + decisions.period]
    else:
        in_force = np.full((n, 0), -1, dtype=np.int32)
    valid = in_force >= 0
    offsets = np.zeros(n + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(valid.sum(axis=1))
    values = ds.trader_ids[in_force[valid]].astype(np.int64)
    in_force_col = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int64()))
    _, account_subject = decisions.accounts(frame.n_subjects)
    subject_codes = frame.subjects[account_subject[decisions.subject]]
    data = {
        "subject_id": pd.Series(frame.ds.trader_ids[subject_codes], copy=False),
        "trade_id": pd.Series(trades.trade_id[rows], copy=False),
        "leader_id": pd.Series(ds.trader_ids[trades.trader[rows]], copy=False),
        "time": _utc(trades.open_time[rows]),
        "instrument": pd.Categorical.from_codes(
            trades.instrument[rows].astype(np.int32), categories=pd.Index(list(ds.instruments))
        ),
        "side": pd.Series(trades.side[rows], copy=False),
        "taken": pd.Series(decisions.taken, copy=False),
        "support": pd.Series(decisions.support, copy=False),
        "n_evaluators": pd.Series(decisions.n_evaluators, copy=False),
        "size": pd.Series(decisions.size, copy=False),
        "in_force": pd.arrays.ArrowExtensionArray(in_force_col),
        "rebalance_time": _utc(frame.times[decisions.period]),
    }
    out = pd.DataFrame(data)
    if decisions.strategy not in COPY_STRATEGIES:
        out = out.drop(columns=["leader_id"])
    return out


def _expand_daily(
    account: np.ndarray, day: np.ndarray, pnl: np.ndarray, account_of: np.ndarray, n_accounts: int
):
    """Daily rows of each subject's account, one block per subject (subject order)."""
    indptr = np.zeros(n_accounts + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(account, minlength=n_accounts))
    starts = indptr[account_of]
    lengths = indptr[account_of + 1] - starts
    subject = np.repeat(np.arange(account_of.shape[0], dtype=np.int32), lengths)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    index = offsets + np.arange(subject.shape[0])
    return subject, day[index], pnl[index]


def account_tables(
    frame: Frame, book: Book, decisions: Decisions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """accounts (one row per subject, by subject id) and sparse daily PnL frames.

    With shared accounts (copy strategies), each subject gets its account's metrics and
    daily PnL scaled by its initial equity over the account's, and `positions_of` names
    the subject whose rows in trades.parquet and decisions.parquet hold its positions
    (itself, unless it shares an account).
    """
    ds: Dataset = frame.ds
    params = frame.params
    account_of, account_subject = decisions.accounts(frame.n_subjects)
    n_accounts = account_subject.shape[0]
    metrics = account_metrics(
        book,
        n_accounts,
        frame.initial_equity[account_subject],
        prices=ds.prices,
        data_end=ds.data_end,
        annualization=params.sharpe_annualization,
    )
    per_subject = AccountMetrics(
        **{f.name: getattr(metrics, f.name)[account_of] for f in fields(AccountMetrics)}
    )
    # a subject sharing an account holds its positions scaled by the ratio of initial
    # equities: money amounts scale, ratios (roi, drawdown, sharpe, win rate) do not
    scale = frame.initial_equity / frame.initial_equity[account_subject[account_of]]
    per_subject = replace(
        per_subject,
        initial_equity=frame.initial_equity.copy(),
        final_equity=per_subject.final_equity * scale,
        pnl=per_subject.pnl * scale,
    )
    subject_ids = ds.trader_ids[frame.subjects]
    accounts = accounts_frame(per_subject, subject_ids)
    accounts["positions_of"] = subject_ids[account_subject[account_of]]
    account, day, pnl = daily_pnl(book, n_accounts, prices=ds.prices, data_end=ds.data_end)
    if n_accounts != frame.n_subjects or not np.array_equal(
        account_of, np.arange(frame.n_subjects)
    ):
        account, day, pnl = _expand_daily(account, day, pnl, account_of, n_accounts)
        pnl = pnl * scale[account]
    daily = daily_frame(account, day, pnl, subject_ids)
    return accounts, daily


def book_trades_frame(frame: Frame, book: Book, decisions: Decisions) -> pd.DataFrame:
    _, account_subject = decisions.accounts(frame.n_subjects)
    owner_ids = frame.ds.trader_ids[frame.subjects[account_subject]]
    return trades_frame(book, owner_ids, frame.ds.instruments)
