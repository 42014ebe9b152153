"""The original trades ("ideas"): when, on what, for how long, how big and at what cost.

Everything here is drawn vectorised, before the social layer runs; the *side* of each
idea is decided later by the social kernel, because it depends on the trader's leaders
at the time (see `ideaflow.kernels.synth.simulate_platform_nb`). An idea's side is
`sign(skill * signal + cluster_error * shared_error[cluster] + herd_loading * sentiment
+ idio_noise * noise + social_learning * mean leader view)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ideaflow.synth.market import Market
from ideaflow.synth.params import SynthParams
from ideaflow.synth.traders import Traders

_NS_PER_SECOND = 1_000_000_000
_MIN_HOLDING_NS = 60 * _NS_PER_SECOND


@dataclass(frozen=True, eq=False)
class Ideas:
    """Original trades sorted by (open_time, trader): everything but the side."""

    trader: np.ndarray  # int32 trader code
    instrument: np.ndarray  # int32 index into market.instruments
    open_time: np.ndarray  # int64 ns
    close_time: np.ndarray  # int64 ns; OPEN_END when still open at the end of the data
    open_bar: np.ndarray  # int64
    open_price: np.ndarray
    close_price: np.ndarray  # NaN when still open
    amount: np.ndarray
    leverage: np.ndarray
    fee: np.ndarray
    noise: np.ndarray  # the idea's private noise (standard normal)

    def __len__(self) -> int:
        return int(self.trader.shape[0])

    @property
    def move(self) -> np.ndarray:
        """Side-free gross PnL: leverage * amount * (close / open - 1); 0 when still open."""
        closed = np.isfinite(self.close_price)
        out = np.zeros(len(self), dtype=np.float64)
        out[closed] = (
            self.leverage[closed]
            * self.amount[closed]
            * (self.close_price[closed] / self.open_price[closed] - 1.0)
        )
        return out


def draw_ideas(
    params: SynthParams, traders: Traders, market: Market, rng: np.random.Generator, open_end: int
) -> Ideas:
    """Draw the schedule, sizes and costs of every trader's original trades."""
    n_ideas = traders.n_ideas
    total = int(n_ideas.sum())
    trader = np.repeat(np.arange(traders.n, dtype=np.int32), n_ideas)

    first = int(market.bar_times[0])
    last = int(market.bar_times[-1])
    # whole seconds in [first, last): trades open while the market has bars
    span_seconds = (last - first) // _NS_PER_SECOND
    open_time = first + rng.integers(0, span_seconds, total, dtype=np.int64) * _NS_PER_SECOND
    order = np.lexsort((trader, open_time))
    trader = trader[order]
    open_time = open_time[order]

    n_inst = len(market.instruments)
    favourite = traders.cluster[trader] % n_inst
    on_favourite = rng.random(total) < params.cluster_instrument_focus
    instrument = np.where(on_favourite, favourite, rng.integers(0, n_inst, total)).astype(np.int32)

    hold_hours = traders.holding_hours[trader] * np.exp(
        params.holding_sigma_trade * rng.standard_normal(total)
    )
    hold_ns = np.maximum((hold_hours * 3600).astype(np.int64) * _NS_PER_SECOND, _MIN_HOLDING_NS)
    close_time = open_time + hold_ns
    still_open = close_time > last
    close_time[still_open] = open_end

    # the bar at or before each time (user-supplied grids may be irregular)
    open_bar = np.searchsorted(market.bar_times, open_time, side="right") - 1
    close_bar = np.searchsorted(market.bar_times, np.minimum(close_time, last), side="right") - 1
    close_bar[still_open] = 0
    open_price = market.price[instrument, open_bar]
    close_price = market.price[instrument, close_bar]
    close_price[still_open] = np.nan

    equity = traders.initial_equity[trader]
    amount = (
        equity
        * traders.stake[trader]
        * np.exp(0.5 * params.stake_sigma * rng.standard_normal(total))
    )
    amount = np.maximum(np.round(np.minimum(amount, equity), 2), 0.01)
    leverage = traders.leverage[trader].astype(np.float64)
    fee = np.round(params.spread_bps * 1e-4 * amount * leverage, 6)
    noise = rng.standard_normal(total)

    return Ideas(
        trader=trader,
        instrument=instrument,
        open_time=open_time,
        close_time=close_time,
        open_bar=open_bar.astype(np.int64),
        open_price=open_price,
        close_price=close_price,
        amount=amount,
        leverage=leverage,
        fee=fee,
        noise=noise,
    )
