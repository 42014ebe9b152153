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

from ideaflow.book import NO_TIME, AccountMetrics, Book, trades_frame
from ideaflow.data import NS_PER_DAY, Dataset
from ideaflow.metrics import account_metrics, daily_pnl, group_book
from ideaflow.strategies.decide import COPY_STRATEGIES, Decisions
from ideaflow.strategies.exposure import held_metrics
from ideaflow.strategies.rebalance import Frame
from ideaflow.tables import DAILY_SCHEMA, UTC_NS, accounts_table, book_table, daily_table


def _utc(times: np.ndarray) -> pd.Series:
    naive = pd.DatetimeIndex(np.asarray(times, dtype=np.int64).view("datetime64[ns]"))
    return pd.Series(naive.tz_localize("UTC"), copy=False)


def strategy_book(frame: Frame, decisions: Decisions, actual: Book) -> Book:
    """The subjects' positions implied by the decisions (only taken ones)."""
    taken = np.flatnonzero(decisions.taken)
    rows = decisions.row[taken]
    n = rows.shape[0]
    is_copy = decisions.strategy in COPY_STRATEGIES
    # the engine's books are in (open_time, trade_id) order: sort the decisions first and
    # gather each column once (no second, sorted copy of the whole book)
    if is_copy:
        first_id = int(frame.ds.trades.trade_id.max()) + 1 if len(frame.ds.trades) else 0
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
    if is_copy:
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


# The decisions table is built straight from numpy, typed exactly as pandas -> Arrow
# would type `decisions_frame` (NaN and NaT become nulls, categorical codes take the
# narrowest integer type), so no pandas copy of a multi-million-row table is made.
# Trades and daily tables come from `ideaflow.tables`, shared with the engine.


def _f64(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), from_pandas=True)


def _plain(values: np.ndarray, dtype: type) -> pa.Array:
    return pa.array(np.ascontiguousarray(values, dtype=dtype))


def _ts(values: np.ndarray, missing: int | None = None) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    mask = values == NO_TIME
    if missing is not None:
        mask |= values == missing
    return pa.array(values, type=pa.int64(), mask=mask if mask.any() else None).cast(UTC_NS)


def _nullable_ids(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    mask = values < 0
    return pa.array(values, type=pa.int64(), mask=mask if mask.any() else None)


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pa.Array:
    n = len(categories)
    index_type = np.int8 if n < 127 else np.int16 if n < 32767 else np.int32
    return pa.DictionaryArray.from_arrays(
        pa.array(np.ascontiguousarray(codes, dtype=index_type)),
        pa.array(list(categories), type=pa.large_string()),
    )


def decisions_table(frame: Frame, decisions: Decisions) -> pa.Table:
    """`decisions_frame` as an Arrow table (same columns and types), built from numpy."""
    ds = frame.ds
    trades = ds.trades
    rows = decisions.row
    n = rows.shape[0]
    columns: dict[str, pa.Array] = {}
    _, account_subject = decisions.accounts(frame.n_subjects)
    subject_codes = frame.subjects[account_subject[decisions.subject]]
    columns["subject_id"] = _plain(ds.trader_ids[subject_codes], np.int64)
    del subject_codes
    columns["trade_id"] = _plain(trades.trade_id[rows], np.int64)
    if decisions.strategy in COPY_STRATEGIES:
        columns["leader_id"] = _plain(ds.trader_ids[trades.trader[rows]], np.int64)
    columns["time"] = _ts(trades.open_time[rows])
    columns["instrument"] = _categorical(trades.instrument[rows], tuple(ds.instruments))
    columns["side"] = pa.array(trades.side[rows])
    columns["taken"] = _plain(decisions.taken, np.bool_)
    columns["support"] = pa.array(decisions.support)
    columns["n_evaluators"] = pa.array(decisions.n_evaluators)
    columns["size"] = _f64(decisions.size)
    offsets = np.zeros(n + 1, dtype=np.int32)
    if decisions.sets is not None:
        # one subject-period at a time would be slow; chunks bound the (n, k) temporary
        flat = decisions.sets.reshape(-1, decisions.sets.shape[2])
        parts = []
        step = 1 << 20
        for a in range(0, n, step):
            block = flat[
                decisions.subject[a : a + step].astype(np.int64) * frame.n_periods
                + decisions.period[a : a + step]
            ]
            valid = block >= 0
            offsets[a + 1 : a + 1 + block.shape[0]] = valid.sum(axis=1)
            parts.append(ds.trader_ids[block[valid]].astype(np.int64))
        np.cumsum(offsets, out=offsets)
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        del parts
    else:
        values = np.zeros(0, dtype=np.int64)
    columns["in_force"] = pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(values, type=pa.int64())
    )
    del offsets, values
    columns["rebalance_time"] = _ts(frame.times[decisions.period])
    return pa.table(columns)


def trades_table(frame: Frame, book: Book, decisions: Decisions) -> pa.Table:
    """trades.parquet of a strategy book: `ideaflow.tables.book_table` (the schema of every
    trades.parquet), with each account's positions under its subject's trader id."""
    return book_table(book, _owner_ids(frame, decisions), tuple(frame.ds.instruments))


def _owner_ids(frame: Frame, decisions: Decisions) -> np.ndarray:
    """Trader id of the subject owning each account of the book."""
    _, account_subject = decisions.accounts(frame.n_subjects)
    return np.asarray(frame.ds.trader_ids[frame.subjects[account_subject]], dtype=np.int64)


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


def _expanded_daily_table(
    account: np.ndarray,
    day: np.ndarray,
    pnl: np.ndarray,
    account_of: np.ndarray,
    n_accounts: int,
    scale: np.ndarray,
    subject_ids: np.ndarray,
) -> pa.Table:
    """Daily rows of each subject's account scaled by the subject's factor, one block per
    subject (subject order), written straight into the output columns a chunk of subjects
    at a time (herd's few accounts expand to tens of millions of rows)."""
    indptr = np.zeros(n_accounts + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(account, minlength=n_accounts))
    starts = indptr[account_of]
    lengths = indptr[account_of + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.shape[0] else 0
    out_ids = np.empty(total, dtype=np.int64)
    out_day = np.empty(total, dtype=np.int64)
    out_pnl = np.empty(total, dtype=np.float64)
    ids = np.asarray(subject_ids, dtype=np.int64)
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
        subject = np.repeat(np.arange(a, b), chunk_len)
        out_ids[lo:hi] = ids[subject]
        out_day[lo:hi] = day[index].astype(np.int64) * NS_PER_DAY
        out_pnl[lo:hi] = pnl[index] * scale[subject]
    columns = [
        pa.array(out_ids),
        pa.array(out_day, type=pa.int64()).cast(UTC_NS),
        pa.array(out_pnl, type=pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=DAILY_SCHEMA)


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
    accounts = accounts_table(per_subject, subject_ids).append_column(
        "positions_of", pa.array(subject_ids[account_subject[account_of]], type=pa.int64())
    )
    account, day, pnl = daily_pnl(grouped, n_accounts, prices=ds.prices, data_end=ds.data_end)
    if shared:
        return accounts, _expanded_daily_table(
            account, day, pnl, account_of, n_accounts, scale, subject_ids
        )
    return accounts, daily_table(account, day, pnl, subject_ids)


def book_trades_frame(frame: Frame, book: Book, decisions: Decisions) -> pd.DataFrame:
    return trades_frame(book, _owner_ids(frame, decisions), frame.ds.instruments)
