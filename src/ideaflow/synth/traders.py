"""Latent traits of the synthetic traders (the ground truth written to `truth/traders.parquet`).

Every trait is drawn for all traders at once (vectorised numpy); trader codes are
0..n-1 and trader ids are `code + 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ideaflow.synth.params import SynthParams


@dataclass(frozen=True, eq=False)
class Traders:
    """Per-trader latent traits (numpy arrays indexed by trader code)."""

    trader_id: np.ndarray  # int64
    skill: np.ndarray  # weight of the predictable signal in the trader's ideas
    cluster: np.ndarray  # int32 style cluster
    charisma: np.ndarray  # popularity appeal (mean 1); also the trader's herd loading
    charisma_z: np.ndarray  # standardised log charisma (enters the choice logit)
    herd_load: np.ndarray  # weight of the platform-wide sentiment in the trader's ideas
    exploration_rate: np.ndarray  # chance of revising whom to mirror at each revision
    activity: np.ndarray  # expected number of original trades over the period
    n_ideas: np.ndarray  # int64 realised number of original trades
    holding_hours: np.ndarray  # median holding time of the trader's trades
    leverage: np.ndarray  # the trader's leverage
    stake: np.ndarray  # median trade amount as a fraction of initial equity
    initial_equity: np.ndarray
    target_leaders: np.ndarray  # int32: leaders kept (0 = never mirrors)
    join_epoch: np.ndarray  # int32: revision epoch at which the trader starts mirroring

    @property
    def n(self) -> int:
        return int(self.trader_id.shape[0])

    def truth_frame(self) -> pd.DataFrame:
        """The ground truth table (`truth/traders.parquet`)."""
        return pd.DataFrame(
            {
                "trader_id": self.trader_id,
                "skill": self.skill,
                "cluster": self.cluster,
                "charisma": self.charisma,
                "herd_loading": self.herd_load,
                "exploration_rate": self.exploration_rate,
                "activity": self.activity,
                "n_ideas": self.n_ideas,
                "holding_hours": self.holding_hours,
                "leverage": self.leverage,
                "stake": self.stake,
                "target_leaders": self.target_leaders,
                "join_epoch": self.join_epoch,
            }
        )


def _lognormal_with_median(
    rng: np.random.Generator, median: float, sigma: float, n: int
) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def draw_traders(params: SynthParams, rng: np.random.Generator, n_epochs: int) -> Traders:
    """Draw every trader's latent traits."""
    n = params.n_traders
    trader_id = np.arange(1, n + 1, dtype=np.int64)

    # uneven cluster sizes (a few big styles, a long tail of small ones)
    cluster_weight = 1.0 / np.arange(1, params.n_clusters + 1) ** 0.7
    cluster = rng.choice(params.n_clusters, size=n, p=cluster_weight / cluster_weight.sum())
    cluster = cluster.astype(np.int32)

    if params.skill_dist == "normal":
        skill = params.skill_mean + params.skill_scale * rng.standard_normal(n)
    else:
        skill = rng.exponential(params.skill_scale, n)

    log_charisma = params.charisma_sigma * rng.standard_normal(n)
    charisma = np.exp(log_charisma - params.charisma_sigma**2 / 2)  # mean 1
    charisma_z = log_charisma / params.charisma_sigma if params.charisma_sigma > 0 else np.zeros(n)
    herd_load = params.herd_noise * charisma

    # heavy-tailed activity: log-normal rate with the requested mean, Poisson counts
    mu = np.log(params.activity_mean) - params.activity_sigma**2 / 2
    activity = np.exp(mu + params.activity_sigma * rng.standard_normal(n))
    n_ideas = np.minimum(rng.poisson(activity), params.max_ideas_per_trader).astype(np.int64)

    holding = _lognormal_with_median(rng, params.holding_hours, params.holding_sigma_trader, n)

    levels = np.asarray(params.leverage_levels, dtype=np.float64)
    centre = min(3, len(levels) - 1)
    level_weight = np.exp(-params.leverage_tail * np.abs(np.arange(len(levels)) - centre))
    leverage = rng.choice(levels, size=n, p=level_weight / level_weight.sum())

    stake = _lognormal_with_median(rng, params.stake_fraction, params.stake_sigma, n)
    stake = np.minimum(stake, 1.0)
    equity = np.round(_lognormal_with_median(rng, params.equity_median, params.equity_sigma, n), 2)
    equity = np.maximum(equity, 50.0)

    social = rng.random(n) < params.social_share
    # heavy-ish tail of leader counts with the requested mean (>= 1)
    sigma_k = 0.9
    extra = np.exp(
        np.log(max(params.leaders_mean - 0.5, 1e-9))
        - sigma_k**2 / 2
        + sigma_k * rng.standard_normal(n)
    )
    target = np.clip(np.floor(0.5 + extra), 1, params.max_leaders).astype(np.int32)
    target[~social] = 0

    m = params.explore_mean
    if 0 < m < 1:
        a = m * params.explore_concentration
        b = (1 - m) * params.explore_concentration
        explore = rng.beta(a, b, n)
    else:
        explore = np.full(n, m)
    if params.explore_skill_corr != 0 and n > 1:
        # Gaussian copula: re-pair the drawn rates with traders by the rank of a latent
        # correlated with skill; both marginal distributions stay exactly as drawn
        z_skill = sps.norm.ppf((sps.rankdata(skill) - 0.5) / n)
        rho = params.explore_skill_corr
        latent = rho * z_skill + np.sqrt(1.0 - rho * rho) * rng.standard_normal(n)
        order = np.argsort(latent, kind="stable")
        repaired = np.empty(n)
        repaired[order] = np.sort(explore)
        explore = repaired
    last_join = max(int(params.join_spread * n_epochs), 0)
    join_epoch = rng.integers(0, last_join + 1, n).astype(np.int32)

    return Traders(
        trader_id=trader_id,
        skill=skill,
        cluster=cluster,
        charisma=charisma,
        charisma_z=charisma_z,
        herd_load=herd_load,
        exploration_rate=explore,
        activity=activity,
        n_ideas=n_ideas,
        holding_hours=holding,
        leverage=leverage,
        stake=stake,
        initial_equity=equity,
        target_leaders=target,
        join_epoch=join_epoch,
    )
