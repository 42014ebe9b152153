"""Replay engine (docs/contract.md §3-4): the log as it is (`actual`) or with copies regenerated
from the follow graph (`mirror`), then per-account metrics.

Decisions (where the contract leaves room), all implemented in `ideaflow.kernels`:

- PnL of a closed position: `side * leverage * amount * (close_price / open_price - 1) - fee`,
  `ret = pnl / amount`. An open position is marked to the last price at or before
  `ds.data_end` of its instrument when prices have that instrument (`marked=True`,
  pnl = unrealised - fee); otherwise it is *unmarked*: pnl 0, no fee charged
  (`counts["unmarked_open"]`).
- Equity `E(t) = initial + realised PnL of positions closed at or before t`. At equal
  timestamps closes come before opens; a position that opens and closes at the same
  instant is closed right after the opens of that instant (its copies exist first).
- `actual`: every logged trade is a position of its trader; `parent_trade_id` is the
  logged parent, `root_trade_id` the end of the parent chain, `hop` the chain length.
- `mirror`: logged copies are dropped; originals are replayed in (open_time, trade_id)
  order. When leader L opens at t, each follower F with a follow on L active at t
  (`start <= t < end`) gets a copy: same time, price, side, leverage, instrument;
  `amount = parent.amount * allocation / E_L(t)` with E_L the realised equity *in the
  replay* (copies included, closes at t included); no copy when `E_L(t) <= 0`
  (`counts["copies_skipped_bankrupt"]` counts each active follow, to an account the root
  has not reached yet, of a source with equity <= 0); `fee = parent.fee * amount /
  parent.amount`; copies close with their root (same time and price), so every copy of
  a root has the root's return.
- Depth d: breadth-first by hops from the root's trader, all at the root's open time.
  Hop-h copies are made from hop-(h-1) copies, each source sizing with its own replay
  equity and the follow's allocation. A root reaches an account at most once, by the
  fewest hops; ties go to the source account with the lowest trader id (each level's
  sources are processed in ascending code order, first claim wins); the root's own
  trader is never reached (cycles terminate); a source with equity <= 0 makes no copy
  and so claims nothing (another source of the same level may).
- Generated trade ids: `max(logged trade_id) + 1 + k`, k = generation order (roots in
  (open_time, trade_id) order; per root, level by level; within a level, sources in
  ascending code order; per source, its follows in (start_time, follower) order).
  Results do not depend on input row order.
- Books are sorted by (open_time, trade_id). The mirror book is a `RootedBook`: a copy
  holds its account, amount, fee, PnL, ids and hop, and its root's row for the rest.
- Metrics (`account_metrics`): pnl = E_end - E_0 (realised + marked); roi = pnl / E_0;
  n_trades, n_social (positions with a parent), n_closed, n_open; win_rate = closed with
  pnl > 0 / closed (NaN when none closed); max_drawdown = largest fall from the running
  peak of E (starting at E_0) as a fraction of the peak, E sampled after each distinct
  event time (closes, the data-end mark of open positions and, when prices are given,
  the mark of every open position at each UTC day end); sharpe = mean / std (ddof=1) of
  daily returns `(E_day_end - E_prev_day_end) / E_prev_day_end` (0 when E_prev <= 0) over
  every UTC day from the account's first to last event (quiet days are 0 returns),
  times `annualization` (default sqrt(365)); NaN with fewer than 2 days or zero spread.
  first_time / last_time: first open, last event (NaT-valued int64 min when none).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ideaflow.data import NS_PER_DAY, Dataset
from ideaflow.engine.metrics import (
    DEFAULT_ANNUALIZATION,
    GroupedBook,
    account_metrics,
    check_annualization,
    daily_pnl,
    group_book,
    threads_for,
)
from ideaflow.errors import IdeaflowError, ParameterError
from ideaflow.kernels.accounting import (
    book_pnl_nb,
    chain_roots_nb,
    copy_rates_nb,
    last_price_at_nb,
)
from ideaflow.kernels.fanout import mirror_replay_depth1_nb
from ideaflow.kernels.order import close_order_nb
from ideaflow.kernels.replay import (
    STATUS_OK,
    assemble_rooted_book_nb,
    count_hop1_candidates_nb,
    mirror_replay_nb,
)
from ideaflow.progress import Stages
from ideaflow.records import AccountMetrics, Book, DailyPnl, RootedBook

STRATEGIES = ("actual", "mirror")
MAX_DEPTH = 100


@dataclass(frozen=True)
class ReplayConfig:
    """What to replay: `actual` (the log) or `mirror` (copies regenerated, up to `depth`)."""

    strategy: str = "actual"
    depth: int = 1
    sharpe_annualization: float = DEFAULT_ANNUALIZATION

    def validate(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ParameterError(
                f"strategy: expected one of {', '.join(STRATEGIES)}; found {self.strategy!r}"
            )
        depth = self.depth
        if isinstance(depth, bool) or not isinstance(depth, int | np.integer):
            raise ParameterError(f"depth: expected an integer >= 1; found {depth!r}")
        if not 1 <= int(depth) <= MAX_DEPTH:
            raise ParameterError(f"depth: expected an integer in [1, {MAX_DEPTH}]; found {depth}")
        check_annualization(self.sharpe_annualization, "sharpe_annualization")


# --------------------------------------------------------------------------- helpers


def _marks(ds: Dataset) -> np.ndarray:
    """Per instrument: the price at the end of the data (NaN: no prices, left unmarked)."""
    if ds.prices is None or len(ds.prices) == 0:
        return np.full(ds.n_instruments, np.nan)
    p = ds.prices
    return last_price_at_nb(p.time, p.price, p.indptr, np.int64(ds.data_end))


# --------------------------------------------------------------------------- replay


@dataclass
class ReplayResult:
    """The replayed book, per-account metrics, counts and timings of one replay.

    `book` is a `Book` for `actual`, a `RootedBook` (copies point at their root) for
    `mirror`; both read the same way.
    """

    config: ReplayConfig
    book: Book | RootedBook
    metrics: AccountMetrics
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # the book grouped by account, kept for `daily` (then released)
    grouped: GroupedBook | None = field(default=None, repr=False)

    def daily(self, ds: Dataset) -> DailyPnl:
        """Sparse daily PnL per account; releases the grouped positions (0.8 GB at 30 M
        positions) it is computed from."""
        source: Book | RootedBook | GroupedBook = (
            self.book if self.grouped is None else self.grouped
        )
        self.grouped = None
        return daily_pnl(source, ds.n_traders, prices=ds.prices, data_end=ds.data_end)

    @property
    def params(self) -> dict[str, Any]:
        """The replay's parameters, as recorded in summary.json."""
        return {
            "strategy": self.config.strategy,
            "depth": int(self.config.depth),
            "sharpe_annualization": float(self.config.sharpe_annualization),
        }


def replay(
    ds: Dataset,
    config: ReplayConfig | None = None,
    progress: bool = False,
    on_book: Callable[[Book | RootedBook], None] | None = None,
) -> ReplayResult:
    """Replay a dataset (docs/contract.md §3-4) and compute per-account metrics.

    `on_book`, when given, is called with the finished book before the metrics are
    computed (the CLI starts writing trades.parquet there, overlapping the two).
    """
    config = ReplayConfig() if config is None else config
    if not isinstance(config, ReplayConfig):
        raise ParameterError(f"config: expected a ReplayConfig; found {type(config).__name__}")
    config.validate()
    stages = Stages(["marks", "replay", "book", "metrics"], progress, "replay")
    try:
        with stages.stage("marks"):
            marks = _marks(ds)
        book: Book | RootedBook
        if config.strategy == "actual":
            book, counts = _replay_actual(ds, marks, stages)
        else:
            book, counts = _replay_mirror(ds, marks, int(config.depth), stages)
        if on_book is not None:
            on_book(book)
        with stages.stage("metrics"):
            grouped = group_book(book, ds.n_traders, prices=ds.prices, data_end=ds.data_end)
            metrics = account_metrics(
                grouped,
                ds.n_traders,
                ds.initial_equity,
                prices=ds.prices,
                data_end=ds.data_end,
                annualization=config.sharpe_annualization,
            )
    finally:
        stages.close()
    # every position belongs to an account: the accounts' open positions are the book's
    n_marked = int(np.count_nonzero(book.column("marked")))
    counts.update(
        n_positions=len(book),
        marked_open=n_marked,
        unmarked_open=int(metrics.n_open.sum()) - n_marked,
        n_accounts=ds.n_traders,
    )
    return ReplayResult(
        config=config,
        book=book,
        metrics=metrics,
        counts=counts,
        timings=stages.timings,
        grouped=grouped,
    )


def _trade_counts(ds: Dataset) -> dict[str, Any]:
    n_orig = int(np.count_nonzero(ds.trades.parent < 0))
    return {
        "n_trades_in": len(ds.trades),
        "n_originals": n_orig,
        "n_logged_copies": len(ds.trades) - n_orig,
    }


def _replay_actual(ds: Dataset, marks: np.ndarray, stages: Stages) -> tuple[Book, dict]:
    t = ds.trades
    with stages.stage("replay"):
        with threads_for(len(t)):
            pnl, ret, marked, _ = book_pnl_nb(
                t.side,
                t.leverage,
                t.amount,
                t.open_price,
                t.close_price,
                t.fee,
                t.close_time,
                t.instrument,
                marks,
            )
        root_row, hop = chain_roots_nb(t.parent)
    with stages.stage("book"):
        is_copy = t.parent >= 0
        root_id = np.where(is_copy, t.trade_id[root_row], -1)
        parent_id = np.where(is_copy, t.trade_id[np.maximum(t.parent, 0)], -1)
        book = Book(
            trade_id=t.trade_id,
            account=t.trader,
            instrument=t.instrument,
            side=t.side,
            open_time=t.open_time,
            close_time=t.close_time,
            open_price=t.open_price,
            close_price=t.close_price,
            amount=t.amount,
            leverage=t.leverage,
            fee=t.fee,
            pnl=pnl,
            ret=ret,
            marked=marked,
            root_trade_id=root_id,
            parent_trade_id=parent_id,
            hop=hop,
        )
    counts = _trade_counts(ds)
    counts.update(copies_generated=0, copies_by_hop={}, copies_skipped_bankrupt=0)
    return book, counts


def _replay_mirror(
    ds: Dataset, marks: np.ndarray, depth: int, stages: Stages
) -> tuple[RootedBook, dict]:
    t = ds.trades
    f = ds.follows
    with stages.stage("replay"):
        originals = t.parent < 0
        if bool(originals.all()):
            cols = {name: getattr(t, name) for name in _TRADE_COLUMNS}
        else:
            rows = np.flatnonzero(originals)
            cols = {name: getattr(t, name)[rows] for name in _TRADE_COLUMNS}
        with threads_for(len(t)):
            pnl, _, marked, exit_price = book_pnl_nb(
                cols["side"],
                cols["leverage"],
                cols["amount"],
                cols["open_price"],
                cols["close_price"],
                cols["fee"],
                cols["close_time"],
                cols["instrument"],
                marks,
            )
            # every copy has its root's return: `rate` is the PnL per unit of amount,
            # net of the fee (a copy's fee is its root's, scaled by amount)
            valued, gross, rate = copy_rates_nb(
                cols["side"],
                cols["leverage"],
                cols["amount"],
                cols["open_price"],
                cols["fee"],
                exit_price,
            )
        close_time = cols["close_time"]
        open_time = cols["open_time"]
        # only roots of traders who lead someone enter the event loop (see the kernel)
        leads = np.diff(f.leader_indptr) > 0
        active = np.flatnonzero(leads[cols["trader"]])
        with threads_for(active.shape[0]):
            close_order = close_order_nb(active, open_time, close_time)
        zero = close_time == open_time
        n_roots = open_time.shape[0]
        # the inputs both replay kernels take (roots, closes, follows, equity)
        inputs = (
            active,
            cols["trader"],
            open_time,
            cols["amount"],
            pnl,
            rate,
            zero,
            close_order,
            close_time,
            f.leader_indptr,
            f.follower,
            f.start_time,
            f.end_time,
            f.allocation,
            ds.initial_equity,
        )
        kernel_started = time.perf_counter()
        if depth == 1:
            with threads_for(n_roots):
                copy_start, c_acct, c_amount, n_copies, skipped, status = mirror_replay_depth1_nb(
                    *inputs
                )
            c_parent = np.empty(0, dtype=np.int32)
            c_hop = np.empty(0, dtype=np.int8)
        else:
            hop1 = count_hop1_candidates_nb(
                active, cols["trader"], open_time, f.leader_indptr, f.start_time, f.end_time
            )
            # deeper levels grow the copy arrays when needed
            capacity = max(1024, 2 * int(hop1))
            (
                copy_start,
                c_acct,
                c_amount,
                c_parent,
                c_hop,
                n_copies,
                skipped,
                status,
            ) = mirror_replay_nb(*inputs, np.int64(depth), np.int64(capacity))
        # the replay kernels alone (the rest of the stage prepares their inputs)
        stages.timings["replay_kernel"] = time.perf_counter() - kernel_started
        if status != STATUS_OK:
            raise IdeaflowError(
                "mirror replay: more than 2^31 copies would be generated; "
                "reduce the depth or the size of the follow graph"
            )
        n_copies = int(n_copies)
        if depth == 1:
            by_hop = np.array([0, n_copies])
        else:
            by_hop = np.bincount(c_hop[:n_copies], minlength=depth + 1)
    with stages.stage("book"):
        if n_roots:
            group_start = np.concatenate(
                ([0], np.flatnonzero(np.diff(open_time)) + 1, [n_roots])
            ).astype(np.int64)
        else:
            group_start = np.zeros(1, dtype=np.int64)
        first_copy_id = int(t.trade_id.max()) + 1 if len(t) else 0
        with threads_for(n_roots + n_copies):
            own = assemble_rooted_book_nb(
                group_start,
                copy_start,
                cols["trade_id"],
                cols["trader"],
                cols["amount"],
                cols["fee"],
                pnl,
                gross,
                valued,
                c_acct,
                c_amount,
                c_parent,
                c_hop,
                np.int64(first_copy_id),
            )
        trade_id, account, amount, fee, pos_pnl, parent_id, hop, root_row = own
        # a copy shares its root's instrument, side, times, prices, leverage and mark:
        # those stay one value per root (the dataset's own columns when every logged
        # trade is an original)
        roots = {"trade_id": cols["trade_id"], "marked": marked}
        roots.update((n, cols[n]) for n in RootedBook.ROOT_COLUMNS if n not in roots)
        book = RootedBook(
            own={
                "trade_id": trade_id,
                "account": account,
                "amount": amount,
                "fee": fee,
                "pnl": pos_pnl,
                "parent_trade_id": parent_id,
                "hop": hop,
            },
            roots=roots,
            root_row=root_row,
        )
    counts = _trade_counts(ds)
    counts.update(
        logged_copies_dropped=counts["n_logged_copies"],
        copies_generated=n_copies,
        copies_by_hop={str(h): int(by_hop[h]) for h in range(1, depth + 1)},
        copies_skipped_bankrupt=int(skipped),
    )
    return book, counts


_TRADE_COLUMNS = (
    "trade_id",
    "trader",
    "instrument",
    "side",
    "open_time",
    "close_time",
    "open_price",
    "close_price",
    "amount",
    "leverage",
    "fee",
)


def day_of(times: Any) -> np.ndarray:
    """UTC day numbers (days since the epoch) of int64 ns timestamps."""
    return np.asarray(times, dtype=np.int64) // NS_PER_DAY
