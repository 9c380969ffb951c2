"""Webhook batches prepared in worker processes land exactly as batches prepared in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vsmml.errors import VsmmlError
from vsmml.pipeline.ingest import ingest_paths
from vsmml.pipeline.ingest.registry import get_source
from vsmml.pipeline.ingest.rules import build_rules
from vsmml.store import Store
from vsmml.store.health import TABLES

FIXTURES = Path(__file__).parents[1] / "data/fixtures"
VSMML = str(Path(sys.executable).with_name("vsmml"))


def _mixed_input(folder: Path) -> Path:
    """GitHub deliveries with bad ones between them: not JSON, too deep, not an object, a push
    commit without its id, an unknown event, a duplicate."""
    lines = []
    for path in sorted((FIXTURES / "github").glob("*.json")):
        lines.append(json.dumps(json.loads(path.read_text())))  # envelopes: event + payload
    push = json.loads((FIXTURES / "github/push_1.json").read_text())["payload"]
    push["commits"][0]["timestamp"] = "not a time"
    bad = [
        "{not json",
        "[" * 200 + "]" * 200,
        "42",
        json.dumps({"event": "push", "payload": push}),
        json.dumps({"event": "no_such_event", "payload": {"action": "x"}}),
        lines[0],
    ]
    for i, text in enumerate(bad):
        lines.insert(3 * i + 1, text)
    path = folder / "deliveries.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _tables(store: Store) -> dict[str, Any]:
    con = store.connection
    out: dict[str, Any] = {}
    for table in TABLES:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
            if r[0] not in ("received_at", "quarantined_at", "ingested_at", "first_seen")
        ]
        if not cols:
            continue
        listed = ", ".join(f'"{c}"' for c in cols)
        out[table] = con.execute(f"SELECT {listed} FROM {table} ORDER BY ALL").fetchall()
    return out


def test_worker_batches_store_exactly_what_in_process_batches_store(tmp_path: Path) -> None:
    path = _mixed_input(tmp_path)
    seen = {}
    for workers in (0, 1, 2):
        with Store(tmp_path / f"w{workers}.duckdb") as store:
            report = ingest_paths(store, "github", [path], batch_size=4, workers=workers)
            assert report.balanced and report.batches > 3
            assert report.worker_batches == (0 if workers == 0 else report.batches - 1)
            seen[workers] = (report.summary(), report.messages, _tables(store))
    assert seen[1] == seen[0]
    assert seen[2] == seen[0]
    summary, messages, tables = seen[0]
    assert "quarantined 5" in summary and len(tables["quarantine"]) == 5
    reasons = " ".join(messages)
    assert "nested 200 levels deep" in reasons and "not valid JSON" in reasons
    assert "must be a JSON object" in reasons and "'no_such_event'" in reasons


class _DiesInAWorker:
    """Rules whose unpickling ends the process: what a worker killed mid-batch looks like."""

    def __init__(self, rules: Any) -> None:
        self.rules = rules

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["rules"], name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os._exit, (3,))


def test_a_worker_that_dies_is_one_error_naming_the_way_out(tmp_path: Path) -> None:
    rules = _DiesInAWorker(build_rules(get_source("github"), None))
    path = _mixed_input(tmp_path)
    with (
        Store(tmp_path / "s.duckdb") as store,
        pytest.raises(VsmmlError, match="VSMML_INGEST_WORKERS=0") as caught,
    ):
        ingest_paths(store, "github", [path], rules=rules, batch_size=4, workers=2)
    assert "\n" not in str(caught.value)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VSMML, "ingest", "github", *args], env=env, capture_output=True, text=True, check=False
    )


def test_cli_with_workers_matches_without_and_a_bad_setting_is_exit_2(tmp_path: Path) -> None:
    path = _mixed_input(tmp_path)
    outs = []
    for workers in ("0", "2"):
        env = {
            **os.environ,
            "VSMML_HOME": str(tmp_path / f"home{workers}"),
            "VSMML_INGEST_WORKERS": workers,
            "VSMML_INGEST_BATCH_ROWS": "4",
        }
        done = _cli(env, str(path))
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1] and "quarantined 5" in outs[0]
    env = {**os.environ, "VSMML_HOME": str(tmp_path / "h"), "VSMML_INGEST_WORKERS": "many"}
    done = _cli(env, str(path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "VSMML_INGEST_WORKERS" in done.stderr
    assert "Traceback" not in done.stderr
