"""The lake's manifest: which Parquet file holds which (service, month) partition.

The manifest (``_vsmml_lake.json`` at the lake's root) is the commit point of every export: files
are written first, the manifest is replaced atomically after, and files it does not list are
leftovers of an interrupted export (the next export deletes them). Each file records its rows and
a fingerprint, the sum of DuckDB's ``hash(event_id)`` over its rows; a partition's fingerprint is
the sum over its files, compared with the same sum over the store's events of that partition to
find what changed since the last export without reading the lake.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from vsmml.errors import LakeError

LAKE_FORMAT: Final[str] = "vsmml-lake/1"
MANIFEST_FILE: Final[str] = "_vsmml_lake.json"
LOCK_FILE: Final[str] = ".vsmml_lake.lock"
EVENTS_DIR: Final[str] = "events"
PARTITIONING: Final[tuple[str, str]] = ("service", "month")
"""Hive-style directories ``service=<name>/month=<YYYY-MM>`` (UTC month of ``ts``)."""

PartitionKey = tuple[str | None, str]
"""(service, month); service is None for events without one."""


@dataclass(frozen=True)
class LakeFile:
    """One Parquet file of the lake: its path (relative to the root), partition, rows,
    fingerprint and the export batch that wrote it."""

    path: str
    service: str | None
    month: str
    rows: int
    fingerprint: int
    batch: int

    @property
    def key(self) -> PartitionKey:
        """The (service, month) partition the file belongs to."""
        return (self.service, self.month)


@dataclass
class Manifest:
    """Every file of a lake and the history of its exports (batch, time, rows)."""

    root: Path
    files: list[LakeFile] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def batch(self) -> int:
        """Number of the last export (0 for an empty lake)."""
        return max((int(e["batch"]) for e in self.exports), default=0)

    @property
    def rows(self) -> int:
        """Events in the lake."""
        return sum(f.rows for f in self.files)

    @property
    def fingerprint(self) -> int:
        """Sum of ``hash(event_id)`` over every event in the lake."""
        return sum(f.fingerprint for f in self.files)

    def partitions(self) -> dict[PartitionKey, tuple[int, int]]:
        """(rows, fingerprint) of each (service, month) partition."""
        out: dict[PartitionKey, tuple[int, int]] = {}
        for f in self.files:
            rows, fp = out.get(f.key, (0, 0))
            out[f.key] = (rows + f.rows, fp + f.fingerprint)
        return out

    def files_of(self, keys: Iterable[PartitionKey]) -> list[LakeFile]:
        """The files of the given partitions."""
        wanted = set(keys)
        return [f for f in self.files if f.key in wanted]

    def paths(self, files: Iterable[LakeFile] | None = None) -> list[Path]:
        """Absolute paths of `files` (default: every file of the lake)."""
        return [self.root / f.path for f in (self.files if files is None else files)]


def _file_from(record: dict[str, Any]) -> LakeFile:
    return LakeFile(
        path=str(record["path"]),
        service=None if record["service"] is None else str(record["service"]),
        month=str(record["month"]),
        rows=int(record["rows"]),
        fingerprint=int(record["fingerprint"]),
        batch=int(record["batch"]),
    )


def load_manifest(root: Path) -> Manifest:
    """The manifest of the lake at `root` (an empty one when the lake does not exist yet)."""
    path = root / MANIFEST_FILE
    if not path.exists():
        return Manifest(root)
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format") != LAKE_FORMAT:
            raise LakeError(
                f"{path}: not a {LAKE_FORMAT} lake (format {data.get('format')!r}); "
                "export to another folder or rebuild it with `vsmml lake export --full`"
            )
        files = [_file_from(r) for r in data["files"]]
        exports = [dict(e) for e in data["exports"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LakeError(
            f"{path}: unreadable lake manifest ({exc}); rebuild with `vsmml lake export --full`"
        ) from exc
    return Manifest(root, files, exports)


def save_manifest(manifest: Manifest) -> None:
    """Replace the manifest atomically (write a temporary file, then rename it)."""
    files = []
    for f in sorted(manifest.files, key=lambda f: (f.service is None, f.service or "", f.month)):
        record = asdict(f)
        record["fingerprint"] = str(f.fingerprint)  # HUGEINT: past what JSON numbers carry
        files.append(record)
    data = {
        "format": LAKE_FORMAT,
        "partitioning": list(PARTITIONING),
        "rows": manifest.rows,
        "exports": manifest.exports,
        "files": files,
    }
    manifest.root.mkdir(parents=True, exist_ok=True)
    path = manifest.root / MANIFEST_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def orphans(manifest: Manifest) -> list[Path]:
    """Parquet files under the lake's events folder that the manifest does not list."""
    listed = {manifest.root / f.path for f in manifest.files}
    folder = manifest.root / EVENTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if p not in listed)


@contextlib.contextmanager
def lake_lock(root: Path) -> Iterator[None]:
    """Hold the lake's lock file for one writer at a time (released even if the process dies)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LakeError(f"{root}: another export or import is writing this lake") from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
