"""Split input files (and standard input) into raw payloads: one JSON document, one JSON Lines
line, or one CSV row each, located as `file.json`, `file.jsonl:12` or `file.csv:3`.

Oversize payloads are refused here, before anything is read into memory when the file size
already tells: a 50 MB single JSON document never reaches the converter.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from vsmml.events.connectors.base import Reject
from vsmml.events.connectors.payloads import clip, oversize

_LINE_SUFFIXES = (".jsonl", ".ndjson")


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


def _lines(
    text: str, name: str, max_bytes: int, source: str, first: int = 1
) -> Iterator[tuple[str, str] | Reject]:
    for number, line in enumerate(text.split("\n"), start=first):
        stripped = line.strip()
        if not stripped:
            continue
        where = f"{name}:{number}"
        if len(stripped) > max_bytes:
            yield oversize(source, where, len(stripped), max_bytes, stripped[:2048])
        else:
            yield where, stripped


def split_text(
    text: str, name: str, max_bytes: int, *, source: str, lines: bool = False
) -> Iterator[tuple[str, str] | Reject]:
    """A whole JSON document as one payload, or each non-blank line when it is JSON Lines."""
    if not lines:
        body = text.strip()
        if not body:
            yield Reject(source, name, "payload", "is empty", "")
            return
        try:
            json.loads(body)
        except ValueError:
            lines = "\n" in body
        except RecursionError:
            pass
        if not lines:
            if len(body) > max_bytes:
                yield oversize(source, name, len(body), max_bytes, body[:2048])
            else:
                yield name, body
            return
    yield from _lines(text, name, max_bytes, source)


def split_json(path: Path, max_bytes: int, *, source: str) -> Iterator[tuple[str, str] | Reject]:
    """A JSON / JSON Lines file as raw payloads (see `split_text`)."""
    try:
        size = path.stat().st_size
        lines = path.suffix in _LINE_SUFFIXES
        if not lines and size > max_bytes:
            with path.open("rb") as fh:
                head = fh.read(min(size, max_bytes + 1))
            first = head.split(b"\n", 1)[0]
            if b"\n" not in head or not _is_json(first):
                yield oversize(source, path.name, size, max_bytes, head[:2048])
                return
            lines = True
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        yield Reject(source, str(path), "file", f"cannot be read ({exc})", "")
        return
    except UnicodeDecodeError as exc:
        yield Reject(source, str(path), "file", f"is not UTF-8 text ({exc})", "")
        return
    yield from split_text(text, path.name, max_bytes, source=source, lines=lines)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def split_csv_rows(
    path: Path | None, max_bytes: int, *, source: str, text: str | None = None
) -> Iterator[tuple[str, str] | Reject]:
    """Each CSV row as a JSON object text (`{"column": "cell", ...}`) located `file.csv:line`."""
    name = path.name if path is not None else "stdin"
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        handle = io.StringIO(text) if text is not None else path.open(newline="", encoding="utf-8")  # type: ignore[union-attr]
        with handle:
            reader = csv.DictReader(handle)
            line = 2
            for row in reader:
                where = f"{name}:{line}"
                line = reader.line_num + 1
                if None in row:
                    yield Reject(
                        source,
                        where,
                        "row",
                        "has more cells than the header has columns",
                        clip(json.dumps(row, default=str)),
                    )
                    continue
                body = json.dumps(row)
                if len(body) > max_bytes:
                    yield oversize(source, where, len(body), max_bytes, body[:2048])
                else:
                    yield where, body
            if reader.fieldnames is None:
                yield Reject(source, name, "file", "is empty (no CSV header)", "")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        yield Reject(source, str(path or name), "file", f"cannot be read as CSV ({exc})", "")
