"""Parameters of the synthetic platform: one frozen dataclass, the presets, `key=value` overrides.

Every mechanism of the generator is governed by a field of `SynthParams`; the docstring of
each field says what it controls. `PRESETS` holds the named configurations (`tiny`,
`small`, `medium`, `etoro2011`, `calibrated`) and `apply_overrides` turns the CLI's `--set key=value`
strings into a new, validated `SynthParams`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ideaflow.errors import ParameterError

# Starting prices of the built-in FX-like instruments; any other name starts at 100.
INSTRUMENT_START_PRICES: dict[str, float] = {
    "EURUSD": 1.33,
    "GBPUSD": 1.56,
    "USDJPY": 81.0,
    "AUDUSD": 1.02,
    "USDCHF": 0.93,
    "EURJPY": 108.0,
    "USDCAD": 1.0,
    "GOLD": 1400.0,
}


SKILL_DISTS = ("exponential", "normal")


@dataclass(frozen=True)
class SynthParams:
    """Knobs of the synthetic social-trading platform (all documented in datasets/README.md)."""

    # --- scale and calendar -------------------------------------------------------------
    n_traders: int = 2_000  # accounts on the platform
    days: int = 120  # length of the simulated period
    start: str = "2011-01-03"  # first bar (UTC date, ISO format)
    bar_minutes: int = 60  # price bar length; trades open and close on this grid's prices
    instruments: tuple[str, ...] = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "EURJPY")

    # --- market: GARCH(1,1)-like volatility + a slowly varying predictable drift --------
    daily_vol: float = 0.006  # long-run daily volatility of log prices
    garch_alpha: float = 0.06  # weight of the last squared shock in the variance
    garch_beta: float = 0.92  # persistence of the variance (alpha + beta < 1)
    signal_halflife_days: float = 3.0  # half-life of the predictable AR(1) signal
    # drift per bar, in units of the bar's volatility, per unit signal
    signal_strength: float = 0.15
    spread_bps: float = 2.0  # round-trip trading cost, basis points of the leveraged notional

    # --- traders -----------------------------------------------------------------------
    activity_mean: float = 30.0  # mean number of original trades per trader over the period
    activity_sigma: float = 1.5  # log-normal spread of activity (heavy tail)
    max_ideas_per_trader: int = 5_000  # cap on a single trader's original trades
    holding_hours: float = 24.0  # median holding time of the median trader
    holding_sigma_trader: float = 1.0  # log-normal spread of traders' typical holding time
    holding_sigma_trade: float = 0.8  # log-normal spread of holding times around a trader's own
    leverage_levels: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0)
    leverage_tail: float = 1.0  # P(level i) ∝ exp(-leverage_tail * |i - 3|): higher = more 10x
    stake_fraction: float = 0.03  # median trade amount as a fraction of initial equity
    stake_sigma: float = 0.5  # log-normal spread of stakes (per trader and per trade)
    equity_median: float = 5_000.0  # median initial equity (accounts table)
    equity_sigma: float = 1.0  # log-normal spread of initial equity
    skill_scale: float = 0.6  # skill ~ Exponential(skill_scale): weight of the predictable signal
    # "exponential": skill >= 0 as above; "normal": skill ~ Normal(skill_mean, skill_scale),
    # so some traders are skilled at losing (their ideas lean against the signal)
    skill_dist: str = "exponential"
    skill_mean: float = 0.0  # mean skill when skill_dist is "normal"
    idio_noise: float = 1.0  # standard deviation of each idea's private noise
    n_clusters: int = 8  # style clusters
    cluster_error: float = 1.0  # sd of the error shared by a cluster's members (0 = none)
    cluster_error_halflife_hours: float = 24.0  # persistence of the shared cluster error
    cluster_instrument_focus: float = 0.6  # chance an idea is on the cluster's favourite instrument
    herd_noise: float = 0.8  # sd of the platform-wide sentiment popular traders trade on
    charisma_sigma: float = 1.0  # log-normal spread of charisma (popularity appeal)
    herd_popularity: float = 0.0  # growth of the sentiment weight with log(1 + followers)

    # --- social layer ------------------------------------------------------------------
    social_share: float = 0.5  # share of traders who mirror anybody
    leaders_mean: float = 2.0  # mean number of leaders a social trader keeps (>= 1, heavy tail)
    max_leaders: int = 25  # cap on simultaneous leaders per follower
    # choice weight of log(1 + followers) (1 = linear preferential attachment)
    w_popularity: float = 1.0
    # choice weight of the trailing-ROI z-score (2025 study: ~46x less)
    w_performance: float = 1.0 / 46.0
    w_charisma: float = 0.5  # choice weight of the (standardised log) charisma
    homophily: float = 0.5  # chance a choice is made inside the chooser's own style cluster
    revision_days: float = 7.0  # time between revision opportunities
    # mean per-revision chance of revising (Beta-distributed across traders)
    explore_mean: float = 0.15
    explore_concentration: float = 1.0  # Beta a + b: lower = more polarised explorers vs static
    # rank correlation of exploration rate with skill (Gaussian copula; 0 = independent):
    # > 0 plants "explorers are better traders" (the 2025 study's sign)
    explore_skill_corr: float = 0.0
    # share of current leaders (the worst trailing performers) dropped at a revision
    drop_share: float = 0.5
    # candidates compared at a revision (the best trailing performer is kept): one drawn
    # by the choice weights, the others uniformly; 1 = the weighted draw only
    shortlist: int = 1
    # social traders start following uniformly over this share of the period
    join_spread: float = 0.5
    performance_window_days: float = 30.0  # trailing window of the performance shown to choosers
    social_learning: float = 1.5  # weight of the leaders' mean view in a trader's own ideas
    # share of initial equity allocated to copying, split over leaders
    allocation_share: float = 0.5
    # False: a null platform: every planted mechanism off (see `without_mechanisms`)
    planted: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def without_mechanisms(self) -> SynthParams:
        """The same platform with every planted mechanism switched off: ideas ignore
        leaders (social_learning 0), no shared cluster error or herd sentiment, leaders
        chosen uniformly (no popularity, performance or charisma weight, no homophily, no
        shortlist), exploration independent of skill. Skill, activity, costs and the follow process itself stay."""
        return replace(
            self,
            social_learning=0.0,
            cluster_error=0.0,
            herd_noise=0.0,
            herd_popularity=0.0,
            w_popularity=0.0,
            w_performance=0.0,
            w_charisma=0.0,
            homophily=0.0,
            shortlist=1,
            explore_skill_corr=0.0,
            planted=False,
        )

    @property
    def n_bars(self) -> int:
        return int(self.days * 24 * 60 // self.bar_minutes)


def _check(cond: bool, name: str, expected: str, found: Any) -> None:
    if not cond:
        raise ParameterError(f"synth parameter {name!r}: expected {expected}, found {found!r}")


def _validate(p: SynthParams) -> None:
    positive_int = ("n_traders", "days", "bar_minutes", "n_clusters", "max_leaders", "shortlist")
    for name in positive_int:
        value = getattr(p, name)
        _check(isinstance(value, int) and value >= 1, name, "an integer >= 1", value)
    _check(
        p.max_ideas_per_trader >= 1,
        "max_ideas_per_trader",
        "an integer >= 1",
        p.max_ideas_per_trader,
    )
    _check(p.bar_minutes <= 24 * 60, "bar_minutes", "at most 1440 (one day)", p.bar_minutes)
    _check(p.n_bars >= 2, "days", "a period of at least two bars", p.days)
    for name in (
        "daily_vol",
        "signal_halflife_days",
        "activity_mean",
        "holding_hours",
        "stake_fraction",
        "equity_median",
        "skill_scale",
        "revision_days",
        "performance_window_days",
        "leaders_mean",
        "cluster_error_halflife_hours",
    ):
        value = getattr(p, name)
        _check(_finite(value) and value > 0, name, "a finite number > 0", value)
    for name in (
        "signal_strength",
        "spread_bps",
        "activity_sigma",
        "holding_sigma_trader",
        "holding_sigma_trade",
        "leverage_tail",
        "stake_sigma",
        "equity_sigma",
        "idio_noise",
        "cluster_error",
        "herd_noise",
        "charisma_sigma",
        "herd_popularity",
        "w_popularity",
        "w_charisma",
        "social_learning",
        "garch_alpha",
        "garch_beta",
        "explore_concentration",
    ):
        value = getattr(p, name)
        _check(_finite(value) and value >= 0, name, "a finite number >= 0", value)
    _check(_finite(p.w_performance), "w_performance", "a finite number", p.w_performance)
    _check(_finite(p.skill_mean), "skill_mean", "a finite number", p.skill_mean)
    _check(
        _finite(p.explore_skill_corr) and -1 <= p.explore_skill_corr <= 1,
        "explore_skill_corr",
        "a number in [-1, 1]",
        p.explore_skill_corr,
    )
    _check(
        p.skill_dist in SKILL_DISTS,
        "skill_dist",
        f"one of {', '.join(SKILL_DISTS)}",
        p.skill_dist,
    )
    _check(isinstance(p.planted, bool), "planted", "true or false", p.planted)
    _check(
        p.garch_alpha + p.garch_beta < 1, "garch_beta", "garch_alpha + garch_beta < 1", p.garch_beta
    )
    _check(
        p.explore_concentration > 0,
        "explore_concentration",
        "a number > 0",
        p.explore_concentration,
    )
    for name in (
        "cluster_instrument_focus",
        "social_share",
        "homophily",
        "explore_mean",
        "drop_share",
        "join_spread",
    ):
        value = getattr(p, name)
        _check(_finite(value) and 0 <= value <= 1, name, "a number in [0, 1]", value)
    _check(p.allocation_share > 0, "allocation_share", "a number > 0", p.allocation_share)
    _check(len(p.instruments) >= 1, "instruments", "at least one instrument", p.instruments)
    _check(
        len(set(p.instruments)) == len(p.instruments) and all(p.instruments),
        "instruments",
        "distinct non-empty names",
        p.instruments,
    )
    _check(len(p.leverage_levels) >= 1, "leverage_levels", "at least one level", p.leverage_levels)
    _check(
        all(_finite(x) and x >= 1 for x in p.leverage_levels),
        "leverage_levels",
        "levels >= 1",
        p.leverage_levels,
    )
    try:
        import numpy as np

        np.datetime64(p.start, "ns")
    except ValueError:
        raise ParameterError(
            f"synth parameter 'start': expected an ISO date such as 2011-01-03, found {p.start!r}"
        ) from None


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


PRESETS: dict[str, SynthParams] = {
    # unit tests: well under a second
    "tiny": SynthParams(
        n_traders=300,
        days=60,
        instruments=("EURUSD", "GBPUSD", "USDJPY"),
        activity_mean=15.0,
        n_clusters=4,
        leaders_mean=1.5,
        max_leaders=10,
        social_share=0.5,
    ),
    # the demo: a few seconds
    "small": SynthParams(n_traders=3_000, days=180, activity_mean=25.0, social_share=0.45),
    # about a million trades
    "medium": SynthParams(
        n_traders=60_000,
        days=365,
        activity_mean=12.0,
        social_share=0.3,
        leaders_mean=1.5,
    ),
    # the published 2011 eToro data in scale: 1.6M users, ~10M trades, one year, EURUSD
    "etoro2011": SynthParams(
        n_traders=1_600_000,
        days=365,
        instruments=("EURUSD",),
        activity_mean=5.0,
        activity_sigma=1.6,
        max_ideas_per_trader=3_000,
        social_share=0.12,
        leaders_mean=1.3,
        max_leaders=20,
        n_clusters=12,
    ),
    # `small` in scale, calibrated to the stylized facts (datasets/README.md, calibration
    # table): skill that can be negative and is negative on average (a losing majority
    # after costs), leverage concentrated around 10x, explorers more skilled
    "calibrated": SynthParams(
        n_traders=3_000,
        days=180,
        activity_mean=25.0,
        social_share=0.45,
        skill_dist="normal",
        skill_mean=-1.0,
        skill_scale=1.2,
        explore_skill_corr=0.8,
        leverage_tail=2.0,
    ),
}


def _coerce(name: str, kind: Any, default: Any, raw: str) -> Any:
    text = raw.strip()
    try:
        if isinstance(default, bool):
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            as_float = float(text.replace("_", ""))
            if not as_float.is_integer():
                raise ValueError(text)
            return int(as_float)
        if isinstance(default, float):
            value = float(text.replace("_", ""))
            return value
        if isinstance(default, tuple):
            parts = tuple(part.strip() for part in text.split(",") if part.strip())
            if default and isinstance(default[0], float):
                return tuple(float(part) for part in parts)
            return parts
        return text
    except ValueError:
        expected = {bool: "true/false", int: "an integer", float: "a number"}.get(
            type(default), "a comma-separated list" if isinstance(default, tuple) else "a value"
        )
        raise ParameterError(
            f"synth parameter {name!r}: expected {expected}, found {raw!r}"
        ) from None


def _suggest(key: str, names: list[str]) -> str:
    """ "; did you mean ...?" with close spellings and names that contain `key`."""
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    close += [n for n in names if key and key.lower() in n and n not in close][: 3 - len(close)]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Split `key=value` strings (the CLI's `--set`) into a dict of raw strings."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"--set: expected key=value, found {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def apply_overrides(base: SynthParams, overrides: Mapping[str, Any] | None) -> SynthParams:
    """A copy of `base` with the given fields replaced; strings are converted to the field's type.

    Unknown names raise `ParameterError` with the closest valid names.
    """
    if not overrides:
        return base
    names = [f.name for f in fields(SynthParams)]
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in names:
            raise ParameterError(f"unknown synth parameter {key!r}{_suggest(key, names)}")
        default = getattr(base, key)
        if isinstance(value, str):
            value = _coerce(key, type(default), default, value)
        elif isinstance(default, tuple) and isinstance(value, list | tuple):
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        changes[key] = value
    return replace(base, **changes)


def resolve_params(
    preset: str | SynthParams = "small", overrides: Mapping[str, Any] | None = None
) -> SynthParams:
    """The parameters of a preset name (or a `SynthParams`) with overrides applied."""
    if isinstance(preset, SynthParams):
        base = preset
    else:
        if preset not in PRESETS:
            close = difflib.get_close_matches(str(preset), list(PRESETS), n=2)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ParameterError(
                f"unknown preset {preset!r}: expected one of {', '.join(PRESETS)}{hint}"
            )
        base = PRESETS[preset]
    params = apply_overrides(base, overrides)
    # planted=false is the null platform: one override switches every mechanism off
    return params if params.planted else params.without_mechanisms()


__all__ = [
    "INSTRUMENT_START_PRICES",
    "PRESETS",
    "SynthParams",
    "apply_overrides",
    "parse_overrides",
    "resolve_params",
]
