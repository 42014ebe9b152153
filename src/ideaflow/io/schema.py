"""The contract tables of docs/contract.md §2 as column specifications and pyarrow schemas.

A column has a *kind* that says which Arrow types are accepted and how it is normalised:
`int` (any integer width -> int64), `float` (floating or integer -> float64), `string`
(string, large string or dictionary of strings -> dense codes), `time` (timestamp of any
unit; tz-aware converted to UTC, tz-naive read as UTC -> int64 ns) and `side` (integer
+1/-1 or the strings buy/sell/long/short in any case -> int8).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TABLE_NAMES: tuple[str, ...] = ("trades", "follows", "prices", "accounts")
REQUIRED_TABLES: tuple[str, ...] = ("trades",)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table."""

    name: str
    kind: str  # int | float | string | time | side
    required: bool = True
    nullable: bool = False
    default: float | None = None  # value of an absent optional column (None = null)


EXPECTED_TYPE: dict[str, str] = {
    "int": "int64 (any integer width)",
    "float": "float64",
    "string": "string (dictionary ok)",
    "time": "timestamp (any unit, tz-naive read as UTC)",
    "side": "int8 +1/-1 or string buy/sell/long/short",
}

TABLES: dict[str, tuple[ColumnSpec, ...]] = {
    "trades": (
        ColumnSpec("trade_id", "int"),
        ColumnSpec("trader_id", "int"),
        ColumnSpec("instrument", "string"),
        ColumnSpec("side", "side"),
        ColumnSpec("open_time", "time"),
        ColumnSpec("close_time", "time", nullable=True),
        ColumnSpec("open_price", "float"),
        ColumnSpec("close_price", "float", nullable=True),
        ColumnSpec("amount", "float"),
        ColumnSpec("leverage", "float", required=False, default=1.0),
        ColumnSpec("parent_trade_id", "int", required=False, nullable=True),
        ColumnSpec("fee", "float", required=False, default=0.0),
    ),
    "follows": (
        ColumnSpec("follower_id", "int"),
        ColumnSpec("leader_id", "int"),
        ColumnSpec("start_time", "time"),
        ColumnSpec("end_time", "time", nullable=True),
        ColumnSpec("allocation", "float"),
    ),
    "prices": (
        ColumnSpec("instrument", "string"),
        ColumnSpec("time", "time"),
        ColumnSpec("price", "float"),
    ),
    "accounts": (
        ColumnSpec("trader_id", "int"),
        ColumnSpec("initial_equity", "float"),
    ),
}

# columns that identify a row in error messages ("trade_id=17")
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("trade_id",),
    "follows": ("follower_id", "leader_id", "start_time"),
    "prices": ("instrument", "time"),
    "accounts": ("trader_id",),
}

_ARROW_TYPE: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "time": pa.timestamp("ns", tz="UTC"),
    "side": pa.int8(),
}


def arrow_schema(table: str) -> pa.Schema:
    """The canonical pyarrow schema of a contract table (all columns, optional included)."""
    return pa.schema(
        [
            pa.field(spec.name, _ARROW_TYPE[spec.kind], nullable=spec.nullable)
            for spec in TABLES[table]
        ]
    )
