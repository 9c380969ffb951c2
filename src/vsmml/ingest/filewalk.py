"""Find the input files of a file source and read JSON / JSON Lines files into located records."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.errors import DataError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES, parse_records


def expand_paths(paths: Sequence[str | Path], *, suffixes: Sequence[str]) -> list[Path]:
    """Files named, globbed or found (recursively, by suffix) under folders, in sorted order.

    Raises `DataError` naming the path when a path matches nothing.
    """
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes))
        elif path.is_file():
            out.append(path)
        else:
            matches = sorted(Path(p) for p in glob.glob(str(item), recursive=True))
            files = [p for p in matches if p.is_file()]
            if not files:
                raise DataError(f"path {str(item)!r}: no such file, folder or glob match")
            out.extend(files)
    return out


def read_json_records(
    path: Path, source: str, *, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> tuple[list[tuple[str, Any]], Conversion]:
    """A JSON document, array or JSON Lines file as (location, value) pairs, plus rejects."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reject = Reject(source, str(path), "file", f"cannot be read ({exc})", "")
        return [], Conversion(rejects=[reject])
    records, rejects = parse_records(data, source=source, location=path.name, max_bytes=max_bytes)
    return [(r.location, r.value) for r in records], Conversion(rejects=rejects)
