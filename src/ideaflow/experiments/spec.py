"""The experiment spec (TOML): what data, which comparison, which grid (docs/experiments.md).

```toml
[platform]                 # or, at the top level: dataset = "PATH" (and seeds = [...])
preset = "tiny"
seeds = [1, 2, 3]
overrides = { cluster_error = [0.0, 0.5] }   # generator overrides; a list is a grid axis

[comparison]
strategies = ["isolation", "diverse", "placebo"]
exposure = "matched"                          # a list is a grid axis too
params = { k = [3, 5] }                       # strategy parameters; a list is a grid axis
block_days = 10                               # optional: the per-cell block bootstrap
n_boot = 2000
```

A cell is one platform draw (seed x override point) x one parameter point. Every key is
checked when the spec is read: a bad one is a `ParameterError` naming it.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ideaflow.errors import ParameterError
from ideaflow.strategies import STRATEGIES, StrategyParams
from ideaflow.synth.params import PRESETS, resolve_params

SPEC_VERSION = 1
TOP_KEYS = ("dataset", "seeds", "initial_equity", "platform", "comparison", "tuning")
PLATFORM_KEYS = ("preset", "seeds", "overrides")
COMPARISON_KEYS = ("strategies", "exposure", "params", "block_days", "n_boot")
# set by the spec itself, not a grid axis: the seed of a cell and the exposure key
RESERVED_PARAMS = ("seed", "exposure", "sharpe_annualization", "depth")
TUNING_KEYS = ("start_day", "share", "arms", "allocation", "min_history", "window_days")
TUNING_ARMS = ("complementary", "top", "random")


def _fail(key: str, message: str) -> ParameterError:
    return ParameterError(f"experiment spec: `{key}`: {message}")


def _unknown(table: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            where = f"{table}.{key}" if table else key
            raise _fail(where, f"unknown key (expected one of {', '.join(allowed)}){hint}")


def _scalar(key: str, value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(key, f"expected a finite number; found {value!r}")
        return value
    raise _fail(key, f"expected a number, string or true/false; found {type(value).__name__}")


def _axis(key: str, value: Any) -> list[Any]:
    """A scalar is a one-value axis; a list is a grid axis (distinct values, one type)."""
    values = list(value) if isinstance(value, list) else [value]
    if not values:
        raise _fail(key, "expected at least one value; found an empty list")
    values = [_scalar(key, v) for v in values]
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else "num" for v in values}
    if len(kinds) > 1:
        raise _fail(key, f"expected values of one type; found {values!r}")
    if any(isinstance(v, float) for v in values):
        values = [float(v) for v in values]
    if len(set(values)) != len(values):
        raise _fail(key, f"expected distinct values; found {values!r}")
    return values


def _seeds(key: str, value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in values):
        raise _fail(key, f"expected a list of integers >= 0; found {value!r}")
    if len(set(values)) != len(values):
        raise _fail(key, f"expected distinct seeds; found {value!r}")
    return [int(s) for s in values]


@dataclass(frozen=True)
class Tuning:
    """The synthetic tuning (nudge) experiment: who is treated, from when, which arms."""

    start_day: float = 30.0  # the intervention starts this many days after the first bar
    share: float = 0.2  # share of traders treated (a seeded draw of its own)
    arms: tuple[str, ...] = TUNING_ARMS
    allocation: float = 0.1  # share of a treated trader's initial equity copying the leader
    min_history: int = 5  # closed trades in the trailing window a leader needs
    window_days: float = 30.0  # trailing window of performance and style at the start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_day": self.start_day,
            "share": self.share,
            "arms": list(self.arms),
            "allocation": self.allocation,
            "min_history": self.min_history,
            "window_days": self.window_days,
        }


def _tuning(data: Any) -> Tuning:
    if not isinstance(data, dict):
        raise _fail("tuning", "expected a table")
    _unknown("tuning", data, TUNING_KEYS)
    out = Tuning()
    values: dict[str, Any] = {}
    for key in ("start_day", "share", "allocation", "window_days"):
        if key in data:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise _fail(f"tuning.{key}", f"expected a number; found {v!r}")
            values[key] = float(v)
    if "min_history" in data:
        v = data["min_history"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _fail("tuning.min_history", f"expected an integer >= 1; found {v!r}")
        values["min_history"] = v
    if "arms" in data:
        arms = data["arms"]
        if (
            not isinstance(arms, list)
            or not arms
            or any(a not in TUNING_ARMS for a in arms)
            or len(set(arms)) != len(arms)
        ):
            raise _fail(
                "tuning.arms",
                f"expected distinct names from {', '.join(TUNING_ARMS)}; found {arms!r}",
            )
        values["arms"] = tuple(arms)
    out = Tuning(**values)
    if not 0 < out.share < 1:
        raise _fail("tuning.share", f"expected a number in (0, 1); found {out.share!r}")
    if not out.start_day > 0:
        raise _fail("tuning.start_day", f"expected a number > 0; found {out.start_day!r}")
    if not 0 < out.allocation <= 1:
        raise _fail("tuning.allocation", f"expected a number in (0, 1]; found {out.allocation!r}")
    if not out.window_days > 0:
        raise _fail("tuning.window_days", f"expected a number > 0; found {out.window_days!r}")
    return out


@dataclass(frozen=True)
class Cell:
    """One cell: its index, its key values (column name -> value) and how to run it."""

    index: int
    seed: int
    overrides: dict[str, Any]
    params: dict[str, Any]

    @property
    def keys(self) -> dict[str, Any]:
        return {"seed": self.seed, **self.overrides, **self.params}

    @property
    def name(self) -> str:
        return f"cell={self.index:05d}"


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment spec (see the module docstring)."""

    seeds: tuple[int, ...]
    preset: str | None = None
    dataset: str | None = None
    initial_equity: float | None = None
    overrides: dict[str, list[Any]] = field(default_factory=dict)
    strategies: tuple[str, ...] = ()
    params: dict[str, list[Any]] = field(default_factory=dict)
    block_days: int = 10
    n_boot: int = 2000
    tuning: Tuning | None = None

    @property
    def kind(self) -> str:
        return "tuning" if self.tuning is not None else "comparison"

    @property
    def key_columns(self) -> list[str]:
        return ["seed", *self.overrides, *self.params]

    def cells(self) -> list[Cell]:
        """Every cell in a fixed order: seed, then the override axes, then the parameter
        axes (the last varies fastest)."""
        o_keys, p_keys = list(self.overrides), list(self.params)
        out = []
        grid = itertools.product(
            self.seeds,
            itertools.product(*self.overrides.values()),
            itertools.product(*self.params.values()),
        )
        for i, (seed, o_vals, p_vals) in enumerate(grid):
            out.append(Cell(i, seed, dict(zip(o_keys, o_vals)), dict(zip(p_keys, p_vals))))
        return out

    def strategy_params(self, cell: Cell) -> StrategyParams:
        return StrategyParams(seed=cell.seed).replace(**cell.params)

    def to_dict(self) -> dict[str, Any]:
        """The canonical spec (DIR/spec.json): a rerun resumes only with the same one."""
        return {
            "spec_version": SPEC_VERSION,
            "kind": self.kind,
            "dataset": self.dataset,
            "preset": self.preset,
            "seeds": list(self.seeds),
            "initial_equity": self.initial_equity,
            "overrides": self.overrides,
            "strategies": list(self.strategies),
            "params": self.params,
            "block_days": self.block_days,
            "n_boot": self.n_boot,
            "tuning": self.tuning.to_dict() if self.tuning is not None else None,
        }

    def canonical(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=1) + "\n"


def parse_spec(data: dict[str, Any], *, base: Path | None = None) -> ExperimentSpec:
    """Validate a spec given as a dict (the parsed TOML). `base`: the directory a relative
    `dataset` path is taken from."""
    _unknown("", data, TOP_KEYS)
    platform = data.get("platform")
    dataset = data.get("dataset")
    if platform is None and dataset is None:
        raise _fail("platform", 'expected a [platform] table or a top-level `dataset = "PATH"`')
    if platform is not None and dataset is not None:
        raise _fail("dataset", "expected either `dataset` or [platform], not both")
    preset = None
    overrides: dict[str, list[Any]] = {}
    initial_equity = None
    if "initial_equity" in data:
        v = data["initial_equity"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise _fail("initial_equity", f"expected a number > 0; found {v!r}")
        initial_equity = float(v)
    if platform is not None:
        if not isinstance(platform, dict):
            raise _fail("platform", "expected a table")
        _unknown("platform", platform, PLATFORM_KEYS)
        if "seeds" in data:
            raise _fail("seeds", "with [platform], give the seeds as platform.seeds")
        if "initial_equity" in data:
            raise _fail(
                "initial_equity",
                "only with `dataset` (a generated platform gives every trader an equity)",
            )
        preset = platform.get("preset", "small")
        if not isinstance(preset, str) or preset not in PRESETS:
            close = difflib.get_close_matches(str(preset), list(PRESETS), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise _fail(
                "platform.preset", f"expected one of {', '.join(PRESETS)}; found {preset!r}{hint}"
            )
        if "seeds" not in platform:
            raise _fail("platform.seeds", "expected a list of seeds, e.g. seeds = [1, 2, 3]")
        seeds = _seeds("platform.seeds", platform["seeds"])
        raw = platform.get("overrides", {})
        if not isinstance(raw, dict):
            raise _fail(
                "platform.overrides", "expected a table, e.g. { cluster_error = [0.0, 0.5] }"
            )
        overrides = {k: _axis(f"platform.overrides.{k}", v) for k, v in raw.items()}
        for point in itertools.product(*overrides.values()):
            try:
                resolve_params(preset, dict(zip(overrides, point)))
            except ParameterError as exc:
                raise _fail("platform.overrides", str(exc)) from None
    else:
        if not isinstance(dataset, str) or not dataset:
            raise _fail("dataset", f"expected a path to a dataset directory; found {dataset!r}")
        path = Path(dataset)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_dir():
            raise _fail("dataset", f"no dataset directory at {str(path)!r}")
        dataset = str(path.resolve())
        seeds = _seeds("seeds", data.get("seeds", [0]))

    tuning = _tuning(data["tuning"]) if "tuning" in data else None
    comparison = data.get("comparison")
    if tuning is not None:
        if comparison is not None:
            raise _fail("comparison", "expected either [comparison] or [tuning], not both")
        if platform is None:
            raise _fail("tuning", "the tuning experiment runs on a [platform]; found `dataset`")
        return ExperimentSpec(seeds=tuple(seeds), preset=preset, overrides=overrides, tuning=tuning)
    if comparison is None:
        raise _fail("comparison", "expected a [comparison] table (or [tuning])")
    if not isinstance(comparison, dict):
        raise _fail("comparison", "expected a table")
    _unknown("comparison", comparison, COMPARISON_KEYS)
    names = comparison.get("strategies")
    if not isinstance(names, list) or len(names) < 2:
        raise _fail(
            "comparison.strategies",
            f"expected a list of at least two strategies; found {names!r}",
        )
    for name in names:
        if name not in STRATEGIES:
            close = difflib.get_close_matches(str(name), STRATEGIES, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise _fail(
                "comparison.strategies",
                f"unknown strategy {name!r} (expected one of {', '.join(STRATEGIES)}){hint}",
            )
    if len(set(names)) != len(names):
        raise _fail("comparison.strategies", f"expected distinct strategies; found {names!r}")
    raw_params = comparison.get("params", {})
    if not isinstance(raw_params, dict):
        raise _fail("comparison.params", "expected a table, e.g. { k = [3, 5] }")
    allowed = [n for n in StrategyParams().to_dict() if n not in RESERVED_PARAMS]
    params: dict[str, list[Any]] = {}
    for key, value in raw_params.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            why = (
                "set by the spec (seeds, comparison.exposure)"
                if key in RESERVED_PARAMS
                else f"unknown strategy parameter (expected one of {', '.join(allowed)}){hint}"
            )
            raise _fail(f"comparison.params.{key}", why)
        if key in overrides:
            raise _fail(
                f"comparison.params.{key}",
                "also a platform override: a key column must name one setting",
            )
        params[key] = _axis(f"comparison.params.{key}", value)
    params["exposure"] = _axis("comparison.exposure", comparison.get("exposure", "as-logged"))
    for point in itertools.product(*params.values()):
        try:
            StrategyParams().replace(**dict(zip(params, point)))
        except ParameterError as exc:
            raise _fail("comparison.params", str(exc)) from None
    block_days = comparison.get("block_days", 10)
    if isinstance(block_days, bool) or not isinstance(block_days, int) or block_days < 1:
        raise _fail("comparison.block_days", f"expected an integer >= 1; found {block_days!r}")
    n_boot = comparison.get("n_boot", 2000)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 10:
        raise _fail("comparison.n_boot", f"expected an integer >= 10; found {n_boot!r}")
    return ExperimentSpec(
        seeds=tuple(seeds),
        preset=preset,
        dataset=dataset,
        initial_equity=initial_equity,
        overrides=overrides,
        strategies=tuple(names),
        params=params,
        block_days=block_days,
        n_boot=n_boot,
    )


def read_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a TOML experiment spec."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(
            f"experiment spec: cannot read {str(path)!r} ({exc.strerror})"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"experiment spec {str(path)!r}: not valid TOML ({exc})") from None
    return parse_spec(data, base=path.parent)
