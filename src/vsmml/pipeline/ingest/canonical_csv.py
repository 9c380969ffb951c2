"""Canonical CSV read in blocks: parsed by pyarrow when every line is one record (balanced
quotes), else by Python's `csv` for that block; a row pyarrow cannot split goes to the Python
reader too, so its reason is the same as on every other path."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from vsmml.events.connectors.base import Reject
from vsmml.events.connectors.payloads import clip, oversize

if TYPE_CHECKING:
    pass

from vsmml.pipeline.ingest.canonical_lines import (
    BATCH_BYTES,
    blocks,
    empty_text,
    int64_array,
    split_block,
)


def csv_batches(
    item: BinaryIO | Path, name: str, max_bytes: int, batch_size: int, source: str
) -> Iterator[tuple[pa.Table, list[Reject], list[str]]]:
    """Batches of CSV rows as Arrow tables of their cells (text; null for an empty cell) plus
    `line_no`, the line each row starts on; the header is the file's first line."""
    header: list[str] | None = None
    parts: list[pa.Table] = []
    rejects: list[Reject] = []
    rows = 0
    for data, first, refused in blocks(item, name, max_bytes, source):
        rejects += refused
        if header is None:
            data, first, header, bad = _header(data, first, name, source)
            rejects += bad
            if header is None:
                continue
        table, bad = _csv_block(data, first, header, name, max_bytes, source)
        rejects += bad
        parts.append(table)
        rows += table.num_rows
        if rows >= batch_size or sum(p.nbytes for p in parts) >= BATCH_BYTES:
            yield _concat(parts, header), rejects, header
            parts, rejects, rows = [], [], 0
    if header is None:
        rejects.append(Reject(source, name, "file", "is empty (no CSV header)", ""))
        header = []
    if parts or rejects:
        yield _concat(parts, header), rejects, header


def _concat(parts: list[pa.Table], header: list[str]) -> pa.Table:
    if not parts:
        fields = {"line_no": int64_array(np.empty(0, np.int64))}
        fields.update({c: empty_text(pa.string()) for c in header})
        return pa.table(fields)
    table = pa.concat_tables(parts)
    return pa.Table.from_batches(table.to_batches(max_chunksize=16_384), table.schema)


def _header(
    data: bytes | bytearray, first: int, name: str, source: str
) -> tuple[bytes | bytearray, int, list[str] | None, list[Reject]]:
    """Take the header line off the first block(s)."""
    while data:
        cut = data.find(b"\n")
        line, data = data[:cut], data[cut + 1 :]
        first += 1
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            reason = f"has a header that is not UTF-8 text ({exc.reason})"
            return b"", first, None, [Reject(source, name, "file", reason, "")]
        return data, first, next(csv.reader([text])), []
    return b"", first, None, []


def _csv_block(
    data: bytes | bytearray,
    first: int,
    header: list[str],
    name: str,
    max_bytes: int,
    source: str,
) -> tuple[pa.Table, list[Reject]]:
    lines, numbers, rejects = split_block(data, first, name, max_bytes, source, "row")
    if len(lines) == 0:
        return _rows_table([], [], header), rejects
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if not _simple(data, ends, numbers - first):  # quoted newlines or an odd line
        texts = lines.to_pylist()  # Python's csv reads this block
        return _python_rows(texts, numbers, header, name, max_bytes, source, rejects)
    whole = len(lines) == len(ends)  # no line dropped: the block is the CSV text
    body = pa.py_buffer(data if whole else _join(lines))
    table, bad_rows = _parse(body, header, threads=True)
    if any(i < 0 for i in bad_rows):  # a row's number is unknown when parsed in parallel
        table, bad_rows = _parse(body, header, threads=False)
    good = numbers
    if bad_rows:
        good = numbers[np.setdiff1d(np.arange(len(lines)), np.array(bad_rows, dtype=np.int64))]
    table = table.add_column(0, "line_no", int64_array(good))
    if bad_rows:
        texts = [lines[int(i)].as_py() for i in bad_rows]
        extra, rejects = _python_rows(
            texts, numbers[bad_rows], header, name, max_bytes, source, rejects
        )
        table = pa.concat_tables([table, extra.cast(table.schema)])
    return table, rejects


def _parse(body: pa.Buffer, header: list[str], *, threads: bool) -> tuple[pa.Table, list[int]]:
    """CSV rows (no header line) as text columns named by `header`, and the indexes of the rows
    pyarrow could not split (-1 where it does not know which, as in a parallel parse)."""
    bad_rows: list[int] = []

    def invalid(row: Any) -> str:
        number = row.number  # None (or -1) when the parse is parallel
        bad_rows.append(int(number) - 1 if number is not None and number > 0 else -1)
        return "skip"

    table = pcsv.read_csv(
        pa.BufferReader(body),
        read_options=pcsv.ReadOptions(
            use_threads=threads, block_size=1 << 20 if threads else 1 << 26, column_names=header
        ),
        parse_options=pcsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )
    return table, bad_rows


def _simple(data: bytes | bytearray, ends: np.ndarray, kept: np.ndarray) -> bool:
    """True when every kept line (`kept`: indexes among the block's lines, which end at `ends`)
    holds an even number of quotes, so each line is one record: the parity of each line's
    quotes in one pass over the block (a newline or CR holds no quote)."""
    if not len(ends):
        return True
    starts = np.empty(len(ends), dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    quotes = (np.frombuffer(data, dtype=np.uint8) == 34).view(np.uint8)
    odd: np.ndarray = np.bitwise_xor.reduceat(quotes[: int(ends[-1]) + 1], starts)
    return not bool(odd[kept].any())


def _join(lines: pa.Array) -> bytes:
    """The kept lines as one CSV text, each ended by a newline (built in Arrow)."""
    large = lines.cast(pa.large_string())
    sep = pa.scalar("\n", pa.large_string())
    ended = pc.binary_join_element_wise(large, pa.scalar("", pa.large_string()), sep)
    offsets = np.frombuffer(ended.buffers()[1], dtype=np.int64)[ended.offset :]
    start, end = int(offsets[0]), int(offsets[len(ended)])
    body: bytes = ended.buffers()[2].slice(start, end - start).to_pybytes()
    return body


def _python_rows(
    texts: list[str],
    numbers: np.ndarray,
    header: list[str],
    name: str,
    max_bytes: int,
    source: str,
    rejects: list[Reject],
) -> tuple[pa.Table, list[Reject]]:
    """Rows read by Python's csv (quoted newlines, short or long rows), with their lines."""
    reader = csv.reader([t + "\n" for t in texts])
    starts: list[int] = []
    cells: list[list[str | None]] = []
    line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            where = f"{name}:{numbers[min(line, len(numbers) - 1)]}"
            rejects.append(Reject(source, where, "row", f"cannot be read as CSV ({exc})", ""))
            line = reader.line_num
            continue
        start, line = line, reader.line_num
        where = f"{name}:{numbers[start]}"
        if len(row) > len(header):
            reason = "has more cells than the header has columns"
            rejects.append(Reject(source, where, "row", reason, clip(json.dumps(row))))
            continue
        padded = [*row, *[""] * (len(header) - len(row))]
        body = json.dumps(dict(zip(header, padded, strict=True)))
        if len(body) > max_bytes:
            rejects.append(oversize(source, where, len(body), max_bytes, body[:2048]))
            continue
        starts.append(int(numbers[start]))
        cells.append([c if c != "" else None for c in padded])
    return _rows_table(starts, cells, header), rejects


def _rows_table(starts: list[int], cells: list[list[str | None]], header: list[str]) -> pa.Table:
    columns: dict[str, pa.Array] = {"line_no": pa.array(starts, pa.int64())}
    for j, col in enumerate(header):
        columns[col] = pa.array([r[j] for r in cells], pa.string())
    return pa.table(columns)
