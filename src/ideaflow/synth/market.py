"""Synthetic markets: price bars with volatility clustering and a slowly varying predictable drift.

Per instrument, on a regular bar grid:
- `signal[t]`: a unit-variance AR(1) process (half-life `signal_halflife_days`); it is the
  *predictable component* that skilled traders' ideas carry;
- the bar's volatility follows a GARCH(1,1) recursion (clustered volatility);
- the log return of bar t is `signal_strength * sigma[t] * signal[t] + sigma[t] * z[t]`.

The latent series the traders react to (cluster errors, platform-wide herd sentiment) are
AR(1) processes on the same grid. With user-supplied prices the signal is the z-scored
forward return over a trader's typical holding time (a perfect-foresight proxy: skill
then means "how much of the coming move an idea anticipates").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ideaflow.errors import ParameterError
from ideaflow.kernels.synth import ar1_paths_nb, garch_log_prices_nb
from ideaflow.synth.params import INSTRUMENT_START_PRICES, SynthParams


@dataclass(frozen=True, eq=False)
class Market:
    """Price bars and latent drivers on a common grid of `n_bars` bar times."""

    instruments: tuple[str, ...]
    bar_times: np.ndarray  # int64 ns, regular grid
    bar_ns: int
    price: np.ndarray  # float64 (n_instruments, n_bars)
    signal: np.ndarray  # float64 (n_instruments, n_bars), unit variance
    user_supplied: bool

    @property
    def n_bars(self) -> int:
        return int(self.bar_times.shape[0])

    def prices_table(self) -> pa.Table:
        """The contract's `prices` table (docs/contract.md §2), instrument-major."""
        n_inst, n_bars = self.price.shape
        codes = np.repeat(np.arange(n_inst, dtype=np.int32), n_bars)
        names = pa.array(list(self.instruments), type=pa.string())
        times = pa.array(np.tile(self.bar_times, n_inst), type=pa.int64())
        return pa.table(
            {
                "instrument": pa.DictionaryArray.from_arrays(pa.array(codes), names),
                "time": times.cast(pa.timestamp("ns", tz="UTC")),
                "price": self.price.reshape(-1),
            }
        )


def _halflife_phi(halflife_bars: float) -> float:
    return float(0.5 ** (1.0 / max(halflife_bars, 1e-9)))


def ar1_paths(
    rng: np.random.Generator, n_paths: int, n_bars: int, halflife_bars: float
) -> np.ndarray:
    """`n_paths` unit-variance AR(1) paths of length `n_bars` with the given half-life."""
    shocks = rng.standard_normal((n_paths, n_bars))
    return ar1_paths_nb(shocks, _halflife_phi(halflife_bars))


def simulate_market(params: SynthParams, rng: np.random.Generator) -> Market:
    """Generate the price paths and the predictable signal of `params.instruments`."""
    n_bars = params.n_bars
    bar_ns = params.bar_minutes * 60 * 1_000_000_000
    start = np.datetime64(params.start, "ns").astype(np.int64)
    bar_times = start + np.arange(n_bars, dtype=np.int64) * bar_ns
    bars_per_day = 24 * 60 / params.bar_minutes
    n_inst = len(params.instruments)

    signal = ar1_paths(rng, n_inst, n_bars, params.signal_halflife_days * bars_per_day)
    shocks = rng.standard_normal((n_inst, n_bars))
    bar_var = params.daily_vol**2 / bars_per_day
    start_prices = np.array(
        [INSTRUMENT_START_PRICES.get(name, 100.0) for name in params.instruments], dtype=np.float64
    )
    price = garch_log_prices_nb(
        shocks,
        signal,
        np.log(start_prices),
        bar_var,
        params.garch_alpha,
        params.garch_beta,
        params.signal_strength,
    )
    # FX quotes carry 5 significant digits; rounding keeps files compact and realistic
    price = _round_significant(price, 6)
    return Market(params.instruments, bar_times, bar_ns, price, signal, False)


def _round_significant(x: np.ndarray, digits: int) -> np.ndarray:
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
    return np.round(x * scale) / scale


def market_from_prices(prices: pd.DataFrame, params: SynthParams) -> Market:
    """A `Market` from user-supplied bars (`instrument`, `time`, `price`).

    The grid is the sorted union of the bar times (instruments are forward-filled onto it,
    and back-filled before their first bar); the grid must be regular enough for holding
    times to make sense, so its step is the median gap between bar times.
    """
    missing = {"instrument", "time", "price"} - set(prices.columns)
    if missing:
        raise ParameterError(
            f"prices: expected columns instrument, time, price; missing {sorted(missing)}"
        )
    if len(prices) == 0:
        raise ParameterError("prices: expected at least one bar, found an empty table")
    frame = prices.loc[:, ["instrument", "time", "price"]].copy()
    frame["instrument"] = frame["instrument"].astype(str)
    times = pd.to_datetime(frame["time"], utc=True)
    frame["time"] = times.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").astype("int64")
    price_values = frame["price"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(price_values) & (price_values > 0)):
        raise ParameterError("prices: expected finite prices > 0")
    wide = frame.pivot_table(index="time", columns="instrument", values="price", aggfunc="last")
    wide = wide.sort_index().ffill().bfill()
    instruments = tuple(str(c) for c in wide.columns)
    bar_times = wide.index.to_numpy(dtype=np.int64)
    if bar_times.shape[0] < 2:
        raise ParameterError("prices: expected at least two distinct bar times")
    bar_ns = int(np.median(np.diff(bar_times)))
    price = np.ascontiguousarray(wide.to_numpy(dtype=np.float64).T)
    # perfect-foresight proxy of the predictable component: z-scored forward log return
    horizon = max(1, int(round(params.holding_hours * 3.6e12 / bar_ns)))
    log_price = np.log(price)
    forward = np.zeros_like(log_price)
    forward[:, :-horizon] = log_price[:, horizon:] - log_price[:, :-horizon]
    sd = forward.std(axis=1, keepdims=True)
    signal = np.divide(forward, sd, out=np.zeros_like(forward), where=sd > 0)
    return Market(instruments, bar_times, bar_ns, price, signal, True)
