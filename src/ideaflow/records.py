"""Every record kind ideaflow produces, defined once.

A record kind is a frozen dataclass of equal-length numpy columns. Each field carries its
`Column` spec: the name it has in the written table, its numpy dtype, its Arrow type,
the in-memory marker that is written as null, and how the numpy values become the
table's (`encode`). The Arrow schemas (`schema_of`), the table builders
(`ideaflow.results.tables`) and the pandas frames are all derived from these specs, so a
column is added by adding one field here.

Kinds:
- `Book`: one row per replayed position (`trades.parquet`); `RootedBook` holds the same
  rows with each copy pointing at its root for what it shares with it;
- `AccountMetrics`: one row per account (`accounts.parquet`, keyed by trader id);
- `DailyPnl`: sparse daily PnL per account (`daily.parquet`);
- `DecisionRecord`: one row per strategy decision (`decisions.parquet`);
- `ComparisonRow`, `PairedRow`: one row per strategy, and per ordered pair of strategies,
  of a comparison (`comparison.parquet`, `paired.parquet`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self

import numpy as np
import pyarrow as pa

from ideaflow.data import NO_TIME, OPEN_END

UTC_NS = pa.timestamp("ns", tz="UTC")
INSTRUMENT = pa.dictionary(pa.int32(), pa.string())

# how a numpy column is turned into its table column
PLAIN = "plain"  # the values as they are (with a null mask where `missing`)
TIME = "time"  # int64 ns since the epoch -> timestamp[ns, UTC]
DAY = "day"  # int64 UTC day number -> timestamp[ns, UTC] at midnight
TRADER = "trader"  # int32 dense trader code (or account index) -> int64 trader id
INSTRUMENT_CODE = "instrument"  # int32 instrument code -> dictionary of instrument names
TRADER_LIST = "trader_list"  # (rows, k) int32 codes, -1 padded -> list<int64> of trader ids
NEGATIVE = object()  # marker: any negative value is missing (ids, -1 for "none")

# how a `RootedBook` holds a `Book` column
OWN = "own"  # a value per position: what a copy does not share with its root
ROOT = "root"  # the root's value, shared by its copies: held once per root
DERIVED = "derived"  # computed from the others when read (see `RootedBook.column`)


@dataclass(frozen=True)
class Column:
    """How one field of a record is held in memory and written."""

    name: str  # the column's name in the written table
    dtype: Any  # numpy dtype of the in-memory column
    arrow: pa.DataType  # Arrow type of the written column
    missing: Any = None  # in-memory value written as null (None: never null; NaN; NEGATIVE)
    encode: str = PLAIN
    doc: str = ""
    held: str = OWN  # in a `RootedBook` (Book columns only)

    def null_mask(self, values: np.ndarray) -> np.ndarray | None:
        """Where `values` hold the missing marker (None when nothing is missing)."""
        if self.missing is None:
            return None
        if self.missing is NEGATIVE:
            mask = values < 0
        elif isinstance(self.missing, float) and np.isnan(self.missing):
            mask = np.isnan(values)
        else:
            mask = values == self.missing
        return mask if mask.any() else None


def column(
    dtype: Any,
    arrow: pa.DataType,
    *,
    name: str = "",
    missing: Any = None,
    encode: str = PLAIN,
    doc: str = "",
    held: str = OWN,
) -> Any:
    """A dataclass field carrying its `Column` (the table name defaults to the field's)."""
    spec = {
        "dtype": dtype,
        "arrow": arrow,
        "missing": missing,
        "encode": encode,
        "doc": doc,
        "held": held,
    }
    return field(metadata={"column": spec, "name": name})


def columns_of(kind: type) -> tuple[tuple[str, Column], ...]:
    """(field name, Column) of every field of a record kind, in order."""
    out = []
    for f in fields(kind):
        spec = f.metadata["column"]
        out.append((f.name, Column(name=f.metadata["name"] or f.name, **spec)))
    return tuple(out)


def schema_of(kind: type, key: Sequence[pa.Field] = ()) -> pa.Schema:
    """The Arrow schema of a record kind's table (after the `key` columns, if any)."""
    return pa.schema([*key, *(pa.field(c.name, c.arrow) for _, c in columns_of(kind))])


def field_names(kind: Any) -> list[str]:
    """The field names of a record kind (or of a record), in order."""
    return [f.name for f in fields(kind)]


class Records:
    """Row operations shared by every record kind (all fields are row-aligned arrays)."""

    def __len__(self) -> int:
        return int(getattr(self, field_names(self)[0]).shape[0])

    def take(self, rows: Any) -> Self:
        """The rows at `rows` (indices or a boolean mask), in that order."""
        return type(self)(**{n: getattr(self, n)[rows] for n in field_names(self)})

    def column(self, name: str, rows: Any = slice(None)) -> Any:
        """Field `name` at `rows` (None when the record leaves the field out)."""
        values = getattr(self, name)
        return None if values is None else values[rows]


@dataclass(frozen=True, eq=False)
class Book(Records):
    """Every replayed position, one row each.

    `account` is a trader code (or a subject's account for strategy books); the written
    table holds the account's trader id instead. `held` says what a copy shares with its
    root (see `RootedBook`).
    """

    trade_id: np.ndarray = column(np.int64, pa.int64())
    account: np.ndarray = column(np.int32, pa.int64(), name="trader_id", encode=TRADER)
    instrument: np.ndarray = column(np.int32, INSTRUMENT, encode=INSTRUMENT_CODE, held=ROOT)
    side: np.ndarray = column(np.int8, pa.int8(), doc="+1 long, -1 short", held=ROOT)
    open_time: np.ndarray = column(np.int64, UTC_NS, missing=OPEN_END, encode=TIME, held=ROOT)
    close_time: np.ndarray = column(
        np.int64, UTC_NS, missing=OPEN_END, encode=TIME, doc="null while open", held=ROOT
    )
    open_price: np.ndarray = column(np.float64, pa.float64(), held=ROOT)
    close_price: np.ndarray = column(
        np.float64, pa.float64(), missing=float("nan"), doc="null while open", held=ROOT
    )
    amount: np.ndarray = column(np.float64, pa.float64())
    leverage: np.ndarray = column(np.float64, pa.float64(), held=ROOT)
    fee: np.ndarray = column(np.float64, pa.float64())
    pnl: np.ndarray = column(np.float64, pa.float64())
    ret: np.ndarray = column(np.float64, pa.float64(), doc="pnl / amount", held=DERIVED)
    marked: np.ndarray = column(
        np.bool_, pa.bool_(), doc="open, marked to the last price", held=ROOT
    )
    root_trade_id: np.ndarray = column(
        np.int64, pa.int64(), missing=NEGATIVE, doc="null for an original", held=DERIVED
    )
    parent_trade_id: np.ndarray = column(
        np.int64, pa.int64(), missing=NEGATIVE, doc="null for an original"
    )
    hop: np.ndarray = column(np.int16, pa.int16(), doc="0 for an original")


def book_columns_held(held: str) -> tuple[str, ...]:
    """The `Book` fields a `RootedBook` holds as `held` (OWN, ROOT or DERIVED)."""
    return tuple(name for name, col in columns_of(Book) if col.held == held)


class RootedBook:
    """The rows of a `Book` in which each copy points at its root for what it shares.

    The mirror replay's book: most of its rows are copies, and a copy has its root's
    instrument, side, times, prices, leverage and mark. `own` holds the `OWN` columns,
    one value per position; `roots` the `ROOT` columns and the roots' `trade_id`, one
    value per root; `root_row` (int32) each position's root as an index into `roots` (a
    root points at itself; every root is a position of the book). The `DERIVED`
    columns are computed when read: `ret = pnl / amount` (how the replay values every
    position) and `root_trade_id`, the root's trade id on a copy (a position with a
    parent), -1 on an original.

    It reads like a `Book`: `book.open_time` is the open time of every position (gathered
    on each access: hold on to it), `column(name, rows)` gathers only `rows`, `take`
    gives a `Book`. The table builders and the metrics read the root
    columns through `root_row` without gathering them.
    """

    OWN_COLUMNS = book_columns_held(OWN)
    ROOT_COLUMNS = book_columns_held(ROOT)

    def __init__(
        self, own: Mapping[str, np.ndarray], roots: Mapping[str, np.ndarray], root_row: np.ndarray
    ) -> None:
        want_roots = {*self.ROOT_COLUMNS, "trade_id"}
        if set(own) != set(self.OWN_COLUMNS) or set(roots) != want_roots:
            raise ValueError(
                f"RootedBook: expected own columns {', '.join(self.OWN_COLUMNS)} and root "
                f"columns {', '.join(sorted(want_roots))}; found {', '.join(own)} and "
                f"{', '.join(roots)}"
            )
        n = root_row.shape[0]
        n_roots = roots["trade_id"].shape[0]
        bad = [f"{k} ({v.shape[0]})" for k, v in own.items() if v.shape[0] != n]
        bad += [f"root {k} ({v.shape[0]})" for k, v in roots.items() if v.shape[0] != n_roots]
        if bad:
            raise ValueError(
                f"RootedBook: expected {n} rows per own column and {n_roots} per root "
                f"column; found {', '.join(bad)}"
            )
        self.own = dict(own)
        self.roots = dict(roots)
        self.root_row = root_row

    def __len__(self) -> int:
        return int(self.root_row.shape[0])

    def column(self, name: str, rows: Any = slice(None)) -> np.ndarray:
        """Book field `name` at `rows` (a slice, indices or a mask), gathered from the
        roots where shared."""
        if name in self.own:
            return self.own[name][rows]
        if name == "ret":
            pnl = self.own["pnl"][rows]
            # rows given by index or mask gather a copy: divide it in place
            scratch = not np.may_share_memory(pnl, self.own["pnl"])
            return np.divide(pnl, self.own["amount"][rows], out=pnl if scratch else None)
        root = self.root_row[rows]
        if name == "root_trade_id":
            return np.where(
                self.own["parent_trade_id"][rows] >= 0, self.roots["trade_id"][root], -1
            )
        if name in self.roots and name != "trade_id":
            return self.roots[name][root]
        raise AttributeError(f"RootedBook: no Book column {name!r}")

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_") or name in ("own", "roots", "root_row"):
            raise AttributeError(name)
        return self.column(name)

    def take(self, rows: Any) -> Book:
        """The positions at `rows` (`slice(None)`: all) as a `Book`, in that order."""
        return Book(**{name: self.column(name, rows) for name in field_names(Book)})


def kind_of(record: Any) -> type:
    """The record kind whose columns `record` has (a `RootedBook` has a `Book`'s)."""
    return Book if isinstance(record, RootedBook) else type(record)


@dataclass(frozen=True, eq=False)
class AccountMetrics(Records):
    """Per-account metrics (docs/contract.md §3), indexed by account."""

    initial_equity: np.ndarray = column(np.float64, pa.float64())
    final_equity: np.ndarray = column(np.float64, pa.float64())
    pnl: np.ndarray = column(np.float64, pa.float64())
    roi: np.ndarray = column(np.float64, pa.float64())
    n_trades: np.ndarray = column(np.int64, pa.int64())
    n_social: np.ndarray = column(np.int64, pa.int64())
    n_closed: np.ndarray = column(np.int64, pa.int64())
    n_open: np.ndarray = column(np.int64, pa.int64())
    win_rate: np.ndarray = column(np.float64, pa.float64(), doc="NaN when nothing closed")
    max_drawdown: np.ndarray = column(np.float64, pa.float64())
    sharpe: np.ndarray = column(np.float64, pa.float64(), doc="NaN when undefined")
    first_time: np.ndarray = column(np.int64, UTC_NS, missing=NO_TIME, encode=TIME)
    last_time: np.ndarray = column(np.int64, UTC_NS, missing=NO_TIME, encode=TIME)


# accounts.parquet: the trader id of each account, then its metrics
ACCOUNT_KEY = pa.field("trader_id", pa.int64())


@dataclass(frozen=True, eq=False)
class DailyPnl(Records):
    """Sparse daily PnL: one row per (account, UTC day) with a change, by (account, day)."""

    account: np.ndarray = column(np.int32, pa.int64(), name="trader_id", encode=TRADER)
    day: np.ndarray = column(np.int64, UTC_NS, encode=DAY, doc="UTC midnight")
    pnl: np.ndarray = column(np.float64, pa.float64())


@dataclass(frozen=True, eq=False)
class DecisionRecord(Records):
    """One row per strategy decision: the idea (a logged trade), whether it was taken,
    the vote, the position size and the evaluators (or leaders) in force."""

    subject: np.ndarray = column(np.int32, pa.int64(), name="subject_id", encode=TRADER)
    trade_id: np.ndarray = column(np.int64, pa.int64())
    leader: np.ndarray = column(
        np.int32, pa.int64(), name="leader_id", encode=TRADER, doc="copy strategies only"
    )
    time: np.ndarray = column(np.int64, UTC_NS, encode=TIME)
    instrument: np.ndarray = column(np.int32, INSTRUMENT, encode=INSTRUMENT_CODE)
    side: np.ndarray = column(np.int8, pa.int8())
    taken: np.ndarray = column(np.bool_, pa.bool_())
    support: np.ndarray = column(np.int32, pa.int32(), doc="votes for minus votes against")
    n_evaluators: np.ndarray = column(np.int32, pa.int32())
    size: np.ndarray = column(np.float64, pa.float64(), doc="position amount / idea amount")
    in_force: np.ndarray = column(
        np.int32, pa.list_(pa.int64()), encode=TRADER_LIST, doc="evaluators or leaders"
    )
    rebalance_time: np.ndarray = column(np.int64, UTC_NS, encode=TIME)


def _f(doc: str = "") -> Any:
    return column(np.float64, pa.float64(), doc=doc)


def _n(doc: str = "") -> Any:
    return column(np.int64, pa.int64(), doc=doc)


def _s(doc: str = "") -> Any:
    return column(object, pa.large_string(), doc=doc)


@dataclass(frozen=True, eq=False)
class ComparisonRow(Records):
    """One row per strategy of a comparison (`comparison.parquet`); ROI figures are
    fractions, differences are in ROI (1.0 = 100 points), intervals are 95%."""

    strategy: np.ndarray = _s()
    exposure: np.ndarray = _s("as-logged or matched")
    n_subjects: np.ndarray = _n()
    mean_roi: np.ndarray = _f()
    median_roi: np.ndarray = _f()
    total_roi: np.ndarray = _f("sum of PnL / sum of initial equity")
    total_pnl: np.ndarray = _f()
    mean_sharpe: np.ndarray = _f("over subjects with a defined Sharpe")
    mean_max_drawdown: np.ndarray = _f()
    hit_rate: np.ndarray = _f("share of subjects with ROI > 0")
    rejection_rate: np.ndarray = _f("share of decisions not taken")
    n_positions: np.ndarray = _n()
    mean_exposure: np.ndarray = _f("mean gross exposure per subject")
    n_zero_exposure: np.ndarray = _n()
    mean_roe: np.ndarray = _f("mean return on exposure")
    mean_roe_ci_low: np.ndarray = _f()
    mean_roe_ci_high: np.ndarray = _f()
    uplift_vs_isolation_pct: np.ndarray = _f("NaN unless the base is clearly away from 0")
    beat_isolation_share: np.ndarray = _f()
    uplift_vs_herd_pct: np.ndarray = _f()
    beat_herd_share: np.ndarray = _f()
    uplift_vs_diverse_pct: np.ndarray = _f()
    beat_diverse_share: np.ndarray = _f()
    roi_diff_vs_isolation: np.ndarray = _f("paired difference in mean ROI")
    roi_diff_vs_isolation_ci_low: np.ndarray = _f()
    roi_diff_vs_isolation_ci_high: np.ndarray = _f()
    p_holm_roi_vs_isolation: np.ndarray = _f()
    roe_diff_vs_isolation: np.ndarray = _f("paired difference in mean ROE")
    roe_diff_vs_isolation_ci_low: np.ndarray = _f()
    roe_diff_vs_isolation_ci_high: np.ndarray = _f()
    p_holm_roe_vs_isolation: np.ndarray = _f()
    roi_diff_vs_diverse: np.ndarray = _f()
    roi_diff_vs_diverse_ci_low: np.ndarray = _f()
    roi_diff_vs_diverse_ci_high: np.ndarray = _f()
    p_holm_roi_vs_diverse: np.ndarray = _f()
    roe_diff_vs_diverse: np.ndarray = _f()
    roe_diff_vs_diverse_ci_low: np.ndarray = _f()
    roe_diff_vs_diverse_ci_high: np.ndarray = _f()
    p_holm_roe_vs_diverse: np.ndarray = _f()
    mean_roi_ci_low: np.ndarray = _f("moving-block bootstrap over time")
    mean_roi_ci_high: np.ndarray = _f()
    ci_method: np.ndarray = _s()
    mean_roi_ci_low_per_subject: np.ndarray = _f("bootstrap over subjects")
    mean_roi_ci_high_per_subject: np.ndarray = _f()


@dataclass(frozen=True, eq=False)
class PairedRow(Records):
    """One row per ordered pair of strategies (`paired.parquet`): a minus b."""

    strategy_a: np.ndarray = _s()
    strategy_b: np.ndarray = _s()
    exposure: np.ndarray = _s()
    n_subjects: np.ndarray = _n()
    mean_roi_a: np.ndarray = _f()
    mean_roi_b: np.ndarray = _f()
    mean_diff: np.ndarray = _f()
    ci_low: np.ndarray = _f()
    ci_high: np.ndarray = _f()
    ci_method: np.ndarray = _s()
    ci_low_per_subject: np.ndarray = _f()
    ci_high_per_subject: np.ndarray = _f()
    p_value: np.ndarray = _f()
    p_holm: np.ndarray = _f()
    median_diff: np.ndarray = _f()
    a_beat_b_share: np.ndarray = _f()
    uplift_pct: np.ndarray = _f()
    mean_roe_a: np.ndarray = _f()
    mean_roe_b: np.ndarray = _f()
    roe_diff: np.ndarray = _f()
    roe_ci_low: np.ndarray = _f()
    roe_ci_high: np.ndarray = _f()
    roe_p_value: np.ndarray = _f()
    roe_p_holm: np.ndarray = _f()
