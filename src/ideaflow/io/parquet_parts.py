"""One Parquet file from row groups encoded on several threads.

Pyarrow encodes a Parquet file on one thread. A row group, though, is encoded on its own:
its column chunks (pages, dictionaries, statistics) do not depend on the row groups
before it, only their position in the file does. So each row group is written as a
standalone Parquet file in memory, on a thread pool, and the parts are joined in order:

    "PAR1" | part 0's column chunks | part 1's column chunks | ... | footer | length | "PAR1"

The footer is part 0's footer (schema, Arrow schema, writer, column orders) with the
total row count and every part's row-group metadata, each with its byte offsets moved by
where its column chunks now start and its ordinal renumbered. Footers are Thrift
compact-protocol structs (the Parquet format's `FileMetaData`); `_Footer` reads one just
far enough to copy it with those fields changed, every other byte kept as it was.

Pyarrow's own writer, given the whole table and the same row-group size, writes the same
bytes (tests/test_io_parquet_parts.py checks it byte for byte), so a file written here is
indistinguishable from a single-threaded one.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

MAGIC = b"PAR1"

# Thrift compact-protocol type codes
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)

# field ids (parquet.thrift) of the offsets that move when a row group moves
_FILE_NUM_ROWS, _FILE_ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_OFFSET, _CC_META, _CC_OFFSET_INDEX, _CC_COLUMN_INDEX = 2, 3, 4, 6
_CM_OFFSETS = (9, 10, 11, 14)  # data page, index page, dictionary page, bloom filter


class FooterError(ValueError):
    """A part's footer is not the Thrift struct expected (an unsupported writer)."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


class _Footer:
    """A cursor over a Thrift compact-protocol buffer."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise FooterError("footer: ended inside a struct")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = value = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def integer(self) -> int:
        raw = self.varint()
        return (raw >> 1) ^ -(raw & 1)

    def field(self, last: int) -> tuple[int, int, int]:
        """(field id, type, header start) of the next field; type 0 at the struct's end."""
        start = self.pos
        header = self.byte()
        kind = header & 0x0F
        if kind == 0:
            return 0, 0, start
        delta = header >> 4
        return (last + delta if delta else self.integer()), kind, start

    def skip(self, kind: int) -> None:
        """Move past one value of `kind`."""
        if kind in (_TRUE, _FALSE):
            return  # a struct field's boolean is in its header
        if kind == _BYTE:
            self.pos += 1
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.pos += 8
        elif kind == _BINARY:
            length = self.varint()  # read first: it moves the cursor
            self.pos += length
        elif kind in (_LIST, _SET):
            size, element = self.list_header()
            for _ in range(size):
                if element in (_TRUE, _FALSE):
                    self.pos += 1  # in a collection, a boolean is a byte
                else:
                    self.skip(element)
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4)
                    self.skip(types & 0x0F)
        elif kind == _STRUCT:
            last = 0
            while True:
                last, inner, _ = self.field(last)
                if inner == 0:
                    return
                self.skip(inner)
        else:
            raise FooterError(f"footer: unknown Thrift type {kind}")
        if self.pos > len(self.data):
            raise FooterError("footer: ended inside a value")

    def list_header(self) -> tuple[int, int]:
        header = self.byte()
        size = header >> 4
        if size == 15:
            size = self.varint()
        return size, header & 0x0F

    def struct(self, edit: Callable[[int, int], bytes | None]) -> bytes:
        """Copy the struct at the cursor; `edit(field id, type)` may return the field's new
        encoded value (the cursor at the value, which it must consume) or None to copy it."""
        out = bytearray()
        last = 0
        while True:
            last, kind, start = self.field(last)
            out += self.data[start : self.pos]
            if kind == 0:
                return bytes(out)
            value_start = self.pos
            new = edit(last, kind)
            if new is None:
                self.pos = value_start
                self.skip(kind)
                out += self.data[value_start : self.pos]
            else:
                out += new


def _moved_row_group(cursor: _Footer, shift: int, ordinal: int) -> bytes:
    """One RowGroup struct with its offsets moved by `shift` and ordinal `ordinal`.

    An offset of 0 stays 0: it is not a position (no column chunk starts before the
    magic) but the "not set" of a deprecated field (pyarrow writes ColumnChunk.file_offset
    as 0)."""

    def moved() -> bytes:
        offset = cursor.integer()
        return _zigzag(offset + shift if offset else 0)

    def column_meta(field: int, kind: int) -> bytes | None:
        if field in _CM_OFFSETS and kind == _I64:
            return moved()
        return None

    def column_chunk(field: int, kind: int) -> bytes | None:
        if field in (_CC_FILE_OFFSET, _CC_OFFSET_INDEX, _CC_COLUMN_INDEX) and kind == _I64:
            return moved()
        if field == _CC_META and kind == _STRUCT:
            return cursor.struct(column_meta)
        return None

    def row_group(field: int, kind: int) -> bytes | None:
        if field == _RG_FILE_OFFSET and kind == _I64:
            return moved()
        if field == _RG_ORDINAL and kind == _I16:
            cursor.integer()
            return _zigzag(ordinal)
        if field == _RG_COLUMNS and kind == _LIST:
            header_start = cursor.pos
            size, element = cursor.list_header()
            if element != _STRUCT:
                raise FooterError("footer: RowGroup.columns is not a list of structs")
            out = bytearray(cursor.data[header_start : cursor.pos])
            for _ in range(size):
                out += cursor.struct(column_chunk)
            return bytes(out)
        return None

    return cursor.struct(row_group)


def _list_header(size: int, element: int) -> bytes:
    if size < 15:
        return bytes([(size << 4) | element])
    return bytes([0xF0 | element]) + _varint(size)


def join_footers(footers: list[bytes], shifts: list[int]) -> bytes:
    """The footer of the parts joined: the first part's fields, the summed row count,
    and every part's row groups moved by its shift (renumbered in order)."""
    row_groups: list[bytes] = []
    total_rows = 0
    for footer, shift in zip(footers, shifts, strict=True):
        cursor = _Footer(footer)
        last = 0
        while True:
            last, kind, _ = cursor.field(last)
            if kind == 0:
                break
            if last == _FILE_NUM_ROWS and kind == _I64:
                total_rows += cursor.integer()
            elif last == _FILE_ROW_GROUPS and kind == _LIST:
                size, element = cursor.list_header()
                if element != _STRUCT:
                    raise FooterError("footer: row_groups is not a list of structs")
                for _ in range(size):
                    row_groups.append(_moved_row_group(cursor, shift, len(row_groups)))
            else:
                cursor.skip(kind)

    def file_meta(field: int, kind: int) -> bytes | None:
        if field == _FILE_NUM_ROWS and kind == _I64:
            cursor.integer()
            return _zigzag(total_rows)
        if field == _FILE_ROW_GROUPS and kind == _LIST:
            cursor.skip(kind)
            return _list_header(len(row_groups), _STRUCT) + b"".join(row_groups)
        return None

    cursor = _Footer(footers[0])
    joined = cursor.struct(file_meta)
    if cursor.pos != len(footers[0]):
        raise FooterError("footer: bytes left after FileMetaData")
    return joined


def split_part(part: bytes | memoryview) -> tuple[bytes | memoryview, bytes]:
    """(column chunk bytes, footer) of a standalone Parquet file."""
    if part[:4] != MAGIC or part[-4:] != MAGIC:
        raise FooterError("part: not a Parquet file (no PAR1 magic)")
    (length,) = struct.unpack("<I", part[-8:-4])
    end = len(part) - 8 - length
    if end < 4:
        raise FooterError("part: footer length beyond the file")
    return part[4:end], bytes(part[end:-8])  # the footer as bytes: indexing gives 0..255


def write_joined(
    chunks: Iterable[pa.Table],
    path: str | os.PathLike[str],
    encode: Callable[[pa.Table], bytes | memoryview],
    *,
    threads: int = 2,
) -> int:
    """Write `chunks` (each one row group) to `path` as one Parquet file, each chunk encoded
    by `encode` (a standalone Parquet file of one row group) on `threads` threads; at most
    `threads` chunks (and their encoded parts) are held at once, besides the one being
    made. Returns the number of row groups (0 when `chunks` is empty: the file then holds
    only the magic)."""
    if threads < 1:
        raise ValueError(f"threads: expected an integer >= 1; found {threads}")
    footers: list[bytes] = []
    shifts: list[int] = []
    with open(path, "wb") as sink, ThreadPoolExecutor(max_workers=threads) as pool:
        sink.write(MAGIC)
        position = len(MAGIC)
        pending: deque[Future[bytes | memoryview]] = deque()

        def drain(keep: int) -> None:
            nonlocal position
            while len(pending) > keep:
                body, footer = split_part(pending.popleft().result())
                sink.write(body)
                footers.append(footer)
                shifts.append(position - len(MAGIC))
                position += len(body)

        try:
            for chunk in chunks:
                pending.append(pool.submit(encode, chunk))
                drain(threads - 1)  # the next chunk is made while these are encoded
            drain(0)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        if not footers:
            return 0  # nothing to join: the caller writes its empty file
        footer = join_footers(footers, shifts)
        sink.write(footer)
        sink.write(struct.pack("<I", len(footer)))
        sink.write(MAGIC)
    return len(footers)
