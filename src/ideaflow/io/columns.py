"""Normalising one contract column: type checks, then Arrow parts -> one numpy array.

Types are checked per part (a partitioned table may mix physical types); a column whose
type cannot be normalised is a table-level `Violation` ("wrong type: expected ..., found
..."). Values that have the right type but cannot be represented (a timestamp outside
int64 nanoseconds, a side such as "hold", a float id with a fraction) are returned as an
`invalid` row mask, so `ideaflow.io.validate` reports them with the other row rules.

Design choices (docs/contract.md §2 is silent on them):
- integer id columns also accept floating columns whose values are whole numbers (pandas
  turns an integer column with missing values into float64); NaN reads as null;
- in nullable float columns (close_price) NaN reads as null, as pandas writes it;
- an optional column missing from some parts of a partitioned table takes its default
  in those parts; a required column missing from some parts is an error naming the part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ideaflow.errors import Violation
from ideaflow.io.read import RawTable, table_problem
from ideaflow.io.schema import EXPECTED_TYPE, ColumnSpec

_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min
_SIDE_WORDS = {"buy": 1, "long": 1, "sell": -1, "short": -1, "+1": 1, "1": 1, "-1": -1}

INVALID_RULE = {
    "int": "must be an integer",
    "time": "timestamp out of range (int64 nanoseconds cover 1677-2262)",
    "side": "must be +1/-1 or buy/sell/long/short",
}


@dataclass
class NormColumn:
    """A normalised column: values in the canonical dtype plus masks."""

    values: np.ndarray  # int64 | float64 | int32 codes (-1 = null) | int8 side (0 = invalid)
    null: np.ndarray | None  # True where null (None when no row is null)
    invalid: np.ndarray | None  # True where a non-null value cannot be represented
    categories: list[str] | None = None  # names of the codes of a string column
    present: bool = True  # False when an optional column was absent and defaulted


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def type_name(t: pa.DataType) -> str:
    """A type as a user knows it (large_string and string_view are just strings)."""
    if _is_string(t):
        return "string"
    if pa.types.is_dictionary(t):
        return f"dictionary of {type_name(t.value_type)}"
    return str(t)


def _accepts(kind: str, t: pa.DataType) -> bool:
    if pa.types.is_null(t):
        return True
    if kind == "int":
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    if kind == "float":
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    if kind == "time":
        return pa.types.is_timestamp(t)
    if kind in ("string", "side"):
        if pa.types.is_dictionary(t):
            return _is_string(t.value_type)
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t)
        return _is_string(t) or (kind == "side" and numeric)
    raise ValueError(kind)


def _null_mask(arr: pa.ChunkedArray) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _plain_values(
    arr: pa.ChunkedArray, dtype: type, null: np.ndarray | None, fill: float = 0
) -> np.ndarray:
    """Values of a fixed-width column as numpy; null slots hold `fill`.

    With nulls, Arrow's `fill_null` + `to_numpy` would copy twice; reading the value
    buffers directly copies once (and not at all for one chunk without nulls).
    """
    if null is None:
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)
    pieces: list[np.ndarray] = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset : chunk.offset + len(chunk)]
        for chunk in arr.chunks
    ]
    values = np.concatenate(pieces) if pieces else np.empty(0, dtype=dtype)
    values[null] = fill
    return values


def _int_chunk(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    null = _null_mask(arr)
    if pa.types.is_floating(arr.type):
        floats = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        nan = np.isnan(floats)
        null = nan if null is None else (null | nan)
        with np.errstate(invalid="ignore"):
            bad = ~nan & ((floats != np.floor(floats)) | (np.abs(floats) >= 2.0**63))
        values = np.where(bad | nan, 0.0, floats).astype(np.int64)
        return values, (null if null.any() else None), (bad if bad.any() else None)
    invalid = None
    if arr.type == pa.uint64():
        too_big = pc.fill_null(pc.greater(arr, pa.scalar(_INT64_MAX, pa.uint64())), False)
        if pc.any(too_big).as_py():
            invalid = np.asarray(too_big.to_numpy(zero_copy_only=False), dtype=bool)
            arr = pc.if_else(too_big, pa.scalar(0, pa.uint64()), arr)
    if arr.type != pa.int64():
        arr = arr.cast(pa.int64(), safe=False)
    return _plain_values(arr, np.int64, null), null, invalid


def _float_chunk(arr: pa.ChunkedArray, nullable: bool) -> tuple[np.ndarray, np.ndarray | None]:
    null = _null_mask(arr)
    if arr.type != pa.float64():
        arr = arr.cast(pa.float64(), safe=False)
    values = _plain_values(arr, np.float64, null, fill=np.nan)
    if nullable:
        # null slots hold NaN, so this mask covers them and the NaNs of the data
        nan = np.isnan(values)
        if nan.any():
            null = nan
    return values, null


def _time_chunk(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    null = _null_mask(arr)
    factor = _NS_PER_UNIT[arr.type.unit]
    # the stored ticks, read as int64 and scaled below
    values = _plain_values(arr.cast(pa.int64()), np.int64, null)
    invalid = None
    if factor != 1:
        out = (values > _INT64_MAX // factor) | (values < _INT64_MIN // factor)
        if out.any():
            invalid = out
            values = np.where(out, 0, values)
        values = values * factor
    return values, null, invalid


def _dictionary_parts(arr: pa.Array) -> tuple[list[str | None], pa.Array]:
    """(dictionary values, indices) of a string chunk, encoding it when plain."""
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    return arr.dictionary.to_pylist(), arr.indices


def _string_chunks(
    columns: list[pa.ChunkedArray],
) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    # chunks of one column may carry different dictionaries: encode chunk by chunk
    chunks = [chunk for column in columns for chunk in column.chunks]
    encoded = [_dictionary_parts(chunk) for chunk in chunks]
    names = sorted({v for values, _ in encoded for v in values if v is not None})
    lookup = {name: i for i, name in enumerate(names)}
    pieces: list[np.ndarray] = []
    for values, indices in encoded:
        mapping = np.array([lookup.get(v, -1) if v is not None else -1 for v in values] + [-1])
        local = indices.cast(pa.int64(), safe=False)
        if local.null_count:
            # the extra last entry of `mapping` is -1: nulls point there
            local = pc.fill_null(local, len(values))
        idx = np.asarray(local.to_numpy(zero_copy_only=False), dtype=np.int64)
        pieces.append(mapping.astype(np.int32)[idx])
    codes = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int32)
    null = codes < 0
    return codes, names, (null if null.any() else None)


def _side_from_codes(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    table = np.array([_SIDE_WORDS.get(n.strip().lower(), 0) for n in names] + [0], dtype=np.int8)
    side = table[codes]  # code -1 (null) reads the trailing 0
    return side, (side == 0) & (codes >= 0)


def _chunks(raw: RawTable, spec: ColumnSpec) -> list[tuple[str, pa.ChunkedArray | None, int]]:
    """(part label, column of the part or None when the part lacks it, rows) in read order.

    Whole columns (not chunks) are converted: Arrow turns a chunked column into one numpy
    array faster than a Python loop over its chunks.
    """
    out: list[tuple[str, pa.ChunkedArray | None, int]] = []
    for label, part in raw.parts:
        if spec.name in part.column_names:
            out.append((label, part.column(spec.name), part.num_rows))
        else:
            out.append((label, None, part.num_rows))
    return out


def normalize_column(raw: RawTable, spec: ColumnSpec) -> tuple[NormColumn | None, list[Violation]]:
    """Normalise column `spec` of `raw`; None with table-level problems when impossible."""
    table, n = raw.name, raw.nrows
    if spec.name in raw.unconvertible:
        return None, [
            table_problem(
                table,
                spec.name,
                f"wrong type: expected {EXPECTED_TYPE[spec.kind]}, found "
                f"{raw.unconvertible[spec.name]}",
            )
        ]
    chunks = _chunks(raw, spec)
    missing = [label for label, chunk, _ in chunks if chunk is None]
    if missing and len(missing) == len(chunks):
        if spec.required:
            return None, []  # reported once per table by the caller, with a suggestion
        return _default_column(spec, n), []
    if missing and spec.required:
        return None, [
            table_problem(
                table,
                spec.name,
                f"missing required column in {len(missing)} part(s)",
                f"e.g. {', '.join(sorted(set(missing))[:3])}",
            )
        ]
    wrong = sorted(
        {
            type_name(c.type)
            for _, c, _ in chunks
            if c is not None and not _accepts(spec.kind, c.type)
        }
    )
    if wrong:
        bad_rows = sum(r for _, c, r in chunks if c is not None and not _accepts(spec.kind, c.type))
        hint = ""
        if spec.kind == "time" and any(
            w.startswith(("int", "uint", "double", "float")) for w in wrong
        ):
            hint = (
                "convert epoch numbers with pandas.to_datetime(values, unit='s'|'ms'|..., utc=True)"
            )
        elif spec.kind == "time" and any("string" in w for w in wrong):
            hint = "parse the strings with pandas.to_datetime(values, utc=True)"
        elif spec.kind in ("int", "float") and any("string" in w for w in wrong):
            hint = "parse the strings with pandas.to_numeric"
        return None, [
            Violation(
                table=table,
                column=spec.name,
                rule=f"wrong type: expected {EXPECTED_TYPE[spec.kind]}, found {', '.join(wrong)}",
                count=bad_rows,
                hint=hint,
            )
        ]
    return _convert(spec, chunks, n), []


def _default_column(spec: ColumnSpec, n: int) -> NormColumn:
    if spec.kind == "int":
        return NormColumn(np.zeros(n, np.int64), np.ones(n, bool), None, present=False)
    value = np.nan if spec.default is None else float(spec.default)
    null = np.ones(n, bool) if spec.default is None else None
    return NormColumn(np.full(n, value, np.float64), null, None, present=False)


def _convert(
    spec: ColumnSpec, chunks: list[tuple[str, pa.ChunkedArray | None, int]], n: int
) -> NormColumn:
    kind = spec.kind
    if kind in ("string", "side"):
        return _convert_strings(spec, chunks, n)
    dtype = np.int64 if kind in ("int", "time") else np.float64
    present = [(chunk, rows) for _, chunk, rows in chunks]
    if len(present) == 1 and present[0][0] is not None and not pa.types.is_null(present[0][0].type):
        # one chunk: keep the (often zero-copy) array instead of copying into a new one
        single = _convert_chunk(spec, present[0][0])
        return NormColumn(single[0], single[1], single[2])
    values = np.empty(n, dtype=dtype)
    null: np.ndarray | None = None
    invalid: np.ndarray | None = None
    offset = 0
    for chunk, rows in present:
        end = offset + rows
        if chunk is None or pa.types.is_null(chunk.type):
            default = spec.default if (chunk is None and spec.default is not None) else None
            values[offset:end] = 0 if default is None else default
            if default is None:
                if null is None:
                    null = np.zeros(n, dtype=bool)
                null[offset:end] = True
            offset = end
            continue
        vals, nul, bad = _convert_chunk(spec, chunk)
        values[offset:end] = vals
        if nul is not None:
            if null is None:
                null = np.zeros(n, dtype=bool)
            null[offset:end] = nul
        if bad is not None:
            if invalid is None:
                invalid = np.zeros(n, dtype=bool)
            invalid[offset:end] = bad
        offset = end
    return NormColumn(values, null, invalid)


def _convert_chunk(
    spec: ColumnSpec, chunk: pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if spec.kind == "int":
        return _int_chunk(chunk)
    if spec.kind == "time":
        return _time_chunk(chunk)
    values, null = _float_chunk(chunk, spec.nullable)
    return values, null, None


def _convert_strings(
    spec: ColumnSpec, chunks: list[tuple[str, pa.ChunkedArray | None, int]], n: int
) -> NormColumn:
    if spec.kind == "side" and any(c is not None and _is_numeric(c.type) for _, c, _ in chunks):
        # integer sides (possibly mixed with string parts): normalise chunk by chunk
        side = np.zeros(n, dtype=np.int8)
        null = np.zeros(n, dtype=bool)
        invalid = np.zeros(n, dtype=bool)
        offset = 0
        for _, chunk, rows in chunks:
            end = offset + rows
            # a part lacking the column (None) only reaches here for optional columns
            if chunk is None or pa.types.is_null(chunk.type):
                null[offset:end] = True
            elif _is_numeric(chunk.type):
                # compare in the stored type (no int64 copy; 257 must not wrap to 1);
                # floats must hold exactly +1/-1 (pandas makes ints float when NaN appear)
                nul = _null_mask(chunk)
                vals = chunk.to_numpy()
                ok = (vals == 1) | (vals == -1)  # False at nulls (NaN when nulls exist)
                side[offset:end] = np.where(ok, vals, 0)
                if nul is not None:
                    null[offset:end] = nul
                    ok |= nul
                invalid[offset:end] = ~ok
            else:
                codes, names, nul = _string_chunks([chunk])
                s, bad_words = _side_from_codes(codes, names)
                side[offset:end] = s
                null[offset:end] = codes < 0
                invalid[offset:end] = bad_words
            offset = end
        return NormColumn(side, null if null.any() else None, invalid if invalid.any() else None)
    arrays = [
        c if not pa.types.is_null(c.type) else pa.chunked_array([pa.nulls(len(c), pa.string())])
        for _, c, _ in chunks
        if c is not None
    ]
    codes, names, string_null = _string_chunks(arrays)
    if spec.kind == "side":
        side, bad = _side_from_codes(codes, names)
        return NormColumn(side, string_null, bad if bad.any() else None)
    return NormColumn(codes, string_null, None, categories=names)
