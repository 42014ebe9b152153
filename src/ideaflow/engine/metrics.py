"""Accounting and per-account metrics of any book (docs/contract.md §3): position PnL, account
metrics, sparse daily PnL, and an index of realised equity over time.

Generic over books: the engine's replays and the strategies' subject books alike, as a
`Book` or a `RootedBook` (whose root columns are read through its `root_row` index, never
gathered to one value per position).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ideaflow.data import DEFAULT_ANNUALIZATION, NS_PER_DAY, OPEN_END, PriceArrays
from ideaflow.errors import ParameterError
from ideaflow.kernels.accounting import (
    daily_price_table_nb,
    first_price_day_nb,
    position_pnl_nb,
)
from ideaflow.kernels.metrics import (
    account_metrics_nb,
    daily_pnl_nb,
    equity_at_nb,
    equity_index_nb,
    group_positions_nb,
)
from ideaflow.records import AccountMetrics, Book, DailyPnl, RootedBook

# below this many rows, parallel kernels run on one thread: a parallel launch costs more
# than it saves on small inputs (milliseconds on a busy machine, and strategies call the
# metrics many times on small books)
PARALLEL_MIN_ROWS = 100_000


@contextmanager
def threads_for(n_rows: int) -> Iterator[None]:
    """Numba threads for work on `n_rows` rows: one thread for small inputs."""
    if n_rows >= PARALLEL_MIN_ROWS:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def check_annualization(value: Any, name: str) -> float:
    """A finite factor > 0, or a ParameterError naming `name`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a finite number > 0; found {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ParameterError(f"{name}: expected a finite number > 0; found {value!r}")
    return number


def position_pnl(
    side: Any, leverage: Any, amount: Any, open_price: Any, exit_price: Any, fee: Any
) -> np.ndarray:
    """`side * leverage * amount * (exit_price / open_price - 1) - fee` (broadcasting)."""
    arrays = np.broadcast_arrays(
        np.asarray(side, dtype=np.float64),
        np.asarray(leverage, dtype=np.float64),
        np.asarray(amount, dtype=np.float64),
        np.asarray(open_price, dtype=np.float64),
        np.asarray(exit_price, dtype=np.float64),
        np.asarray(fee, dtype=np.float64),
    )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).ravel() for a in arrays]
    with threads_for(flat[0].shape[0]):
        return position_pnl_nb(*flat).reshape(shape)


def _root_columns(book: Book | RootedBook) -> tuple[np.ndarray, Any]:
    """`root_row` and the per-root columns of a book: a `RootedBook`'s own, or for a `Book`
    an empty `root_row` (every position is its own root) and the book itself."""
    if isinstance(book, RootedBook):
        return book.root_row, book.roots
    return np.zeros(0, dtype=np.int32), {n: getattr(book, n) for n in RootedBook.ROOT_COLUMNS}


def _data_end(roots: Any, n: int, data_end: int | None) -> int:
    if data_end is not None:
        return int(data_end)
    if n == 0:
        return 0
    # every root is a position too: the roots' times are the book's
    close_time = roots["close_time"]
    closed = close_time[close_time != OPEN_END]
    end = int(roots["open_time"].max())
    if closed.shape[0]:
        end = max(end, int(closed.max()))
    return end


@dataclass(frozen=True, eq=False)
class GroupedBook:
    """A book's positions as account-ordered records, plus what marking to prices needs.

    Built once per book by `group_book`; `account_metrics` and `daily_pnl` accept it in
    place of the book to skip the regrouping.
    """

    n_accounts: int
    indptr: np.ndarray  # int64, n_accounts + 1
    records: np.ndarray  # POSITION_RECORD
    # (use_marks, day_table, day0, first_price_day, root_row, instrument, side_leverage,
    # amount, open_price): see `ideaflow.kernels.metrics`
    marks: tuple


def group_book(
    book: Book | RootedBook,
    n_accounts: int,
    *,
    prices: PriceArrays | None = None,
    data_end: int | None = None,
) -> GroupedBook:
    """Group a book's positions by account (see `ideaflow.kernels.metrics`)."""
    n = len(book)
    account = book.column("account")
    if n and (int(account.min()) < 0 or int(account.max()) >= n_accounts):
        raise ParameterError(
            f"n_accounts: expected more than the largest book account "
            f"({int(account.max())}); found {n_accounts}"
        )
    if n >= np.iinfo(np.int32).max:
        raise ParameterError(f"book: expected fewer than 2^31 positions; found {n}")
    root_row, roots = _root_columns(book)
    end = _data_end(roots, n, data_end)
    with threads_for(n + n_accounts):
        indptr, records = group_positions_nb(
            account,
            root_row,
            np.int64(n_accounts),
            roots["open_time"],
            roots["close_time"],
            book.column("pnl"),
            book.column("parent_trade_id") >= 0,
            roots["marked"],
            np.int64(end),
        )
    use_marks = prices is not None and len(prices) > 0 and n > 0
    if use_marks:
        assert prices is not None
        first_day = first_price_day_nb(prices.time, prices.indptr)
        close_time = roots["close_time"]
        closed = close_time[close_time != OPEN_END]
        day0 = int(roots["open_time"].min()) // NS_PER_DAY
        last = max(end, int(closed.max()) if closed.shape[0] else end)
        n_days = last // NS_PER_DAY - day0 + 1
        table = daily_price_table_nb(
            prices.time, prices.price, prices.indptr, np.int64(day0), np.int64(n_days)
        )
        marks = (
            True,
            table,
            np.int64(day0),
            first_day,
            root_row,
            roots["instrument"],
            roots["side"] * roots["leverage"],
            book.column("amount"),
            roots["open_price"],
        )
    else:
        empty_f = np.zeros(0)
        marks = (
            False,
            np.zeros((0, 0)),
            np.int64(0),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            empty_f,
            empty_f,
            empty_f,
        )
    return GroupedBook(n_accounts=n_accounts, indptr=indptr, records=records, marks=marks)


def _as_grouped(
    book: Book | RootedBook | GroupedBook,
    n_accounts: int,
    prices: PriceArrays | None,
    data_end: int | None,
) -> GroupedBook:
    if isinstance(book, GroupedBook):
        if book.n_accounts != n_accounts:
            raise ParameterError(
                f"n_accounts: expected {book.n_accounts} (as grouped); found {n_accounts}"
            )
        return book
    return group_book(book, n_accounts, prices=prices, data_end=data_end)


def _initial_equity(initial_equity: Any, n_accounts: int) -> np.ndarray:
    init = np.asarray(initial_equity, dtype=np.float64)
    if init.ndim == 0:
        init = np.full(n_accounts, float(init))
    if init.shape != (n_accounts,):
        raise ParameterError(
            f"initial_equity: expected a scalar or {n_accounts} values; found shape {init.shape}"
        )
    if not (np.all(np.isfinite(init)) and np.all(init > 0)):
        raise ParameterError("initial_equity: expected finite values > 0; found others")
    return np.ascontiguousarray(init)


def account_metrics(
    book: Book | RootedBook | GroupedBook,
    n_accounts: int,
    initial_equity: Any,
    *,
    prices: PriceArrays | None = None,
    data_end: int | None = None,
    annualization: float = DEFAULT_ANNUALIZATION,
) -> AccountMetrics:
    """Per-account metrics (docs/contract.md §3) of any book; accounts without positions get a row.

    `prices` adds day-end marks of open positions to the equity path (drawdown, sharpe);
    `data_end` (default: the book's last time) is where open positions are marked.
    """
    ann = check_annualization(annualization, "annualization")
    init = _initial_equity(initial_equity, n_accounts)
    grouped = _as_grouped(book, n_accounts, prices, data_end)
    with threads_for(grouped.records.shape[0] + n_accounts):
        out = account_metrics_nb(grouped.indptr, grouped.records, init, ann, grouped.marks)
    return account_record(init, out[0], out[1], out[2:])


def account_record(
    initial_equity: np.ndarray, final_equity: np.ndarray, pnl: np.ndarray, rest: tuple
) -> AccountMetrics:
    """`AccountMetrics` from the equities and PnL, and the rest of what the account
    metrics kernel returns (counts, win rate, drawdown, Sharpe, first and last time)."""
    n_trades, n_social, n_closed, n_open, win, mdd, sharpe, first, last = rest
    return AccountMetrics(
        initial_equity=initial_equity,
        final_equity=final_equity,
        pnl=pnl,
        roi=pnl / initial_equity,
        n_trades=n_trades,
        n_social=n_social,
        n_closed=n_closed,
        n_open=n_open,
        win_rate=win,
        max_drawdown=mdd,
        sharpe=sharpe,
        first_time=first,
        last_time=last,
    )


def daily_pnl(
    book: Book | RootedBook | GroupedBook,
    n_accounts: int,
    *,
    prices: PriceArrays | None = None,
    data_end: int | None = None,
) -> DailyPnl:
    """Sparse daily PnL (account int32, day int64 UTC days since epoch, pnl float64).

    Realised PnL on close days; with `prices`, the day-end mark changes of open positions
    too; open positions marked at the end of the data count on its day. Sorted by
    (account, day); the PnL of an account sums to its metrics' `pnl`.
    """
    grouped = _as_grouped(book, n_accounts, prices, data_end)
    with threads_for(grouped.records.shape[0] + n_accounts):
        account, day, pnl = daily_pnl_nb(grouped.indptr, grouped.records, grouped.marks)
    return DailyPnl(account=account, day=day, pnl=pnl)


@dataclass(frozen=True, eq=False)
class EquityIndex:
    """Realised equity of every account at any time: sorted closes + cumulative PnL (CSR)."""

    indptr: np.ndarray  # int64, n_accounts + 1
    times: np.ndarray  # int64 close times, sorted within each account
    cum_pnl: np.ndarray  # float64 cumulative realised PnL
    initial_equity: np.ndarray  # float64 per account

    @classmethod
    def from_book(
        cls, book: Book | RootedBook, n_accounts: int, initial_equity: Any
    ) -> EquityIndex:
        init = _initial_equity(initial_equity, n_accounts)
        account = book.column("account")
        if len(book) and int(account.max()) >= n_accounts:
            raise ParameterError(
                f"n_accounts: expected more than the largest book account "
                f"({int(account.max())}); found {n_accounts}"
            )
        with threads_for(len(book) + n_accounts):
            indptr, times, cum = equity_index_nb(
                account, book.column("close_time"), book.column("pnl"), np.int64(n_accounts)
            )
        return cls(indptr=indptr, times=times, cum_pnl=cum, initial_equity=init)

    def at(self, accounts: Any, times: Any) -> np.ndarray:
        """Realised equity of `accounts` at `times` (broadcast; closes at or before t count)."""
        acc, tim = np.broadcast_arrays(
            np.asarray(accounts, dtype=np.int64), np.asarray(times, dtype=np.int64)
        )
        shape = acc.shape
        flat_acc = np.ascontiguousarray(acc).ravel()
        flat_t = np.ascontiguousarray(tim).ravel()
        n = self.initial_equity.shape[0]
        if flat_acc.shape[0] and (flat_acc.min() < 0 or flat_acc.max() >= n):
            raise ParameterError(f"accounts: expected codes in [0, {n}); found others")
        with threads_for(flat_acc.shape[0]):
            out = equity_at_nb(
                self.indptr, self.times, self.cum_pnl, self.initial_equity, flat_acc, flat_t
            )
        return out.reshape(shape)
