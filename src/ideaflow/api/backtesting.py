"""The public Python API: load a dataset and backtest a strategy on it.

`backtest` is what `ideaflow backtest` calls: the engine strategies (`actual`, `mirror`)
replay the log (docs/contract.md §3-4); every other name is a walk-forward policy
(docs/contract.md §5).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ideaflow.data import DEFAULT_ANNUALIZATION, DEFAULT_INITIAL_EQUITY, Dataset, TradeArrays
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import ParameterError
from ideaflow.io import load_dataset
from ideaflow.io import write as io_write
from ideaflow.reporting.figures import backtest_figures
from ideaflow.results import BacktestResult, backtest_result
from ideaflow.results.tables import TRADES_SCHEMA, DeferredBookTable, book_chunks
from ideaflow.strategies import STRATEGIES, StrategyParams, run_strategy

ENGINE_STRATEGIES = ("actual", "mirror")


def all_strategies() -> tuple[str, ...]:
    return ENGINE_STRATEGIES + tuple(s for s in STRATEGIES if s not in ENGINE_STRATEGIES)


def load(
    data: Dataset | str | Path,
    *,
    initial_equity: float | None = None,
    on_invalid: str = "error",
    quarantine_dir: str | Path | None = None,
) -> Dataset:
    """A `Dataset` as given, or read and validated from a dataset directory."""
    if isinstance(data, Dataset):
        if initial_equity is not None:
            raise ParameterError(
                "initial_equity: applies when a dataset is read from a path; this Dataset was "
                "already built with its initial equities (pass initial_equity to load_dataset)"
            )
        return data
    return load_dataset(
        data,
        on_invalid=on_invalid,
        quarantine_dir=quarantine_dir,
        initial_equity=DEFAULT_INITIAL_EQUITY if initial_equity is None else initial_equity,
    )


def backtest(
    data: Dataset | str | Path,
    strategy: str = "actual",
    *,
    depth: int = 1,
    initial_equity: float | None = None,
    sharpe_annualization: float = DEFAULT_ANNUALIZATION,
    on_invalid: str = "error",
    quarantine_dir: str | Path | None = None,
    progress: bool = False,
    out: str | Path | None = None,
    plots: bool = True,
    **strategy_params: Any,
) -> BacktestResult:
    """Backtest one strategy on a dataset (a path or a loaded `Dataset`).

    `actual` accounts for the log as it is; `mirror` keeps the original trades and
    regenerates every copy from `follows` (docs/contract.md §4, copies of copies up to `depth` hops).
    Other names run a docs/contract.md §5 policy with `strategy_params` (see `StrategyParams`).
    With `out`, every output is written there too (`BacktestResult.write`); for the engine
    strategies trades.parquet is then written while the metrics are being computed.

    >>> result = backtest("datasets/sample", "mirror")        # doctest: +SKIP
    >>> result.accounts.sort_values("roi").tail()              # doctest: +SKIP
    """
    started = time.perf_counter()
    if strategy not in ENGINE_STRATEGIES:
        names = all_strategies()
        if strategy not in names:
            import difflib

            close = difflib.get_close_matches(strategy, names, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ParameterError(
                f"strategy: expected one of {', '.join(names)}; found `{strategy}`{hint}"
            )
    if not isinstance(depth, int) or depth < 1:
        raise ParameterError(f"depth: expected an integer >= 1; found {depth!r}")
    if not (math.isfinite(sharpe_annualization) and sharpe_annualization > 0):
        raise ParameterError(
            f"sharpe_annualization: expected a finite number > 0; found {sharpe_annualization!r}"
        )
    ds = load(
        data, initial_equity=initial_equity, on_invalid=on_invalid, quarantine_dir=quarantine_dir
    )
    _release_arrow_memory()
    load_seconds = time.perf_counter() - started
    early: dict[str, Any] = {}  # a trades write started early (engine strategies)

    if strategy in ENGINE_STRATEGIES:
        seed = strategy_params.pop("seed", None)
        unused = sorted(k for k, v in strategy_params.items() if v is not None)
        if unused:
            raise ParameterError(
                f"{', '.join(unused)}: only apply to the walk-forward strategies, not to `{strategy}`"
            )
        config = ReplayConfig(
            strategy=strategy, depth=depth, sharpe_annualization=sharpe_annualization
        )
        write_trades = None if out is None else _start_writing_trades(ds, Path(out), early)
        # a dataset read here is ours alone: its trade columns are dead once the book
        # exists, so they are released before the metrics (the memory peak)
        owned = not isinstance(data, Dataset)

        def on_book(book: Any) -> None:
            if owned:
                _release_trades(ds)
            if write_trades is not None:
                write_trades(book)

        try:
            replayed = replay(ds, config, progress=progress, on_book=on_book)
            result = backtest_result(replayed, ds, trades=early.get("table"))
        except BaseException:
            _stop_writing_trades(early)
            raise
        if "future" in early:
            result.pending_write("trades", Path(out) / "trades.parquet", early["future"])  # type: ignore[arg-type]
        result.params["seed"] = seed
    else:
        given = {k: v for k, v in strategy_params.items() if v is not None}
        given.setdefault("depth", depth)
        given.setdefault("sharpe_annualization", sharpe_annualization)
        try:
            params = StrategyParams(**given)
        except TypeError as exc:
            raise ParameterError(f"strategy parameters: {exc}") from None
        result = run_strategy(ds, strategy, params, progress=progress)
    result.timings = {"load": load_seconds, **result.timings}
    result.meta = {**ds.meta, **result.meta}
    if out is not None:
        try:
            result.write(out, figures=backtest_figures if plots else None)
        except BaseException:
            _stop_writing_trades(early)
            raise
    return result


def _stop_writing_trades(early: dict[str, Any]) -> None:
    """Stop a background trades write (after its current row group) and wait for it, so
    that nothing writes into the output directory once `backtest` has failed or been
    interrupted; the writer deletes its temporary file."""
    if "future" not in early:
        return
    early["cancel"].set()
    from concurrent.futures import wait

    wait([early["future"]])


def _start_writing_trades(ds: Dataset, out: Path, early: dict[str, Any]) -> Any:
    """An `on_book` hook: write the trades table in a background thread.

    The file is encoded on one thread (pyarrow releases the GIL), on the second core
    while the engine computes the account metrics. It is
    written one row group at a time (`book_chunks`), and the result's whole trades table
    is only built when asked for: the metrics, the memory peak of a backtest, then run
    beside one chunk of it.
    """

    cancel = threading.Event()
    early["cancel"] = cancel

    def until_cancelled(chunks: Any) -> Any:
        for chunk in chunks:
            if cancel.is_set():
                raise RuntimeError("trades.parquet: write cancelled (the backtest stopped)")
            yield chunk

    def on_book(book: Any) -> None:
        chunks = until_cancelled(
            book_chunks(book, ds.trader_ids, ds.instruments, io_write.ROW_GROUP_SIZE)
        )
        out.mkdir(parents=True, exist_ok=True)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ideaflow-write")
        early["table"] = DeferredBookTable(book, ds.trader_ids, ds.instruments)
        # one encoding thread: this write runs beside the account metrics, the memory peak
        # of a backtest, and each further thread holds another row group (0.2 GiB more at
        # 10 M trades); the other core is busy with the metrics anyway
        early["future"] = pool.submit(
            io_write.write_parquet_chunks_atomic,
            TRADES_SCHEMA,
            chunks,
            out / "trades.parquet",
            threads=1,
        )
        pool.shutdown(wait=False)  # the running write finishes; the pool takes no more

    return on_book


def _release_arrow_memory() -> None:
    """Hand Arrow's freed memory back to the system after reading a dataset.

    Reading and decoding Parquet leaves about as much freed memory in Arrow's allocator
    as the dataset itself (1 GB at 10 M trades); numpy (which allocates the replay's
    arrays) cannot reuse it, so it would otherwise count towards the peak.
    """
    pa.default_memory_pool().release_unused()


def _release_trades(ds: Dataset) -> None:
    """Drop a dataset's trade columns (10 M trades: 0.8 GB) for empty ones, in place.

    Only for a dataset `backtest` read itself, once the replay has built its book: the
    rest of a backtest reads the dataset's traders, follows, prices and meta, never its
    trades (`Dataset` is frozen for its users, hence `object.__setattr__`).
    """
    empty = {
        f.name: np.zeros(0, dtype=getattr(ds.trades, f.name).dtype)
        for f in dataclasses.fields(TradeArrays)
    }
    object.__setattr__(ds, "trades", TradeArrays(**empty))
