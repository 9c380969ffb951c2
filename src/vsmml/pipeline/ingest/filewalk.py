"""Find the input files of a file source and read JSON / JSON Lines files into located records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.errors import DataError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES, parse_records
from vsmml.pipeline.ingest.readers import expand


def expand_paths(paths: Sequence[str | Path], *, suffixes: Sequence[str]) -> list[Path]:
    """Files named, globbed or found (recursively, by suffix) under folders, in sorted order.

    Raises `DataError` naming the path when a path matches nothing.
    """
    found, missing = expand(paths, suffixes)
    if missing:
        raise DataError(f"path {missing[0]!r}: no such file, folder or glob match")
    return found


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
