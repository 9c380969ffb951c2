"""Reads of the store inside the process that serves it: a cursor of the served connection.

DuckDB refuses a second, read-only open of a file this process already holds read-write, so
while `vsmml serve` runs in this process the read use cases (`pipeline.queries.reads`) get a
cursor of the server's connection: their own transaction, on the last committed state, beside
a long ingest. Elsewhere they open the file read-only as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vsmml.config import Settings, get_settings
from vsmml.store import Store

__all__ = ["CursorStore", "open_for_reading", "serve", "unserve"]

_SERVED: dict[Path, Callable[[], Store]] = {}
_LOCK = threading.Lock()


class CursorStore(Store):
    """A read-only `Store` over a cursor of a store this process already holds."""

    def __init__(self, owner: Store, cursor: Any) -> None:
        # No open and no migration: the owner did both; closing closes only the cursor.
        self.path = owner.path
        self.read_only = True
        self.chunk_rows = owner.chunk_rows
        self._con = cursor


def serve(path: Path, reader: Callable[[], Store]) -> None:
    """Send this process's reads of the store at `path` to `reader` (a server started)."""
    with _LOCK:
        _SERVED[path.resolve()] = reader


def unserve(path: Path) -> None:
    """Reads of `path` open the file again (the server stopped)."""
    with _LOCK:
        _SERVED.pop(path.resolve(), None)


@contextmanager
def open_for_reading(settings: Settings | None = None) -> Iterator[Store]:
    """The store under ``VSMML_HOME`` for reading: the served cursor, else a read-only open."""
    s = settings or get_settings()
    with _LOCK:
        reader = _SERVED.get(s.store_path.resolve()) if _SERVED else None
    store = reader() if reader is not None else Store.from_settings(s, read_only=True)
    try:
        yield store
    finally:
        store.close()
