"""The canonical JSON Lines / CSV path: files read in blocks, lines split with numpy, checked and
normalised in DuckDB SQL (`vsmml.store.canonical`), written one transaction per batch.

Reading: a block of bytes is split at newlines (numpy), each line keeps its number, blank lines
are dropped, a line above the size limit or not UTF-8 is refused by its number (the others of
the block land). CSV blocks are parsed by pyarrow when every line is one record (balanced
quotes), else by Python's `csv` for that block; a row pyarrow cannot split goes to the Python
reader too, so its reason is the same as on every other path.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from vsmml.events.catalog import Catalog
from vsmml.events.connectors import files
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import clip, oversize
from vsmml.store.canonical import Defaults

if TYPE_CHECKING:
    from vsmml.pipeline.ingest import IngestReport, Limits
    from vsmml.pipeline.ingest.registry import Source
    from vsmml.store import Store

BLOCK_BYTES: Final = 8 << 20
BATCH_BYTES: Final = 64 << 20


def ingest_canonical(
    store: Store,
    spec: Source,
    found: Sequence[Path],
    rules: Any,
    report: IngestReport,
    lim: Limits,
    batch_size: int,
    catalog: Catalog | None,
    *,
    stdin: BinaryIO | None = None,
) -> IngestReport:
    """Ingest canonical JSON Lines or CSV files (and standard input) through the SQL path."""
    from vsmml.pipeline.ingest import ingest_units, limits_check, located_validation

    rule_obj = files.FileRules.coerce(rules)
    is_csv = ".csv" in spec.suffixes and ".json" not in spec.suffixes
    source = spec.event_source or spec.name
    defaults = Defaults(rule_obj.source, rule_obj.service, rule_obj.team, lim.max_depth)
    if catalog is not None:  # attribution needs the frame: take the reference path
        from vsmml.pipeline.ingest.readers import split_csv_rows, split_json, stdin_units

        def items() -> Iterator[tuple[str, str] | Reject]:
            if stdin is not None:
                yield from stdin_units(spec.suffixes, lim.max_bytes, source=source, stream=stdin)
            for path in found:
                split = split_csv_rows if is_csv else split_json
                yield from split(path, lim.max_bytes, source=source)

        return ingest_units(
            store,
            spec,
            items(),
            rule_obj,
            report,
            batch_size=batch_size,
            catalog=catalog,
            limits=lim,
        )

    def fallback(units: list[tuple[str, str]]) -> Conversion:
        kept: list[tuple[str, str]] = []
        refused: list[Reject] = []
        for where, text in units:
            body = text.strip()
            if not body:
                continue
            bad = limits_check(source, (where, body), lim)
            if bad is None:
                kept.append((where, body))
            else:
                refused.append(bad)
        conv = located_validation(files.to_events(kept, rule_obj)) if kept else Conversion()
        return Conversion(conv.events, [*refused, *conv.rejects], conv.locations, conv.skipped)

    streams: list[tuple[str, BinaryIO | Path]] = [("stdin", stdin)] if stdin is not None else []
    streams += [(p.name, p) for p in found]
    for name, item in streams:
        batches = csv_batches if is_csv else jsonl_batches
        for table, rejects, columns in batches(item, name, lim.max_bytes, batch_size, source):
            frame = Conversion(rejects=rejects).rejects_frame()
            written, regular, conv = store.write_canonical(
                table,
                raw_source=spec.name,
                name=name,
                defaults=defaults,
                fallback=fallback,
                rejects=frame,
                csv_columns=columns,
            )
            report.payloads += table.num_rows
            report.records += regular + len(rejects) + len(conv.events) + len(conv.rejects)
            report.records += sum(conv.skipped.values())
            report.count_skipped(conv.skipped)
            report.add(written)
            report.batches += 1
            store.commit_point()
    return report


# -- lines ----------------------------------------------------------------------------------
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
        return pa.array([], pa.large_string()), np.empty(0, np.int64), []
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    raw = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    lengths = np.diff(offsets) - 1
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
    idx = np.flatnonzero(keep)
    lines = pc.ascii_rtrim(raw.take(pa.array(idx)), characters="\r\n")
    return lines, numbers[idx], rejects


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
    return pa.table({"line_no": pa.array(numbers, pa.int64()), "line": lines})


def _chunked(parts: list[pa.Table]) -> pa.Table:
    """One table in record batches of 16k rows (DuckDB scans Arrow batches in parallel)."""
    if not parts:
        return pa.table(
            {"line_no": pa.array([], pa.int64()), "line": pa.array([], pa.large_string())}
        )
    table = pa.concat_tables(parts)
    return pa.Table.from_batches(table.to_batches(max_chunksize=16_384), table.schema)


# -- CSV ------------------------------------------------------------------------------------
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
        fields = {"line_no": pa.array([], pa.int64())}
        fields.update({c: pa.array([], pa.string()) for c in header})
        return pa.table(fields)
    table = pa.concat_tables(parts)
    return pa.Table.from_batches(table.to_batches(max_chunksize=16_384), table.schema)


def _header(
    data: bytes, first: int, name: str, source: str
) -> tuple[bytes, int, list[str] | None, list[Reject]]:
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
    data: bytes, first: int, header: list[str], name: str, max_bytes: int, source: str
) -> tuple[pa.Table, list[Reject]]:
    lines, numbers, rejects = split_block(data, first, name, max_bytes, source, "row")
    if len(lines) == 0:
        return _rows_table([], [], header), rejects
    if not _simple(lines):  # quoted newlines or an odd line: Python's csv reads this block
        texts = lines.to_pylist()
        return _python_rows(texts, numbers, header, name, max_bytes, source, rejects)
    bad_rows: list[int] = []

    def invalid(row: Any) -> str:
        bad_rows.append(int(row.number) - 2)
        return "skip"

    joined = pa.py_buffer(_join(lines, header))
    table = pcsv.read_csv(
        pa.BufferReader(joined),
        read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 26),
        parse_options=pcsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )
    good = numbers
    if bad_rows:
        good = numbers[np.setdiff1d(np.arange(len(lines)), np.array(bad_rows, dtype=np.int64))]
    table = table.add_column(0, "line_no", pa.array(good, pa.int64()))
    if bad_rows:
        texts = [lines[int(i)].as_py() for i in bad_rows]
        extra, rejects = _python_rows(
            texts, numbers[bad_rows], header, name, max_bytes, source, rejects
        )
        table = pa.concat_tables([table, extra.cast(table.schema)])
    return table, rejects


def _simple(lines: pa.Array) -> bool:
    """True when every line holds an even number of quotes (so each line is one record)."""
    quotes = pc.count_substring(lines, '"')
    return not pc.any(pc.not_equal(pc.bit_wise_and(quotes, 1), 0)).as_py()


def _join(lines: pa.Array, header: list[str]) -> bytes:
    """The header and the lines as one CSV text (each line ends in a newline), built in Arrow."""
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(header)
    large = lines.cast(pa.large_string())
    sep = pa.scalar("\n", pa.large_string())
    ended = pc.binary_join_element_wise(large, pa.scalar("", pa.large_string()), sep)
    offsets = np.frombuffer(ended.buffers()[1], dtype=np.int64)[ended.offset :]
    start, end = int(offsets[0]), int(offsets[len(ended)])
    body: bytes = ended.buffers()[2].slice(start, end - start).to_pybytes()
    return head.getvalue().encode("utf-8") + body


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
