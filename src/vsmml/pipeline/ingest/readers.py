"""Split input files (and standard input) into raw payloads, streaming: one JSON document, one
JSON Lines line, or one CSV row each, located as `file.json`, `file.jsonl:12` or `file.csv:3`.

Files are read in blocks, never whole, so memory does not grow with the file. Each line is
decoded on its own, so one line that is not UTF-8 is refused while its neighbours land; a line
above the size limit is refused after reading `max_bytes` of it (the rest is skipped unread).
"""

from __future__ import annotations

import csv
import glob
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final

from vsmml.events.connectors.base import Reject
from vsmml.events.connectors.payloads import clip, oversize
from vsmml.pipeline.ingest.limits import too_deep

LINE_SUFFIXES: Final = (".jsonl", ".ndjson")
BLOCK_BYTES: Final = 1 << 20
Unit = tuple[str, str]


def expand(paths: Sequence[str | Path], suffixes: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files named, globbed or found under folders (recursively, by suffix), sorted per argument,
    and the arguments that matched nothing."""
    found: list[Path] = []
    missing: list[str] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes))
        elif path.is_file():
            found.append(path)
        else:
            hits = sorted(Path(p) for p in glob.glob(str(item), recursive=True))
            files = [p for p in hits if p.is_file()]
            if files:
                found.extend(files)
            else:
                missing.append(str(item))
    return found, missing


def raw_lines(
    stream: BinaryIO, max_bytes: int, *, first: int = 1
) -> Iterator[tuple[int, bytes, int]]:
    """Each line of a binary stream as (line number, bytes without the newline, size).

    A line longer than `max_bytes` comes back cut to its first `max_bytes + 1` bytes with its
    full size; the rest of it is read past, never kept.
    """
    number = first
    pending = bytearray()
    size = 0
    while block := stream.read(BLOCK_BYTES):
        start = 0
        while (end := block.find(b"\n", start)) >= 0:
            if not pending and not size:  # the whole line is in this block: one copy
                piece = block[start:end]
                yield (
                    number,
                    piece if len(piece) <= max_bytes else piece[: max_bytes + 1],
                    len(piece),
                )
                number += 1
                start = end + 1
                continue
            piece = block[start:end]
            size += len(piece)
            if len(pending) <= max_bytes:
                pending += piece[: max_bytes + 1 - len(pending)]
            yield number, bytes(pending), size
            number += 1
            pending.clear()
            size = 0
            start = end + 1
        rest = block[start:]
        size += len(rest)
        if len(pending) <= max_bytes:
            pending += rest[: max_bytes + 1 - len(pending)]
    if size or pending:
        yield number, bytes(pending), size


def line_units(
    stream: BinaryIO, name: str, max_bytes: int, *, source: str, first: int = 1
) -> Iterator[Unit | Reject]:
    """The non-blank lines of a stream as payloads `name:line`; bad lines become rejects."""
    for number, data, size in raw_lines(stream, max_bytes, first=first):
        where = f"{name}:{number}"
        if size > max_bytes:
            yield oversize(source, where, size, max_bytes, data[:2048])
            continue
        try:
            text = data.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            head = data[:2048].decode("utf-8", "replace")
            yield Reject(source, where, "payload", f"is not UTF-8 text ({exc.reason})", head)
            continue
        if text:
            yield where, text


def split_text(
    text: str, name: str, max_bytes: int, *, source: str, lines: bool = False
) -> Iterator[Unit | Reject]:
    """A whole JSON document as one payload, or each non-blank line when it is JSON Lines."""
    data = text.encode("utf-8", "surrogatepass")
    if not lines:
        body = text.strip()
        if not body:
            yield Reject(source, name, "payload", "is empty", "")
            return
        lines = "\n" in body and _first_line_is_json(data)
        if not lines:
            if len(body.encode("utf-8", "surrogatepass")) > max_bytes:
                yield oversize(source, name, len(data), max_bytes, body[:2048])
            else:
                yield name, body
            return
    yield from line_units(io.BytesIO(data), name, max_bytes, source=source)


def _first_line_is_json(data: bytes) -> bool:
    """True when the first non-blank line is a JSON value on its own (then: JSON Lines)."""
    for line in data.splitlines():
        if line.strip():
            return _is_json(line)
    return False


def _is_json(data: bytes) -> bool:
    if too_deep(data, 64) is not None:
        return False
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def split_json(path: Path, max_bytes: int, *, source: str) -> Iterator[Unit | Reject]:
    """A JSON / JSON Lines file as raw payloads, read in blocks (see `split_text`).

    `.jsonl` / `.ndjson` files are JSON Lines; a `.json` file is one document, unless its first
    line is a JSON value on its own (JSON Lines saved as `.json`).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(min(size, max_bytes + 1))
            lines = path.suffix in LINE_SUFFIXES or (
                b"\n" in head.strip() and _first_line_is_json(head[: head.find(b"\n") + 1])
            )
            if lines:
                handle.seek(0)
                yield from line_units(handle, path.name, max_bytes, source=source)
                return
            if size > max_bytes:
                yield oversize(source, path.name, size, max_bytes, head[:2048])
                return
        text = head.decode("utf-8")
    except OSError as exc:
        yield Reject(source, str(path), "file", f"cannot be read ({exc.strerror or exc})", "")
        return
    except UnicodeDecodeError as exc:
        yield Reject(source, str(path), "file", f"is not UTF-8 text ({exc.reason})", "")
        return
    yield from split_text(text, path.name, max_bytes, source=source, lines=False)


def _decoded_lines(stream: BinaryIO, name: str, source: str, bad: list[Reject]) -> Iterator[str]:
    """Each physical line decoded on its own; an undecodable one is noted in `bad` and read as
    an empty line (which the CSV reader skips), so the rows around it survive."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            head = raw[:2048].decode("utf-8", "replace")
            bad.append(
                Reject(source, f"{name}:{number}", "row", f"is not UTF-8 text ({exc.reason})", head)
            )
            yield "\n"


def split_csv_rows(
    path: Path | None,
    max_bytes: int,
    *,
    source: str,
    text: str | None = None,
    stream: BinaryIO | None = None,
) -> Iterator[Unit | Reject]:
    """Each CSV row as a JSON object text (`{"column": "cell", ...}`) located `file.csv:line`.

    Rows are read one at a time; a row that is not UTF-8, has more cells than the header or is
    above the size limit is refused by its line number while the others land.
    """
    name = path.name if path is not None else "stdin"
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        if stream is not None:
            handle: BinaryIO = stream
        elif text is not None:
            handle = io.BytesIO(text.encode("utf-8", "surrogatepass"))
        else:
            assert path is not None
            handle = path.open("rb")
        with handle if stream is None else _keep_open(handle):
            yield from _csv_rows(handle, name, max_bytes, source)
    except OSError as exc:
        yield Reject(source, str(path or name), "file", f"cannot be read ({exc.strerror})", "")


def _csv_rows(handle: BinaryIO, name: str, max_bytes: int, source: str) -> Iterator[Unit | Reject]:
    bad: list[Reject] = []
    reader = csv.reader(_decoded_lines(handle, name, source, bad))
    header: list[str] | None = None
    line = 1  # where the next row starts
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Reject(source, f"{name}:{line}", "row", f"cannot be read as CSV ({exc})", "")
            line = reader.line_num + 1
            continue
        where, line = f"{name}:{line}", reader.line_num + 1
        yield from bad
        bad.clear()
        if not cells:
            continue
        if header is None:
            header = cells
            continue
        if len(cells) > len(header):
            reason = "has more cells than the header has columns"
            yield Reject(source, where, "row", reason, clip(json.dumps(cells)))
            continue
        row = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=True))
        body = json.dumps(row)
        if len(body) > max_bytes:
            yield oversize(source, where, len(body), max_bytes, body[:2048])
        else:
            yield where, body
    yield from bad
    if header is None:
        yield Reject(source, name, "file", "is empty (no CSV header)", "")


class _keep_open:  # noqa: N801 - a context manager that leaves the stream to its owner
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def __enter__(self) -> BinaryIO:
        return self.handle

    def __exit__(self, *exc: object) -> None:
        return None


def stdin_units(
    suffixes: Iterable[str], max_bytes: int, *, source: str, stream: BinaryIO | None = None
) -> Iterator[Unit | Reject]:
    """Standard input as payloads: CSV rows for CSV-only sources, else JSON Lines."""
    handle = stream if stream is not None else sys.stdin.buffer
    kinds = set(suffixes)
    if ".csv" in kinds and ".json" not in kinds:
        yield from split_csv_rows(None, max_bytes, source=source, stream=handle)
    else:
        yield from line_units(handle, "stdin", max_bytes, source=source)
