"""Is the store whole? DuckDB's own checks on open, our tables and row counts, and a state file.

DuckDB verifies a block's checksum only when it reads the block, and ignores a write-ahead log
it cannot parse, so a damaged file can look whole to a command that reads little. The store
therefore keeps a small state file beside the database (`vsmml.duckdb.state`) holding the row
counts of the last committed batch and the file's fingerprint (size, modification time, inode)
when vsmml last closed it cleanly. On open:

* DuckDB's checks: the header and metadata must parse (a truncated or foreign file fails here);
* our tables must exist with their columns, and their row counts must not be below what the
  state file says was committed (a lost write-ahead log shows up here);
* when the file is not as vsmml left it (a crash, another program, a copy), every block of every
  table is read once, so DuckDB verifies every checksum (`verify_blocks`);
* a write-ahead log beside a store vsmml closed cleanly was not written by vsmml: refused.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb

from vsmml.errors import StoreCorruptError, StoreError, StoreLockedError

TABLES: Final = ("raw_payloads", "events", "quarantine")
_CORRUPT_HINTS: Final = (
    "corrupt",
    "checksum",
    "not a valid duckdb database",
    "could not read enough bytes",
    "failed to read",
    "invalid block",
    "serialization error",
    "unexpected end of",
    "incomplete",
)
_LOCK_RE: Final = re.compile(r"Conflicting lock is held in (?P<prog>.*?) \(PID (?P<pid>\d+)\)")


def recovery_hint(path: Path) -> str:
    """What to do about a damaged store, in one clause."""
    return (
        f"restore a backup with `vsmml store restore BACKUP` (made by `vsmml store backup`), "
        f"or move {path.name} aside and ingest again"
    )


def corrupt(path: Path, what: str) -> StoreCorruptError:
    """The one-line error for a damaged store: what is wrong, where, and how to recover."""
    return StoreCorruptError(f"store {path} is damaged: {what}; {recovery_hint(path)}")


def lock_holder(message: str) -> str | None:
    """`PID 123 (/usr/bin/python3)` from DuckDB's lock error, or None when it names nobody."""
    found = _LOCK_RE.search(message)
    if found is None:
        return None
    return f"PID {found['pid']} ({found['prog']})"


def holder_pid(message: str) -> int | None:
    """The process id DuckDB's lock error names, if any."""
    found = _LOCK_RE.search(message)
    return int(found["pid"]) if found else None


def is_server(pid: int) -> bool:
    """True when process `pid` is a running `vsmml serve` (its command line says so)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [Path(a.decode(errors="replace")).name for a in argv if a]
    return "serve" in words and any(w.startswith("vsmml") for w in words)


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "could not set lock" error (another process has the file)."""
    return "could not set lock" in str(exc).lower() or "conflicting lock" in str(exc).lower()


def is_corruption(exc: BaseException) -> bool:
    """True when a DuckDB error says the file's bytes are not what DuckDB wrote."""
    text = str(exc).lower()
    return any(hint in text for hint in _CORRUPT_HINTS)


def translate(exc: BaseException, path: Path, doing: str) -> StoreError:
    """A DuckDB error met while `doing` something with the store, as one precise StoreError."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if is_lock_error(exc):
        who = lock_holder(str(exc)) or "another process"
        pid = holder_pid(str(exc))
        advice = (
            "it is `vsmml serve`: send writes through it with --server URL (and VSMML_TOKEN)"
            if pid is not None and is_server(pid)
            else "wait for it to finish (or stop it) and run the command again"
        )
        return StoreLockedError(
            f"store {path} is in use by {who}: DuckDB lets one process write a file and no other"
            f" open it meanwhile; {advice}"
        )
    if is_corruption(exc):
        return corrupt(path, first.removeprefix("IO Error: ").removeprefix("Error: "))
    return StoreError(f"store {path}: {doing} failed: {first}")


# -- the state file -------------------------------------------------------------------------
@dataclass
class StoreState:
    """What vsmml last knew about the store: committed row counts and the clean-close print."""

    counts: dict[str, int] = field(default_factory=dict)
    closed: bool = False
    fingerprint: list[int] | None = None
    writer_pid: int | None = None

    @staticmethod
    def path_for(store: Path) -> Path:
        """The state file beside the store."""
        return store.with_name(store.name + ".state")

    @classmethod
    def load(cls, store: Path) -> StoreState | None:
        """The saved state, or None when there is none (or it cannot be read: then verify)."""
        try:
            data: Any = json.loads(cls.path_for(store).read_text(encoding="utf-8"))
            return cls(
                counts={str(k): int(v) for k, v in dict(data.get("counts", {})).items()},
                closed=bool(data.get("closed", False)),
                fingerprint=[int(x) for x in data["fingerprint"]]
                if data.get("fingerprint")
                else None,
                writer_pid=int(data["writer_pid"]) if data.get("writer_pid") else None,
            )
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def save(self, store: Path) -> None:
        """Write atomically (temporary file + rename); a read-only folder is not an error."""
        target = self.path_for(store)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)


def wal_path(store: Path) -> Path:
    """DuckDB's write-ahead log beside the store."""
    return store.with_name(store.name + ".wal")


def fingerprint(store: Path) -> list[int]:
    """Size, modification time and inode of the file and its log (-1 when there is no log)."""
    st = store.stat()
    wal = wal_path(store)
    wst = wal.stat() if wal.exists() else None
    return [
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        wst.st_size if wst else -1,
        wst.st_mtime_ns if wst else -1,
    ]


def pid_alive(pid: int | None) -> bool:
    """True when a process with this id exists."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- checks -----------------------------------------------------------------------------
def check_tables(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, set[str]]) -> None:
    """Our tables exist with their columns (a file of someone else's tables is not a store)."""
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_catalog = current_database()"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), set()).add(str(column))
    for table, wanted in columns.items():
        if table not in found:
            raise corrupt(path, f"table {table!r} is missing")
        lacking = sorted(wanted - found[table])
        if lacking:
            raise corrupt(path, f"table {table!r} lacks column(s) {lacking}")


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of our three tables (all rows, resolved quarantine included)."""
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
    return {str(t): int(n) for t, n in con.execute(sql).fetchall()}


def verify_blocks(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    """Read every column of every table once, so DuckDB checks every block's checksum."""
    counts: dict[str, int] = {}
    names = [str(r[0]) for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    for table in names:
        try:
            n = con.execute(
                f'SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM "{table}"'
            ).fetchall()[0][0]
        except duckdb.Error as exc:
            raise translate(exc, path, f"reading table {table!r}") from exc
        counts[table] = int(n)
    return counts


def check_counts(path: Path, counts: dict[str, int], state: StoreState | None) -> None:
    """Refuse a store holding fewer rows than vsmml committed to it (a lost write-ahead log)."""
    if state is None:
        return
    for table, committed in state.counts.items():
        have = counts.get(table)
        if have is not None and have < committed:
            raise corrupt(
                path,
                f"table {table!r} holds {have:,} rows but {committed:,} were committed"
                " (the write-ahead log was lost or the file was replaced)",
            )


def foreign_wal(path: Path, state: StoreState | None) -> bool:
    """True when a write-ahead log sits beside a store vsmml closed cleanly and left unchanged."""
    wal = wal_path(path)
    if state is None or not state.closed or not wal.exists() or state.fingerprint is None:
        return False
    return state.fingerprint[3] == -1 and fingerprint(path)[:3] == state.fingerprint[:3]
