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
    if dtype == pa.string_view():
        return pa.Array.from_buffers(dtype, 0, [None, pa.py_buffer(b"")])
    width = np.int64 if dtype == pa.large_string() else np.int32
    offsets = pa.py_buffer(np.zeros(1, dtype=width))
    return pa.Array.from_buffers(dtype, 0, [None, offsets, pa.py_buffer(b"")])


def _open(item: BinaryIO | Path) -> BinaryIO:
    return item.open("rb") if isinstance(item, Path) else item


def _fill(handle: BinaryIO, carry: bytes) -> bytearray | None:
    """`carry` and the next block read into one new buffer (the file's bytes are copied once,
    by the read; the buffer is the block's lines' memory from here on); None at the end."""
    readinto = getattr(handle, "readinto", None)
    if readinto is None:  # a stream without readinto: one more copy
        block = handle.read(BLOCK_BYTES)
        return bytearray(carry + block) if block else None
    buf = bytearray(len(carry) + BLOCK_BYTES)
    buf[: len(carry)] = carry
    with memoryview(buf) as view:
        got = readinto(view[len(carry) :])
    if not got:
        return None
    del buf[len(carry) + got :]
    return buf


def blocks(
    item: BinaryIO | Path, name: str, max_bytes: int, source: str
) -> Iterator[tuple[bytes | bytearray, int, list[Reject]]]:
    """Blocks of whole lines: (bytes ending in a newline, number of its first line, rejects of
    lines too long to keep, which are skipped unread)."""
    handle = _open(item)
    try:
        carry = b""
        first = 1
        skipping: tuple[int, int, bytes] | None = None  # (line, size so far, head)
        while True:
            data = _fill(handle, carry)
            if data is None:
                break
            carry = b""
            if skipping is not None:
                cut = data.find(b"\n")
                if cut < 0:
                    skipping = (skipping[0], skipping[1] + len(data), skipping[2])
                    continue
                line, size, head = skipping
                skipped = oversize(source, f"{name}:{line}", size + cut, max_bytes, head[:2048])
                yield b"", first, [skipped]
                del data[: cut + 1]
                first, skipping = line + 1, None
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > max_bytes:
                    skipping = (first, len(data), bytes(data[:2048]))
                else:
                    carry = bytes(data)
                continue
            carry = bytes(data[cut + 1 :])
            del data[cut + 1 :]
            yield data, first, []
            first += data.count(b"\n")
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
    data: bytes | bytearray, first: int, name: str, max_bytes: int, source: str, field: str
) -> tuple[pa.LargeStringArray, np.ndarray, list[Reject]]:
    """The non-empty lines of a block (newline and a trailing CR removed), their numbers, and
    the rejects of lines above the size limit or not UTF-8. The lines are string views over
    `data` when no line ends in a CR (else large strings, trimmed)."""
    if not data:
        return empty_text(pa.string_view()), np.empty(0, np.int64), []
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
        head = bytes(data[offsets[i] : offsets[i] + 2048])
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
    whole = bool(keep.all())
    idx = None if whole else np.flatnonzero(keep)
    if len(data) < 2**31 and not (buf[np.maximum(ends - 1, 0)] == 13).any():
        # the common case: each line's text is its bytes before the newline, in place
        starts, sizes = offsets[:-1], lengths
        if idx is not None:
            starts, sizes = starts[idx], sizes[idx]
        return _views(buf, data, starts, sizes), numbers if idx is None else numbers[idx], rejects
    kept = raw if idx is None else raw.take(int64_array(idx))
    return (
        pc.ascii_rtrim(kept, characters="\r\n").cast(pa.string_view()),
        numbers if idx is None else numbers[idx],
        rejects,
    )


def _views(
    buf: np.ndarray, data: bytes | bytearray, starts: np.ndarray, sizes: np.ndarray
) -> pa.Array:
    """Texts `data[start:start + size]` as an Arrow string-view array over `data` (no copy of
    the text; DuckDB reads string views as it reads strings). A view is 16 bytes: the length,
    then the text itself when it fits in 12 bytes, else its first 4 bytes and where it is."""
    n = len(starts)
    views = np.zeros((n, 4), dtype=np.int32)
    views[:, 0] = sizes
    if n:
        last = len(buf) - 1
        head = buf[np.minimum(starts[:, None] + np.arange(4), last)]
        views[:, 1] = np.ascontiguousarray(head).view(np.int32)[:, 0]
        views[:, 3] = starts
        short = np.flatnonzero(sizes <= 12)
        if len(short):
            inline = buf[np.minimum(starts[short, None] + np.arange(12), last)]
            inline = np.where(np.arange(12) < sizes[short, None], inline, 0).astype(np.uint8)
            views.view(np.uint8).reshape(n, 16)[short, 4:] = inline
    return pa.Array.from_buffers(
        pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(data)]
    )


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
        empty = {
            "line_no": int64_array(np.empty(0, np.int64)),
            "line": empty_text(pa.string_view()),
        }
        return pa.table(empty)
    table = pa.concat_tables(parts)
    return pa.Table.from_batches(table.to_batches(max_chunksize=16_384), table.schema)
