"""A damaged, misplaced or locked store is refused by every command with one line and exit 2;
`vsmml store check|backup|restore` verify, copy and put back a whole store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.config import get_settings
from vsmml.store import Store

pytestmark = pytest.mark.integration

# Every command that opens the store, as a user would type it ({good}: a small JSON Lines file).
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("metrics",),
    ("bottlenecks",),
    ("slo", "status"),
    ("anomalies",),
    ("ingest", "jsonl", "{good}"),
    ("replay",),
    ("quarantine", "list"),
    ("quarantine", "show", "1"),
    ("quarantine", "retry"),
    ("store", "check"),
    ("store", "backup"),
)


def _lines(n: int, start: int = 0) -> str:
    rows = [
        {
            "event_id": f"e{i}",
            "kind": "deploy.finished" if i % 3 == 0 else "commit",
            "ts": f"2026-03-{1 + i % 27:02d}T10:00:00Z",
            "service": "pay",
            "sha": f"{i:08x}",
            "deploy_id": f"d{i}",
            "env": "prod",
            "attrs": {"n": i},
        }
        for i in range(start, start + n)
    ]
    return "\n".join(json.dumps(r) for r in rows) + '\n{"kind": "nope"}\n'


@pytest.fixture
def home(vsmml_home: Path, tmp_path: Path) -> Iterator[Path]:
    good = tmp_path / "good.jsonl"
    good.write_text(_lines(3000))
    result = CliRunner().invoke(app, ["ingest", "jsonl", str(good)])
    assert result.exit_code == 0, result.output
    return vsmml_home


def _run(args: tuple[str, ...], tmp_path: Path) -> tuple[int, str]:
    good = tmp_path / "more.jsonl"
    good.write_text(_lines(10, start=5000))
    argv = [a.replace("{good}", str(good)) for a in args]
    get_settings.cache_clear()
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output


def _truncate(store: Path) -> None:
    os.truncate(store, store.stat().st_size // 2)


def _overwrite_64k(store: Path) -> None:
    """64 KB of noise over the first data block of the events table."""
    con = duckdb.connect(str(store), read_only=True)
    block, size = con.execute(
        "SELECT min(block_id), any_value(s.block_size) FROM pragma_storage_info('events'),"
        " pragma_database_size() s WHERE block_id >= 0"
    ).fetchall()[0]
    con.close()
    with store.open("r+b") as handle:
        handle.seek(3 * 4096 + int(block) * int(size))
        handle.write(os.urandom(65536))


def _garbage_wal(store: Path) -> None:
    store.with_name(store.name + ".wal").write_bytes(os.urandom(20_000))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated to half": _truncate,
    "64 KB overwritten": _overwrite_64k,
    "garbage write-ahead log": _garbage_wal,
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_command_refuses_a_damaged_store(home: Path, tmp_path: Path, damage: str) -> None:
    store = home / "vsmml.duckdb"
    DAMAGE[damage](store)
    for args in COMMANDS:
        code, output = _run(args, tmp_path)
        assert code == 2, (args, output)
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1, (args, output)
        assert "is damaged" in lines[0] and "vsmml store restore" in lines[0], (args, output)
        assert "Traceback" not in output


@pytest.mark.slow
def test_backup_then_restore_brings_a_damaged_store_back(home: Path, tmp_path: Path) -> None:
    code, output = _run(("store", "check"), tmp_path)
    assert code == 0 and "whole" in output and "events 3,000" in output, output
    backup = tmp_path / "b.duckdb"
    code, output = _run(("store", "backup", str(backup)), tmp_path)
    assert code == 0 and backup.exists(), output
    store = home / "vsmml.duckdb"
    _overwrite_64k(store)
    assert _run(("metrics",), tmp_path)[0] == 2
    damaged_backup = tmp_path / "damaged.duckdb"
    shutil.copyfile(store, damaged_backup)
    code, output = _run(("store", "restore", str(damaged_backup)), tmp_path)
    assert code == 2 and "is damaged" in output  # restore verifies before replacing
    code, output = _run(("store", "restore", str(backup)), tmp_path)
    assert code == 0 and "kept as" in output, output
    assert list(home.glob("vsmml.duckdb.replaced-*"))  # the damaged store is kept, not deleted
    assert _run(("metrics",), tmp_path)[0] == 0
    with Store(store, read_only=True) as again:
        assert again.counts()["events"] == 3000


def test_a_lost_write_ahead_log_is_found_by_the_row_counts(home: Path, tmp_path: Path) -> None:
    store = home / "vsmml.duckdb"
    state = json.loads(store.with_name("vsmml.duckdb.state").read_text())
    state["closed"], state["counts"]["events"] = False, state["counts"]["events"] + 500
    state["writer_pid"] = 2**22 + 7  # no such process: the writer crashed
    store.with_name("vsmml.duckdb.state").write_text(json.dumps(state))
    code, output = _run(("metrics",), tmp_path)
    assert code == 2 and "holds 3,000 rows but 3,500 were committed" in output, output


def test_home_that_is_a_file_or_read_only_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "home"
    afile.write_text("not a folder")
    monkeypatch.setenv("VSMML_HOME", str(afile))
    for args in (
        ("metrics",),
        ("ingest", "jsonl", "{good}"),
        ("quarantine", "list"),
        ("store", "check"),
    ):
        code, output = _run(args, tmp_path)
        assert code == 2 and "is a file, not a directory" in output, (args, output)
    if os.geteuid() != 0:  # root writes anywhere: the read-only case needs another user
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        monkeypatch.setenv("VSMML_HOME", str(ro / "home"))
        code, output = _run(("ingest", "jsonl", "{good}"), tmp_path)
        assert code == 2 and "cannot be created" in output, output
    get_settings.cache_clear()


@pytest.mark.slow
def test_a_locked_store_names_the_holder(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = home / "vsmml.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys; c=duckdb.connect(sys.argv[1]); print('ok', flush=True);"
            " sys.stdin.readline()",
            str(store),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        monkeypatch.setenv("VSMML_STORE_LOCK_TIMEOUT", "0.3")
        for args in COMMANDS:
            code, output = _run(args, tmp_path)
            assert code == 2, (args, output)
            assert f"in use by PID {holder.pid}" in output and "--server" not in output, output
    finally:
        holder.kill()
        holder.wait(timeout=30)
    get_settings.cache_clear()
