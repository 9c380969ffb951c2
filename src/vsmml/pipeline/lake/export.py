"""`vsmml lake export`: the store's events into the Parquet lake, only what is new since last time.

How what was exported is tracked: the manifest lists every lake file with its (service, month)
partition, row count and fingerprint (the sum of ``hash(event_id)`` over its rows). An export
first compares the store's total count and fingerprint with the manifest's (one scan of the
``event_id`` column); if they match, nothing is read or written. Otherwise it computes the same
pair per partition in the store, and only partitions whose pair differs are touched: their new
events (store rows whose ``event_id`` is not in that partition's files, an anti-join against
those files only) are appended as one new file per partition. The store keeps the first event
of each id and never rewrites it, so a partition that still disagrees after the append (the
store lost events, or the lake was edited by hand) is rewritten from the store; a partition
that left the store is dropped. Files are written before the manifest is replaced, so an
interrupted export leaves the previous manifest valid; its stray files are deleted next time.

Why several COPY statements: DuckDB holds a partitioned COPY's output buffers outside its
``memory_limit`` until the statement ends, so one COPY of 10 M events into ~950 partitions
peaked at 2.0 GiB against a 2 GB limit. Partitions are therefore written in groups of about
`ROWS_PER_COPY` store rows (0.9 GiB peak for the same store, and three times faster). And the
export gives DuckDB only `POOL_SHARE` of the configured limit: the cached blocks of a store
larger than the limit fill DuckDB's pool up to it, and the COPYs' writers, Arrow and Python
need room beside it (50 M events: 2.7 GiB with the whole 2 GB limit as the pool).

The store is opened read-only and closed before this returns (workers read the lake, never the
store's DuckDB file).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from vsmml.config import Settings, get_settings, memory_bytes
from vsmml.errors import LakeError
from vsmml.events.schema import EVENT_COLUMNS, TIME_COLUMNS
from vsmml.pipeline.lake.manifest import (
    EVENTS_DIR,
    MANIFEST_FILE,
    LakeFile,
    Manifest,
    PartitionKey,
    lake_lock,
    load_manifest,
    orphans,
    save_manifest,
)
from vsmml.pipeline.lake.read import file_list
from vsmml.store import Store

_COLUMNS: Final[str] = ", ".join(
    f"timezone('UTC', e.{c}) AS {c}" if c in TIME_COLUMNS else f"e.{c} AS {c}"
    for c in EVENT_COLUMNS
)
_MONTH: Final[str] = "strftime(e.ts, '%Y-%m')"
_PARTS: Final[str] = "_vsmml_lake_parts"
ROWS_PER_COPY: Final[int] = 500_000
POOL_SHARE: Final[float] = 0.5


@dataclass(frozen=True)
class ExportReport:
    """What one export did: the batch written (None: the lake was already up to date), events
    appended, partitions appended to and rewritten, stray files removed, and the lake's size."""

    lake: Path
    batch: int | None
    new_rows: int
    appended: int
    rewritten: int
    dropped: int
    removed_files: int
    rows: int
    partitions: int
    files: int
    seconds: float
    full: bool = False

    @property
    def up_to_date(self) -> bool:
        """True when the lake already held exactly the store's events."""
        return self.batch is None


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _totals(con: Any) -> tuple[int, int]:
    rows, fp = con.execute(
        "SELECT count(*), coalesce(sum(hash(event_id))::HUGEINT, 0) FROM events"
    ).fetchall()[0]
    return int(rows), int(fp)


def _store_partitions(con: Any) -> dict[PartitionKey, tuple[int, int]]:
    rows = con.execute(
        f"""SELECT e.service, {_MONTH} AS month, count(*), sum(hash(e.event_id))::HUGEINT
            FROM events e GROUP BY ALL"""
    ).fetchall()
    return {(s, str(m)): (int(n), int(fp)) for s, m, n, fp in rows}


def _copy(con: Any, root: Path, where: str, batch: int) -> list[Path]:
    """Write the store rows matching `where` into the lake, one file per partition."""
    target = root / EVENTS_DIR
    target.mkdir(parents=True, exist_ok=True)
    # no ORDER BY: a global sort of every column spills at scale, and readers order rows by
    # (ts, event_id) themselves
    select = f"SELECT {_COLUMNS}, {_MONTH} AS month FROM events e WHERE {where}"
    rows = con.execute(
        f"""COPY ({select}) TO {_quote(target)} (FORMAT parquet, COMPRESSION zstd,
            PARTITION_BY (service, month), WRITE_PARTITION_COLUMNS true, APPEND,
            FILENAME_PATTERN 'part-{batch:06d}-{{uuid}}', RETURN_FILES true)"""
    ).fetchall()
    if not rows or not rows[0][0]:
        return []
    return [Path(p) for p in rows[0][1]]


def _stats(con: Any, root: Path, paths: list[Path], batch: int) -> list[LakeFile]:
    """Partition, rows and fingerprint of freshly written files (read back from the files)."""
    if not paths:
        return []
    rows = con.execute(
        f"""SELECT filename, service, month, count(*), sum(hash(event_id))::HUGEINT
            FROM read_parquet({file_list(paths)}, filename = true, hive_partitioning = false)
            GROUP BY ALL"""
    ).fetchall()
    seen: set[str] = set()
    out = []
    for name, service, month, n, fp in rows:
        rel = Path(name).resolve().relative_to(root.resolve()).as_posix()
        if rel in seen:
            raise LakeError(f"{name}: holds more than one (service, month) partition")
        seen.add(rel)
        out.append(LakeFile(rel, service, str(month), int(n), int(fp), batch))
    return out


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _only(con: Any, keys: list[PartitionKey]) -> str:
    """Register `keys` and return the condition keeping the store rows of those partitions.

    The service list in front lets DuckDB skip row groups of other services before the
    per-row (service, month) test.
    """
    frame = pd.DataFrame(
        {"service": [k[0] for k in keys], "month": [k[1] for k in keys]}, dtype=object
    )
    con.register(_PARTS, frame)
    services = sorted({k[0] for k in keys if k[0] is not None})
    scope = [f"e.service IN ({', '.join(map(_literal, services))})"] if services else []
    if any(k[0] is None for k in keys):
        scope.append("e.service IS NULL")
    return (
        f"({' OR '.join(scope)}) AND EXISTS (SELECT 1 FROM {_PARTS} p"
        f" WHERE p.service IS NOT DISTINCT FROM e.service AND p.month = {_MONTH})"
    )


def groups(
    keys: list[PartitionKey], sizes: dict[PartitionKey, tuple[int, int]], budget: int
) -> list[list[PartitionKey]]:
    """`keys` in order, cut into runs of at most `budget` store rows (a bigger partition alone)."""
    out: list[list[PartitionKey]] = []
    run: list[PartitionKey] = []
    rows = 0
    for k in keys:
        n = sizes.get(k, (0, 0))[0]
        if run and rows + n > budget:
            out.append(run)
            run, rows = [], 0
        run.append(k)
        rows += n
    if run:
        out.append(run)
    return out


def _write(
    con: Any,
    root: Path,
    keys: list[PartitionKey],
    sizes: dict[PartitionKey, tuple[int, int]],
    batch: int,
    budget: int,
    lake: Manifest | None,
) -> list[LakeFile]:
    """Write the store rows of partitions `keys`, group by group; with `lake`, only the rows
    whose event id that partition's lake files do not hold yet."""
    written: list[LakeFile] = []
    for run in groups(keys, sizes, budget):
        where = _only(con, run)
        existing = lake.files_of(run) if lake is not None else []
        if lake is not None and existing:
            where += (
                f" AND NOT EXISTS (SELECT 1 FROM read_parquet({file_list(lake.paths(existing))},"
                " hive_partitioning = false) l WHERE l.event_id = e.event_id)"
            )
        written += _stats(con, root, _copy(con, root, where, batch), batch)
    return written


def _clear(root: Path) -> None:
    """Remove a lake's files and manifest (for `--full`), keeping the folder and its lock."""
    shutil.rmtree(root / EVENTS_DIR, ignore_errors=True)
    (root / MANIFEST_FILE).unlink(missing_ok=True)


def export_lake(
    settings: Settings | None = None,
    *,
    path: Path | None = None,
    full: bool = False,
    rows_per_copy: int = ROWS_PER_COPY,
) -> ExportReport:
    """Bring the lake (default ``VSMML_LAKE``, else ``$VSMML_HOME/lake``) up to the store.

    Args:
        settings: where the store is and its DuckDB limits.
        path: another lake folder to export to.
        full: rewrite the whole lake from the store instead of adding what is new.
        rows_per_copy: store rows written per COPY statement (bounds the export's memory).
    """
    s = settings or get_settings()
    root = (path or s.lake_path).expanduser()
    t0 = time.perf_counter()
    with lake_lock(root):
        if full:
            _clear(root)
        manifest = load_manifest(root)
        stray = orphans(manifest)
        with Store.from_settings(s, read_only=True) as store:
            con = store.connection
            con.execute("SET enable_progress_bar = false")
            pool = int(memory_bytes(s.duckdb_memory_limit) * POOL_SHARE)
            con.execute(f"SET memory_limit = '{pool}B'")
            if _totals(con) == (manifest.rows, manifest.fingerprint) and not stray and not full:
                return _report(root, manifest, None, 0, 0, 0, 0, 0, t0, full)
            batch = manifest.batch + 1
            result = _export(con, root, manifest, batch, rows_per_copy)
        kept, obsolete, new_rows, appended, rewritten, dropped = result
        manifest.files = kept
        manifest.exports.append(
            {
                "batch": batch,
                "at": pd.Timestamp.now(tz="UTC").isoformat(),
                "new_rows": new_rows,
                "rows": manifest.rows,
                "appended": appended,
                "rewritten": rewritten,
                "dropped": dropped,
            }
        )
        save_manifest(manifest)
        removed = [*obsolete, *orphans(manifest)]
        for p in removed:
            p.unlink(missing_ok=True)
    return _report(
        root, manifest, batch, new_rows, appended, rewritten, dropped, len(removed), t0, full
    )


def _export(
    con: Any, root: Path, manifest: Manifest, batch: int, budget: int
) -> tuple[list[LakeFile], list[Path], int, int, int, int]:
    """Append new events, rewrite disagreeing partitions, drop vanished ones; returns the files
    to keep, the files to delete after the manifest is saved, and what was done."""
    store_parts = _store_partitions(con)
    lake_parts = manifest.partitions()
    changed = sorted(
        (k for k, v in store_parts.items() if lake_parts.get(k) != v),
        key=lambda k: (k[0] is None, k[0] or "", k[1]),
    )
    gone = [k for k in lake_parts if k not in store_parts]
    fresh = _write(con, root, changed, store_parts, batch, budget, manifest)
    after: dict[PartitionKey, tuple[int, int]] = dict(lake_parts)
    for f in fresh:
        rows, fp = after.get(f.key, (0, 0))
        after[f.key] = (rows + f.rows, fp + f.fingerprint)
    redo = [k for k in changed if after.get(k, (0, 0)) != store_parts[k]]
    new_rows = sum(f.rows for f in fresh)
    appended = len({f.key for f in fresh})
    replaced: set[PartitionKey] = set(redo) | set(gone)
    files = [f for f in [*manifest.files, *fresh] if f.key not in replaced]
    obsolete = [root / f.path for f in [*manifest.files, *fresh] if f.key in replaced]
    files += _write(con, root, redo, store_parts, batch, budget, None)
    return files, obsolete, new_rows, appended, len(redo), len(gone)


def _report(
    root: Path,
    manifest: Manifest,
    batch: int | None,
    new_rows: int,
    appended: int,
    rewritten: int,
    dropped: int,
    removed: int,
    t0: float,
    full: bool,
) -> ExportReport:
    return ExportReport(
        lake=root,
        batch=batch,
        new_rows=new_rows,
        appended=appended,
        rewritten=rewritten,
        dropped=dropped,
        removed_files=removed,
        rows=manifest.rows,
        partitions=len(manifest.partitions()),
        files=len(manifest.files),
        seconds=time.perf_counter() - t0,
        full=full,
    )
