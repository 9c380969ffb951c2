"""Canonical JSON Lines read in blocks: a block of bytes split at newlines with numpy, each
line keeping its number; blank lines dropped; a line above the size limit or not UTF-8
refused by its number while the others of the block land; lines gathered into bounded batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsmml.events.connectors.base import Reject
from vsmml.events.connectors.payloads import oversize

if TYPE_CHECKING:
    pass

BLOCK_BYTES: Final = 8 << 20
BATCH_BYTES: Final = 128 << 20
"""At most this much text per batch. With `VSMML_INGEST_BATCH_ROWS` (250,000) a batch is
large enough for DuckDB to write its row groups straight to the file, compressed, instead of
through the write-ahead log and a checkpoint (each byte written once, not twice)."""


def int64_array(values: np.ndarray) -> pa.Array:
    """Integers as an Arrow array over the same memory. `pa.array` would do, but its first
    call imports pandas (0.3-0.5 s), which this path otherwise never needs."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def empty_text(dtype: pa.DataType | None = None) -> pa.Array:
    """A zero-length text array (large strings by default), built without `pa.array`."""
    dtype = dtype or pa.large_string()
    width = np.int64 if dtype == pa.large_string() else np.int32
    offsets = pa.py_buffer(np.zeros(1, dtype=width))
    return pa.Array.from_buffers(dtype, 0, [None, offsets, pa.py_buffer(b"")])


def _open(item: BinaryIO | Path) -> BinaryIO:
    return item.open("rb") if isinstance(item, Path) else item


def blocks(
    item: BinaryIO | Path, name: str, max_bytes: int, source: str
) -> Iterator[tuple[bytes, int, list[Reject]]]:
    """Blocks of whole lines: (bytes ending in a newline, number of its first line, rejects of
    lines too long to keep, which are skipped unread)."""
    handle = _open(item)
    try:
        carry = b""
        first = 1
        skipping: tuple[int, int, bytes] | None = None  # (line, size so far, head)
        while True:
            block = handle.read(BLOCK_BYTES)
            if not block:
                break
            if skipping is not None:
                cut = block.find(b"\n")
                if cut < 0:
                    skipping = (skipping[0], skipping[1] + len(block), skipping[2])
                    continue
                line, size, head = skipping
                skipped = oversize(source, f"{name}:{line}", size + cut, max_bytes, head[:2048])
                yield b"", first, [skipped]
                block, first, skipping = block[cut + 1 :], line + 1, None
            data = carry + block if carry else block
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > max_bytes:
                    skipping, carry = (first, len(data), data[:2048]), b""
                else:
                    carry = data
                continue
            whole, carry = data[: cut + 1], data[cut + 1 :]
            yield whole, first, []
            first += whole.count(b"\n")
            if len(carry) > max_bytes:
                skipping, carry = (first, len(carry), carry[:2048]), b""
        if skipping is not None:
            line, size, head = skipping
            yield b"", first, [oversize(source, f"{name}:{line}", size, max_bytes, head[:2048])]
        elif carry:
            yield carry + b"\n", first, []
    finally:
        if isinstance(item, Path):
            handle.close()


def split_block(
    data: bytes, first: int, name: str, max_bytes: int, source: str, field: str
) -> tuple[pa.LargeStringArray, np.ndarray, list[Reject]]:
    """The non-empty lines of a block (newline and a trailing CR removed), their numbers, and
    the rejects of lines above the size limit or not UTF-8."""
    if not data:
        return empty_text(), np.empty(0, np.int64), []
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    raw = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    lengths = np.diff(offsets) - 1
    lengths -= (lengths > 0) & (buf[np.maximum(ends - 1, 0)] == 13)  # a CR before the newline
    numbers = np.arange(first, first + len(ends), dtype=np.int64)
    rejects: list[Reject] = []
    keep = lengths > 0
    big = lengths > max_bytes
    for i in np.flatnonzero(big):
        head = data[offsets[i] : offsets[i] + 2048]
        rejects.append(oversize(source, f"{name}:{numbers[i]}", int(lengths[i]), max_bytes, head))
    keep &= ~big
    try:
        raw.validate(full=True)
    except pa.ArrowInvalid:
        for i in np.flatnonzero(keep):
            piece = data[offsets[i] : offsets[i + 1]]
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                keep[i] = False
                shown = piece[:2048].decode("utf-8", "replace")
                reason = f"is not UTF-8 text ({exc.reason})"
                rejects.append(Reject(source, f"{name}:{numbers[i]}", field, reason, shown))
    if keep.all():  # the common case: no copy before the trim
        return pc.ascii_rtrim(raw, characters="\r\n"), numbers, rejects
    idx = np.flatnonzero(keep)
    return pc.ascii_rtrim(raw.take(int64_array(idx)), characters="\r\n"), numbers[idx], rejects


def jsonl_batches(
    item: BinaryIO | Path, name: str, max_bytes: int, batch_size: int, source: str
) -> Iterator[tuple[pa.Table, list[Reject], None]]:
    """Batches of about `batch_size` located lines as Arrow tables (`line_no`, `line`)."""
    parts: list[pa.Table] = []
    rejects: list[Reject] = []
    rows = 0
    for data, first, refused in blocks(item, name, max_bytes, source):
        rejects += refused
        lines, numbers, bad = split_block(data, first, name, max_bytes, source, "payload")
        rejects += bad
        start = 0
        while start < len(lines):
            take = min(batch_size - rows, len(lines) - start)
            parts.append(_lines_table(numbers[start : start + take], lines.slice(start, take)))
            rows += take
            start += take
            if rows >= batch_size or sum(p.nbytes for p in parts) >= BATCH_BYTES:
                yield _chunked(parts), rejects, None
                parts, rejects, rows = [], [], 0
    if parts or rejects:
        yield _chunked(parts), rejects, None


def _lines_table(numbers: np.ndarray, lines: pa.Array) -> pa.Table:
    return pa.table({"line_no": int64_array(numbers), "line": lines})


def _chunked(parts: list[pa.Table]) -> pa.Table:
    """One table in record batches of 16k rows (DuckDB scans Arrow batches in parallel)."""
    if not parts:
        return pa.table({"line_no": int64_array(np.empty(0, np.int64)), "line": empty_text()})
    table = pa.concat_tables(parts)
    return pa.Table.from_batches(table.to_batches(max_chunksize=16_384), table.schema)
