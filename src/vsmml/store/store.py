"""The embedded event store: one DuckDB file with raw payloads, canonical events and quarantine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb

from vsmml.config import Settings, get_settings
from vsmml.errors import StoreError, StoreLocationError
from vsmml.store import connect as conn
from vsmml.store.health import (
    StoreState,
    check_counts,
    check_tables,
    corrupt,
    fingerprint,
    foreign_wal,
    table_counts,
    translate,
    verify_blocks,
    wal_path,
)
from vsmml.store.reads import StoreReads
from vsmml.store.schema import COLUMNS, migrate
from vsmml.store.sql import (
    QUARANTINE_COLUMNS,
)
from vsmml.store.writes import StoreWrites, WriteReport

__all__ = ["QUARANTINE_COLUMNS", "Store", "WriteReport"]


BULK_ROWS: Final = 1_000
"""Inside `Store.bulk_load`, a commit of at least this many rows skips the write-ahead log."""
BULK_BLOCK_MEMORY: Final = "1GB"
"""Inside `Store.bulk_load`, freed DuckDB blocks up to this size are kept for reuse."""
_KEPT_SETTINGS: Final = frozenset({"block_allocator_memory"})
"""Bulk-load settings DuckDB refuses to reset (they can only grow): left as set."""


def _check_home(path: Path, *, read_only: bool) -> None:
    """Refuse a store folder that is a file, or that cannot be created or written."""
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise StoreLocationError(
                    f"VSMML_HOME {folder}: {parent} is a file, not a directory; point VSMML_HOME"
                    " at a folder"
                )
            break
    if read_only:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreLocationError(
            f"VSMML_HOME {folder} cannot be created ({exc.strerror}); point VSMML_HOME at a"
            " writable folder"
        ) from exc
    if path.exists() and not path.is_file():
        raise StoreLocationError(f"store {path} is not a file")
    if not os.access(folder, os.W_OK):
        raise StoreLocationError(
            f"VSMML_HOME {folder} is not writable; point VSMML_HOME at a writable folder"
        )


class Store(StoreReads, StoreWrites):
    """A DuckDB file holding `raw_payloads`, `events` and `quarantine`, migrated on open.

    DuckDB allows one writing process per file and, while it writes, no other process can open
    it: opening waits up to `lock_timeout` seconds for the holder (a vsmml writer lets go
    between batches when someone waits, see `commit_point`). Opening checks the store is whole
    (`vsmml.store.health`) and refuses a damaged one with `StoreCorruptError`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str = "2GB",
        threads: int | None = None,
        chunk_rows: int = 500_000,
        lock_timeout: float = 0.0,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.chunk_rows = chunk_rows
        self.lock_timeout = lock_timeout
        self._config: dict[str, Any] = {"memory_limit": memory_limit}
        if not read_only:
            # No row-group vacuum at checkpoints: the store never deletes in bulk, and DuckDB's
            # vacuum rewrites every batch a bulk insert wrote straight to the file (its last,
            # partial row group merges with the next batch's), which made a checkpoint cost
            # about as much as the insert itself (0.3 s per 250,000 raw payloads, measured).
            self._config["max_vacuum_tasks"] = 0
        if threads:
            self._config["threads"] = threads
        _check_home(self.path, read_only=read_only)
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run `vsmml demo` or `vsmml ingest` first")
        self._con = self._open()
        self._closed = False
        self._bulk: dict[str, object] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, read_only: bool = False) -> Store:
        """Open the store under `$VSMML_HOME` with the configured DuckDB limits."""
        s = settings or get_settings()
        return cls(
            s.store_path,
            read_only=read_only,
            memory_limit=s.duckdb_memory_limit,
            threads=s.duckdb_threads,
            chunk_rows=s.ingest_chunk_rows,
            lock_timeout=s.store_lock_timeout,
        )

    # -- lifecycle -------------------------------------------------------------------------
    def _open(self) -> duckdb.DuckDBPyConnection:
        state = StoreState.load(self.path) if self.path.exists() else None
        if foreign_wal(self.path, state):
            raise corrupt(
                self.path,
                f"{wal_path(self.path).name} is a write-ahead log vsmml did not leave (the store"
                " was closed cleanly before it appeared); if another DuckDB client wrote it,"
                " open the store once with that client, else move the log aside",
            )
        fresh = not self.path.exists()
        before = None if fresh else fingerprint(self.path)
        con = conn.connect(
            self.path, read_only=self.read_only, config=self._config, timeout=self.lock_timeout
        )
        try:
            con.execute("SET enable_progress_bar = false")
            if not self.read_only:
                migrate(con)
            check_tables(con, self.path, COLUMNS)
            counts = table_counts(con)
            known = state is not None and state.closed and state.fingerprint == before
            if state is not None and (known or not state.closed):
                # unchanged since a clean close, or after a crash (its log must replay)
                check_counts(self.path, counts, state)
            if not fresh and not known:
                counts = {**counts, **verify_blocks(con, self.path)}
        except StoreError:
            con.close()
            raise
        except duckdb.Error as exc:
            con.close()
            raise translate(exc, self.path, "opening") from exc
        self._counts = counts
        if self.read_only:
            if state is None or not known:
                StoreState(counts=counts, closed=True, fingerprint=fingerprint(self.path)).save(
                    self.path
                )
        else:
            StoreState(counts=counts, closed=False, writer_pid=_pid()).save(self.path)
        return con

    def close(self) -> None:
        """Close the connection (idempotent); a writer records how it left the file."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            self._con.close()
        except duckdb.Error as exc:
            raise translate(exc, self.path, "closing") from exc
        if not self.read_only:
            StoreState(counts=self._counts, closed=True, fingerprint=fingerprint(self.path)).save(
                self.path
            )

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """While the block runs, a commit of many rows goes straight into the file.

        By default DuckDB writes a commit to its write-ahead log and copies it into the file at
        the next checkpoint: every byte twice, uncompressed the first time (webhooks: 340 MB of
        log per 20,000 payloads, 1.5 s of a 7 s ingest). Here a commit of at least
        `BULK_ROWS` rows is checkpointed at once without the log (DuckDB's
        `auto_checkpoint_skip_wal_threshold`); a checkpoint is atomic, so a crash still
        leaves whole batches. Small commits (the HTTP service's) keep the log outside this.

        DuckDB's block allocator also keeps up to `BULK_BLOCK_MEMORY` of the blocks a batch
        used for the next one (`block_allocator_memory`) instead of handing them back to the
        kernel, which maps and zeroes them again for every batch: on 20,000 webhooks ~40,000
        fewer page faults and ~0.3 s less system time. DuckDB cannot lower that setting once
        raised, so it stays for the connection's life (it is memory kept, never more used).
        """
        settings = {
            "checkpoint_threshold": "'1KB'",
            "auto_checkpoint_skip_wal_threshold": BULK_ROWS,
            "block_allocator_memory": f"'{BULK_BLOCK_MEMORY}'",
        }
        with self._guard("setting up a bulk load"):
            for name, value in settings.items():
                self._con.execute(f"SET {name} = {value}")
        self._bulk = settings
        try:
            yield
        finally:
            self._bulk = {}
            if not self._closed:
                with self._guard("ending a bulk load"):
                    for name in settings:
                        if name not in _KEPT_SETTINGS:
                            self._con.execute(f"RESET {name}")

    def commit_point(self) -> None:
        """Between batches: record the committed counts, and let a waiting process in.

        When another process announced it waits for the file, the writer closes (its batches
        are committed), waits until the others have opened it, and opens again (waiting for
        them to finish). Readers thus wait at most one batch.
        """
        if self.read_only:
            return
        with self._guard("counting rows"):
            self._counts = table_counts(self._con)
        StoreState(counts=self._counts, closed=False, writer_pid=_pid()).save(self.path)
        if not conn.others_waiting(self.path):
            return
        self.close()
        conn.wait_until_served(self.path)
        self._con = conn.connect(
            self.path, read_only=False, config=self._config, timeout=max(self.lock_timeout, 600)
        )
        self._con.execute("SET enable_progress_bar = false")
        for name, value in self._bulk.items():
            self._con.execute(f"SET {name} = {value}")
        StoreState(counts=self._counts, closed=False, writer_pid=_pid()).save(self.path)
        self._closed = False

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection, for the pipeline's set-based reads."""
        return self._con

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn a DuckDB error met while `doing` something into a precise StoreError."""
        try:
            yield
        except duckdb.Error as exc:
            raise translate(exc, self.path, doing) from exc


def _pid() -> int:
    return os.getpid()
