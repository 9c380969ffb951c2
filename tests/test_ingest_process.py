"""A real `vsmml ingest` process: `kill -9` at several points leaves whole batches and nothing
orphaned (running it again completes the input exactly once), and a reader started during the
ingest gets the store between two batches instead of waiting for the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 2_000
BAD_PER_BATCH = 10
BATCHES = 20


def _write_input(path: Path) -> None:
    """BATCHES batches of BATCH lines; the last BAD_PER_BATCH lines of each have an unknown kind."""
    with path.open("w") as out:
        for i in range(BATCH * BATCHES):
            bad = i % BATCH >= BATCH - BAD_PER_BATCH
            row = {
                "event_id": f"k{i}",
                "kind": "no.such.kind" if bad else "commit",
                "ts": "2026-03-01T10:00:00Z",
                "sha": f"{i:08x}",
                "attrs": {"i": i, "pad": "x" * 200},
            }
            out.write(json.dumps(row) + "\n")


def _counts(store: Path) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = ("raw_payloads", "events", "quarantine")
        return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in tables}
    finally:
        con.close()


def _ingest(home: Path, data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "VSMML_HOME": str(home), "VSMML_INGEST_BATCH_ROWS": str(BATCH)}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("vsmml")), "ingest", "jsonl", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _committed(home: Path) -> int:
    try:
        state = json.loads((home / "vsmml.duckdb.state").read_text())
    except (OSError, ValueError):
        return 0
    return int(state.get("counts", {}).get("raw_payloads", 0))


@pytest.mark.parametrize("kill_after_batches", [1, 6, 13])
def test_kill_minus_nine_leaves_whole_batches(tmp_path: Path, kill_after_batches: int) -> None:
    data = tmp_path / "events.jsonl"
    _write_input(data)
    home = tmp_path / "home"
    proc = _ingest(home, data)
    deadline = time.monotonic() + 120
    while _committed(home) < kill_after_batches * BATCH and proc.poll() is None:
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    counts = _counts(home / "vsmml.duckdb")
    done = counts["raw_payloads"] // BATCH
    assert done >= kill_after_batches
    # whole batches: every kept line's event or quarantine row is there, nothing orphaned
    assert counts == {
        "raw_payloads": done * BATCH,
        "events": done * (BATCH - BAD_PER_BATCH),
        "quarantine": done * BAD_PER_BATCH,
    }
    again = _ingest(home, data)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"accepted {(BATCHES - done) * (BATCH - BAD_PER_BATCH)}," in out, out
    assert f"duplicates {done * (BATCH - BAD_PER_BATCH)}," in out, out
    assert _counts(home / "vsmml.duckdb") == {
        "raw_payloads": BATCHES * BATCH,
        "events": BATCHES * (BATCH - BAD_PER_BATCH),
        "quarantine": BATCHES * BAD_PER_BATCH,
    }


_READER = """
import sys, time
from vsmml.config import Settings
from vsmml.store import Store
settings = Settings.from_env()
print("ready", flush=True)
sys.stdin.readline()
start = time.monotonic()
with Store.from_settings(settings, read_only=True) as store:
    waited = time.monotonic() - start
    rows = len(store.read_quarantine())
print(f"{waited:.3f} {rows}", flush=True)
"""


def test_a_reader_gets_in_between_batches(tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    _write_input(data)
    home = tmp_path / "home"
    env = {**os.environ, "VSMML_HOME": str(home), "VSMML_STORE_LOCK_TIMEOUT": "300"}
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin is not None and reader.stdout is not None
    assert reader.stdout.readline().strip() == "ready"
    proc = _ingest(home, data)
    try:
        while _committed(home) < 2 * BATCH and proc.poll() is None:
            time.sleep(0.005)
        assert proc.poll() is None, "the ingest ended before the reader could start"
        reader.stdin.write("go\n")
        reader.stdin.flush()
        waited, rows = reader.stdout.readline().split()
        assert int(rows) >= 2 * BAD_PER_BATCH  # it read committed batches
        assert proc.poll() is None, f"the reader waited for the whole ingest ({waited} s)"
    finally:
        reader.kill()
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"accepted {BATCHES * (BATCH - BAD_PER_BATCH)}," in out
