"""`vsmml lake import` and `vsmml lake status`: a lake into the store, and what a lake holds.

Import reads a lake (this format, with its manifest, or any folder of Parquet files with the
canonical event columns) a few files at a time and writes each group through the store's own
write path (`Store.write_events`): events are validated, de-duplicated by ``event_id`` (so
importing twice changes nothing) and bad rows quarantined with their reasons, all counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import LakeError
from vsmml.events.schema import EVENT_COLUMNS, REQUIRED_COLUMNS
from vsmml.pipeline.lake.manifest import (
    MANIFEST_FILE,
    Manifest,
    load_manifest,
    orphans,
)
from vsmml.pipeline.lake.read import connect, file_list
from vsmml.store import Store


@dataclass(frozen=True)
class ImportReport:
    """Rows read from the lake and what the store made of them."""

    lake: Path
    files: int
    read: int
    accepted: int
    duplicates: int
    quarantined: int
    messages: tuple[str, ...]
    seconds: float


def _files(root: Path) -> list[Path]:
    """The lake's files: the manifest's when there is one, else every Parquet file under it."""
    if (root / MANIFEST_FILE).exists():
        return load_manifest(root).paths()
    found = sorted(root.rglob("*.parquet")) if root.is_dir() else []
    if root.is_file() and root.suffix == ".parquet":
        found = [root]
    if not found:
        raise LakeError(f"{root}: no lake manifest and no Parquet files")
    return found


def _groups(files: list[Path], rows_per_group: int, memory_limit: str) -> Iterator[pd.DataFrame]:
    """Canonical-column frames of a few files at a time (about `rows_per_group` rows each)."""
    with connect(memory_limit) as con:
        counts = con.execute(
            f"""SELECT filename, count(*) FROM read_parquet({file_list(files)}, filename = true,
                hive_partitioning = false, union_by_name = true) GROUP BY filename"""
        ).fetchall()
        sizes = {str(Path(f)): int(n) for f, n in counts}
        columns = [
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({file_list(files)}, "
                "hive_partitioning = false, union_by_name = true)"
            ).fetchall()
        ]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise LakeError(f"lake files lack the required column(s) {missing}")
        select = ", ".join(c if c in columns else f"NULL::VARCHAR AS {c}" for c in EVENT_COLUMNS)
        group: list[Path] = []
        size = 0
        for f in files:
            group.append(f)
            size += sizes.get(str(f), 0)
            if size >= rows_per_group or f == files[-1]:
                yield con.sql(
                    f"SELECT {select} FROM read_parquet({file_list(group)}, "
                    "hive_partitioning = false, union_by_name = true)"
                ).df()
                group, size = [], 0


def import_lake(path: Path, settings: Settings | None = None) -> ImportReport:
    """Write every event of the lake at `path` into the store under VSMML_HOME."""
    s = settings or get_settings()
    root = path.expanduser()
    if not root.exists():
        raise LakeError(f"{root}: no such lake")
    t0 = time.perf_counter()
    files = _files(root)
    read = accepted = duplicates = quarantined = 0
    messages: list[str] = []
    with Store.from_settings(s) as store:
        for frame in _groups(files, s.ingest_chunk_rows, s.duckdb_memory_limit):
            read += len(frame)
            report = store.write_events(frame)
            accepted += report.accepted
            duplicates += report.duplicates
            quarantined += report.quarantined
            messages += report.messages
    return ImportReport(
        root,
        len(files),
        read,
        accepted,
        duplicates,
        quarantined,
        tuple(messages[:20]),
        time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class LakeStatus:
    """A lake's size per service, its last export, and whether it matches the store."""

    lake: Path
    exists: bool
    rows: int
    files: int
    partitions: int
    batches: int
    last_export: str | None
    services: pd.DataFrame
    store_rows: int | None
    in_sync: bool | None
    stray_files: int


def lake_status(settings: Settings | None = None, *, path: Path | None = None) -> LakeStatus:
    """Rows, files and months per service of the lake, and whether it holds the store's events."""
    s = settings or get_settings()
    root = (path or s.lake_path).expanduser()
    manifest = load_manifest(root)
    frame = _per_service(manifest)
    store_rows: int | None = None
    in_sync: bool | None = None
    if s.store_path.exists() and path is None:
        with Store.from_settings(s, read_only=True) as store:
            rows, fp = store.connection.execute(
                "SELECT count(*), coalesce(sum(hash(event_id))::HUGEINT, 0) FROM events"
            ).fetchall()[0]
        store_rows = int(rows)
        in_sync = (int(rows), int(fp)) == (manifest.rows, manifest.fingerprint)
    last = manifest.exports[-1]["at"] if manifest.exports else None
    return LakeStatus(
        lake=root,
        exists=(root / MANIFEST_FILE).exists(),
        rows=manifest.rows,
        files=len(manifest.files),
        partitions=len(manifest.partitions()),
        batches=manifest.batch,
        last_export=None if last is None else str(last),
        services=frame,
        store_rows=store_rows,
        in_sync=in_sync,
        stray_files=len(orphans(manifest)),
    )


def _per_service(manifest: Manifest) -> pd.DataFrame:
    cols = ["service", "events", "files", "months", "first month", "last month"]
    if not manifest.files:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(
        {
            "service": [f.service if f.service is not None else "(none)" for f in manifest.files],
            "month": [f.month for f in manifest.files],
            "rows": [f.rows for f in manifest.files],
        }
    )
    out = frame.groupby("service", sort=True).agg(
        events=("rows", "sum"),
        files=("rows", "size"),
        months=("month", "nunique"),
        first=("month", "min"),
        last=("month", "max"),
    )
    out = out.reset_index().rename(columns={"first": "first month", "last": "last month"})
    return out[cols]
