"""Generate a synthetic platform: market, traders, ideas, follows, and the logged copies.

The generator is a client of the data contract (docs/contract.md §2): it builds the original trades,
follows, prices and accounts, validates them through `ideaflow.io.dataset_from_frames`,
and takes the logged copies from the engine's own `mirror` replay (docs/contract.md §4, depth 1), so
the log is exactly what the engine regenerates from the same follows. The ground truth
(latent traits and parameters) is written beside the data under `truth/`, never into the
contract's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.data import OPEN_END
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import ParameterError
from ideaflow.io import dataset_from_frames, write_dataset, write_json_atomic, write_parquet_atomic
from ideaflow.progress import Stages
from ideaflow.synth.ideas import Ideas, draw_ideas
from ideaflow.synth.market import Market, ar1_paths, market_from_prices, simulate_market
from ideaflow.synth.params import SynthParams, resolve_params
from ideaflow.synth.social import SocialOutcome, n_epochs, simulate_social
from ideaflow.synth.traders import Traders, draw_traders

GENERATOR_VERSION = 1


@dataclass(frozen=True, eq=False)
class GeneratedPlatform:
    """A generated platform: the contract tables (pyarrow), the ground truth, and counts."""

    preset: str
    seed: int
    params: SynthParams
    overrides: dict[str, Any]
    trades: pa.Table
    follows: pa.Table
    prices: pa.Table
    accounts: pa.Table
    truth: pd.DataFrame  # one row per trader: latent traits (truth/traders.parquet)
    counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    market: str = "simulated"  # or "user-supplied" (the `prices=` argument)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The contract tables as pandas DataFrames (for small platforms)."""
        return {
            "trades": self.trades.to_pandas(),
            "follows": self.follows.to_pandas(),
            "prices": self.prices.to_pandas(),
            "accounts": self.accounts.to_pandas(),
        }

    def truth_params(self) -> dict[str, Any]:
        """The content of `truth/params.json`."""
        return {
            "generator": "ideaflow.synth",
            "generator_version": GENERATOR_VERSION,
            "ideaflow_version": version("ideaflow"),
            "preset": self.preset,
            "seed": self.seed,
            "overrides": {k: _jsonable(v) for k, v in sorted(self.overrides.items())},
            "params": self.params.to_dict(),
            "market": self.market,
            "instruments": self.prices.column("instrument").unique().to_pylist(),
            "counts": self.counts,
        }

    def write(self, out: str | Path) -> Path:
        """Write the dataset (contract tables) and `truth/` into directory `out`."""

        out = Path(out)
        write_dataset(out, self.trades, self.follows, self.prices, self.accounts)
        write_parquet_atomic(self.truth, out / "truth" / "traders.parquet")
        write_json_atomic(self.truth_params(), out / "truth" / "params.json")
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


_STAGES = ["market", "traders", "ideas", "social", "tables", "copies", "write"]


def generate(
    preset: str | SynthParams = "small",
    seed: int = 0,
    out: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
    prices: pd.DataFrame | None = None,
) -> GeneratedPlatform:
    """Generate a synthetic social-trading platform (written to `out` when given).

    `preset` is a name from `PRESETS` or a `SynthParams`; `overrides` replaces fields
    (strings are parsed, as the CLI's `--set key=value`); `prices` replaces the simulated
    market by user-supplied bars (`instrument`, `time`, `price`). The same arguments give
    byte-identical files.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise ParameterError(f"seed: expected an integer >= 0, found {seed!r}")
    seed = int(seed)
    params = resolve_params(preset, overrides)
    preset_name = preset if isinstance(preset, str) else "custom"
    stages = Stages(_STAGES if out is not None else _STAGES[:-1], progress, "generate")
    streams = np.random.SeedSequence([seed, 0x1DEA]).spawn(5)
    try:
        with stages.stage("market"):
            if prices is not None:
                market = market_from_prices(prices, params)
            else:
                market = simulate_market(params, np.random.default_rng(streams[0]))
            latent_rng = np.random.default_rng(streams[1])
            n_inst = len(market.instruments)
            bars_per_hour = 3.6e12 / market.bar_ns
            halflife = params.cluster_error_halflife_hours * bars_per_hour
            cluster_err = ar1_paths(
                latent_rng, params.n_clusters * n_inst, market.n_bars, halflife
            ).reshape(params.n_clusters, n_inst, market.n_bars)
            herd = ar1_paths(latent_rng, n_inst, market.n_bars, halflife)
        start_ns = int(market.bar_times[0])
        n_ep = n_epochs(params, start_ns, int(market.bar_times[-1]))
        with stages.stage("traders"):
            traders = draw_traders(params, np.random.default_rng(streams[2]), n_ep)
        with stages.stage("ideas"):
            ideas = draw_ideas(params, traders, market, np.random.default_rng(streams[3]), OPEN_END)
            if len(ideas) == 0:
                raise ParameterError(
                    "synth parameters produce no trades: expected activity_mean * n_traders "
                    f"well above 1 over a few days, found {params.activity_mean} * "
                    f"{params.n_traders} over {params.days} day(s)"
                )
        with stages.stage("social"):
            social_seed = int(streams[4].generate_state(1, dtype=np.uint64)[0])
            social = simulate_social(
                params,
                traders,
                ideas,
                market.signal,
                cluster_err,
                herd,
                start_ns,
                n_ep,
                social_seed,
            )
        with stages.stage("tables"):
            originals = _originals_table(ideas, social, traders, market)
            follows = _follows_table(social, traders)
            prices_table = market.prices_table()
            accounts = pa.table(
                {"trader_id": traders.trader_id, "initial_equity": traders.initial_equity}
            )
        with stages.stage("copies"):
            trades, copy_counts = _log_copies(originals, follows, prices_table, accounts, progress)
        counts = {
            "traders": traders.n,
            "original_trades": len(ideas),
            "copied_trades": int(trades.num_rows - len(ideas)),
            "trades": int(trades.num_rows),
            "follows": int(follows.num_rows),
            "social_traders": int((traders.target_leaders > 0).sum()),
            "price_bars": int(prices_table.num_rows),
            **copy_counts,
        }
        platform = GeneratedPlatform(
            preset=preset_name,
            seed=seed,
            params=params,
            overrides=dict(overrides or {}),
            trades=trades,
            follows=follows,
            prices=prices_table,
            accounts=accounts,
            truth=traders.truth_frame(),
            counts=counts,
            timings=stages.timings,
            market="user-supplied" if market.user_supplied else "simulated",
        )
        if out is not None:
            with stages.stage("write"):
                platform.write(out)
            platform = _with_path(platform, Path(out))
    finally:
        stages.close()
    return platform


def _with_path(platform: GeneratedPlatform, path: Path) -> GeneratedPlatform:
    from dataclasses import replace

    return replace(platform, path=path)


def _ts(values: np.ndarray) -> pa.Array:
    """int64 ns -> UTC timestamps, OPEN_END as null."""
    mask = values == OPEN_END
    return pa.array(values, type=pa.int64(), mask=mask if mask.any() else None).cast(
        pa.timestamp("ns", tz="UTC")
    )


def _instrument_column(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int32()), pa.array(list(names), type=pa.string())
    )


def _originals_table(
    ideas: Ideas, social: SocialOutcome, traders: Traders, market: Market
) -> pa.Table:
    n = len(ideas)
    close_price = ideas.close_price
    return pa.table(
        {
            "trade_id": np.arange(1, n + 1, dtype=np.int64),
            "trader_id": traders.trader_id[ideas.trader],
            "instrument": _instrument_column(ideas.instrument, market.instruments),
            "side": social.side,
            "open_time": _ts(ideas.open_time),
            "close_time": _ts(ideas.close_time),
            "open_price": ideas.open_price,
            "close_price": pa.array(close_price, mask=~np.isfinite(close_price)),
            "amount": ideas.amount,
            "leverage": ideas.leverage,
            "parent_trade_id": pa.nulls(n, type=pa.int64()),
            "fee": ideas.fee,
        }
    )


def _follows_table(social: SocialOutcome, traders: Traders) -> pa.Table:
    # canonical row order: (follower, start_time, leader)
    order = np.lexsort((social.leader, social.start_time, social.follower))
    return pa.table(
        {
            "follower_id": traders.trader_id[social.follower[order]],
            "leader_id": traders.trader_id[social.leader[order]],
            "start_time": _ts(social.start_time[order]),
            "end_time": _ts(social.end_time[order]),
            "allocation": social.allocation[order],
        }
    )


def _log_copies(
    originals: pa.Table, follows: pa.Table, prices: pa.Table, accounts: pa.Table, progress: bool
) -> tuple[pa.Table, dict[str, int]]:
    """The full trade log: originals plus the copies the engine's mirror replay makes."""

    ds = dataset_from_frames(originals, follows, prices, accounts)
    result = replay(ds, ReplayConfig(strategy="mirror", depth=1), progress=progress)
    book = result.book
    parent = book.parent_trade_id
    close_time = book.close_time
    trades = pa.table(
        {
            "trade_id": book.trade_id,
            "trader_id": ds.trader_ids[book.account],
            "instrument": _instrument_column(book.instrument, ds.instruments),
            "side": book.side,
            "open_time": _ts(book.open_time),
            "close_time": _ts(close_time),
            "open_price": book.open_price,
            "close_price": pa.array(book.close_price, mask=close_time == OPEN_END),
            "amount": book.amount,
            "leverage": book.leverage,
            "parent_trade_id": pa.array(parent, mask=parent < 0),
            "fee": book.fee,
        }
    )
    counts = {
        k: int(v)
        for k, v in result.counts.items()
        if k.startswith("copies") and isinstance(v, int | np.integer)
    }
    return trades, counts
