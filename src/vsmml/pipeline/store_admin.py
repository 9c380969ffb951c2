"""`vsmml store check|backup|restore`: is the store whole, a consistent copy of it, and putting one
back after verifying it.

* check reads every block of every table (DuckDB verifies each checksum) besides the checks
  every open makes, and reports the tables' row counts;
* backup holds the store exclusively (no writer can run meanwhile), folds the write-ahead log
  into the file (CHECKPOINT), copies it, and verifies the copy before giving it its name;
* restore verifies the backup first, refuses while another process holds the store, keeps the
  store it replaces beside it (`vsmml.duckdb.replaced-<time>`, never deleted), and records the
  restored file's state so the next open knows it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from vsmml.config import Settings
from vsmml.errors import StoreError
from vsmml.store import Store
from vsmml.store.health import (
    StoreState,
    check_tables,
    corrupt,
    fingerprint,
    is_corruption,
    is_lock_error,
    table_counts,
    translate,
    verify_blocks,
    wal_path,
)
from vsmml.store.schema import COLUMNS, SCHEMA_VERSION, current_version

__all__ = ["StoreCheck", "backup_store", "check_store", "restore_store"]


@dataclass(frozen=True)
class StoreCheck:
    """A verified store (or backup): where, how big, its schema version and row counts."""

    path: Path
    size_bytes: int
    schema_version: int
    counts: dict[str, int]
    seconds: float

    def summary(self) -> str:
        """One line for people."""
        rows = ", ".join(f"{t} {n:,}" for t, n in self.counts.items())
        return (
            f"{self.path}: whole (every block read, checksums verified); schema v"
            f"{self.schema_version}; {rows} ({self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class RestoreResult:
    """What `restore` put in place and where the store it replaced went."""

    restored: StoreCheck
    replaced: Path | None


def check_store(settings: Settings) -> StoreCheck:
    """Verify the store under `settings.home` block by block; `StoreCorruptError` when damaged."""
    path = settings.store_path
    start = time.perf_counter()
    with Store.from_settings(settings, read_only=True) as store:
        verify_blocks(store.connection, path)
        counts = table_counts(store.connection)
        version = current_version(store.connection)
    return StoreCheck(path, path.stat().st_size, version, counts, time.perf_counter() - start)


def verify_file(path: Path) -> StoreCheck:
    """Verify a store file that no vsmml process uses (a backup): DuckDB's checks, our tables,
    every block read. Raises `StoreCorruptError` naming the file when it is damaged."""
    start = time.perf_counter()
    if not path.is_file():
        raise StoreError(f"backup {path}: no such file")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise translate(exc, path, "opening") from exc
    try:
        check_tables(con, path, COLUMNS)
        version = current_version(con)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version} is newer than this vsmml ({SCHEMA_VERSION})"
            )
        verify_blocks(con, path)
        counts = table_counts(con)
    except duckdb.Error as exc:
        raise translate(exc, path, "verifying") from exc
    finally:
        con.close()
    return StoreCheck(path, path.stat().st_size, version, counts, time.perf_counter() - start)


def _stamp() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")


def backup_store(settings: Settings, dest: Path | None = None) -> StoreCheck:
    """A verified, consistent copy of the store (default: `$VSMML_HOME/backups/`)."""
    source = settings.store_path
    if not source.exists():
        raise StoreError(f"no store at {source}: nothing to back up")
    target = dest or settings.home / "backups" / f"vsmml-{_stamp()}.duckdb"
    if target.exists():
        raise StoreError(f"backup {target} exists already; name another file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"backup folder {target.parent}: {exc.strerror}") from exc
    tmp = target.with_name(target.name + ".partial")
    with Store.from_settings(settings) as store:  # exclusive: no writer runs during the copy
        with store._guard("checkpointing"):
            store.connection.execute("CHECKPOINT")
        expected = table_counts(store.connection)
        try:
            shutil.copyfile(source, tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"backup {target}: cannot write ({exc.strerror})") from exc
    try:
        checked = verify_file(tmp)
    except StoreError:
        tmp.unlink(missing_ok=True)
        raise
    if checked.counts != expected:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"backup {target}: the copy's rows differ from the store's; not kept")
    os.replace(tmp, target)
    return StoreCheck(target, checked.size_bytes, checked.schema_version, checked.counts, 0.0)


def restore_store(settings: Settings, backup: Path) -> RestoreResult:
    """Put a verified backup in place of the store; the replaced store is kept beside it."""
    checked = verify_file(backup)
    target = settings.store_path
    _refuse_if_held(target)
    replaced: Path | None = None
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = _stamp()
    tmp = target.with_name(target.name + ".restoring")
    try:
        shutil.copyfile(backup, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        if target.exists():
            replaced = target.with_name(f"{target.name}.replaced-{stamp}")
            os.replace(target, replaced)
        wal = wal_path(target)
        if wal.exists():
            os.replace(wal, wal.with_name(f"{wal.name}.replaced-{stamp}"))
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"restore into {target}: {exc.strerror}") from exc
    StoreState(counts=checked.counts, closed=True, fingerprint=fingerprint(target)).save(target)
    restored = StoreCheck(target, checked.size_bytes, checked.schema_version, checked.counts, 0.0)
    return RestoreResult(restored, replaced)


def _refuse_if_held(path: Path) -> None:
    """Refuse while another process has the store open (damaged or not)."""
    if not path.exists():
        return
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        if is_lock_error(exc):
            raise translate(exc, path, "replacing") from exc
        if is_corruption(exc):
            return  # damaged: exactly what a restore is for
        raise corrupt(path, str(exc).splitlines()[0]) from exc
    con.close()
