"""Opening the DuckDB file: wait for another vsmml process to let go, and hand over between batches.

DuckDB lets one process hold a file for writing and no other process open it meanwhile (not
even read-only). A long ingest therefore commits per batch and, when another vsmml process is
waiting, releases the file between batches: the waiting process announces itself with a file
named by its PID in `vsmml.duckdb.waiting/`, the writer sees it after its next commit, closes,
waits until the others got in (their announcement disappears) and opens again. A reader thus
waits at most one batch instead of the whole ingest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final

import duckdb

from vsmml.errors import StoreLockedError
from vsmml.store.health import is_lock_error, pid_alive, translate

_POLL_S: Final = 0.01
_MAX_POLL_S: Final = 0.1


def waiting_dir(store: Path) -> Path:
    """The folder where processes waiting for the store announce themselves."""
    return store.with_name(store.name + ".waiting")


@contextmanager
def announced(store: Path) -> Iterator[None]:
    """Announce this process as waiting for `store` while the block runs."""
    folder = waiting_dir(store)
    mark = folder / str(os.getpid())
    try:
        folder.mkdir(exist_ok=True)
        mark.touch()
    except OSError:  # a read-only folder: wait without announcing
        mark = Path()
    try:
        yield
    finally:
        if mark != Path():
            with suppress(OSError):
                mark.unlink()


def others_waiting(store: Path) -> bool:
    """True when another live process announced it waits for `store` (stale marks removed)."""
    folder = waiting_dir(store)
    try:
        marks = list(folder.iterdir())
    except OSError:
        return False
    me = str(os.getpid())
    found = False
    for mark in marks:
        if mark.name == me:
            continue
        if mark.name.isdigit() and pid_alive(int(mark.name)):
            found = True
        else:
            with suppress(OSError):
                mark.unlink()
    return found


def connect(
    path: Path, *, read_only: bool, config: dict[str, Any], timeout: float
) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to `timeout` seconds while another process holds the file.

    Raises `StoreLockedError` naming the holder (the PID DuckDB reports) when it does not let
    go in time; other DuckDB errors become precise `StoreError`s (`health.translate`).
    """
    deadline = time.monotonic() + max(timeout, 0.0)
    pause = _POLL_S
    with announced(path) if timeout > 0 else _nothing():
        while True:
            try:
                return duckdb.connect(str(path), read_only=read_only, config=config)
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise translate(exc, path, "opening") from exc
                if time.monotonic() >= deadline:
                    error = translate(exc, path, "opening")
                    assert isinstance(error, StoreLockedError)
                    raise StoreLockedError(
                        f"{error} (waited {timeout:g} s; VSMML_STORE_LOCK_TIMEOUT sets how long)"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 1.5, _MAX_POLL_S)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def wait_until_served(store: Path, *, limit: float = 5.0) -> None:
    """After letting go: wait until the processes that were waiting have got the file."""
    deadline = time.monotonic() + limit
    while others_waiting(store) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
