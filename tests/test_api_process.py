"""`vsmml serve` as a user runs it: a subprocess on a free loopback port, signals, kill -9, logs.

SIGTERM stops accepting, lets the in-flight ingest finish and closes the store; kill -9 during
ingest loses no batch that was answered 2xx; a second server on a held store fails with one
line; the CLI's writes go through the server with --server; no secret ever reaches the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_server import ProcessServer, vsmml_bin

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GH_SECRET = "gh-process-secret-42"


def _tokens(home: Path) -> dict[str, str]:
    from vsmml.config import Settings
    from vsmml.pipeline.tokens import TokenRequest, create_token
    from vsmml.store import Store

    with Store.from_settings(Settings(home=home)) as store:
        return {
            "admin": create_token(store, TokenRequest("admin,ingest,read", "root")).token,
            "ingest": create_token(store, TokenRequest("ingest", "ci")).token,
        }


def _batch(tag: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{tag}-{i}",
            "kind": "commit",
            "ts": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "repo": "acme/shop",
            "sha": hashlib.sha1(f"{tag}-{i}".encode()).hexdigest(),
            "service": "shop",
        }
        for i in range(n)
    ]


def _stored_ids(home: Path) -> set[str]:
    from vsmml.config import Settings
    from vsmml.store import Store

    with Store.from_settings(Settings(home=home)) as store:
        return set(store.read_events()["event_id"].astype(str))


def _start(home: Path) -> Iterator[tuple[ProcessServer, dict[str, str]]]:
    tokens = _tokens(home)
    srv = ProcessServer(home, {"VSMML_GITHUB_WEBHOOK_SECRET": GH_SECRET}).start(ready=True)
    try:
        yield srv, tokens
    finally:
        srv.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ProcessServer, dict[str, str]]]:
    """A server of its own (the test stops or kills it)."""
    yield from _start(tmp_path / "home")


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ProcessServer, dict[str, str]]]:
    """One server for the tests that leave it running."""
    yield from _start(tmp_path_factory.mktemp("shared") / "home")


def _cli(env: dict[str, str], *args: str) -> Any:
    """`vsmml ARGS` in this process (the real Typer app) with `env` as its environment."""
    import os

    from typer.testing import CliRunner

    from vsmml.cli import app
    from vsmml.config import get_settings

    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        get_settings.cache_clear()
        return CliRunner().invoke(app, list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def _post(url: str, token: str, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        url + "/v1/events",
        json=events,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def test_sigterm_finishes_the_inflight_ingest_and_closes_the_store(
    server: tuple[ProcessServer, dict[str, str]],
) -> None:
    srv, tokens = server
    events = _batch("term", 10_000)
    answer: dict[str, Any] = {}

    def send() -> None:
        answer["r"] = _post(srv.url, tokens["ingest"], events)

    worker = threading.Thread(target=send)
    worker.start()
    time.sleep(0.5)  # the request is in flight (10,000 events take seconds to store)
    srv.signal(signal.SIGTERM)
    worker.join(timeout=120)
    assert srv.wait() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its clean stop
    r = answer["r"]
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 10_000
    with pytest.raises(httpx.HTTPError):
        httpx.get(srv.url + "/healthz", timeout=2)
    assert {e["event_id"] for e in events} <= _stored_ids(srv.home)
    log = srv.output()
    assert "store closed" in log and "Traceback" not in log


def test_kill_9_during_ingest_loses_no_answered_batch(
    server: tuple[ProcessServer, dict[str, str]],
) -> None:
    srv, tokens = server
    answered: list[list[dict[str, Any]]] = []
    stop = threading.Event()

    def feed() -> None:
        for b in range(10_000):
            if stop.is_set():
                return
            batch = _batch(f"k{b}", 500)
            try:
                r = _post(srv.url, tokens["ingest"], batch)
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                answered.append(batch)

    worker = threading.Thread(target=feed)
    worker.start()
    deadline = time.monotonic() + 120
    while len(answered) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.signal(signal.SIGKILL)
    stop.set()
    worker.join(timeout=60)
    assert srv.wait() == -signal.SIGKILL
    assert len(answered) >= 4
    stored = _stored_ids(srv.home)
    missing = [e["event_id"] for b in answered for e in b if e["event_id"] not in stored]
    assert not missing, f"{len(missing)} events of answered batches lost"


def test_cli_writes_go_through_the_server_and_the_log_keeps_no_secret(
    shared: tuple[ProcessServer, dict[str, str]],
) -> None:
    srv, tokens = shared
    env = {**srv.env, "VSMML_TOKEN": tokens["admin"], "VSMML_STORE_LOCK_TIMEOUT": "1"}
    held = _cli(env, "token", "create", "--scopes", "read")
    assert held.exit_code == 2 and "--server" in held.stderr and "Traceback" not in held.stderr
    assert held.stderr.count("\n") == 1
    made = _cli(env, "token", "create", "--scopes", "read", "--name", "dash", "--server", srv.url)
    assert made.exit_code == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1].split()[-1]
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(srv.url + "/v1/models", headers=auth).status_code == 200
    listed = _cli(env, "token", "list", "--server", srv.url)
    assert "dash" in listed.stdout and secret not in listed.stdout
    gone = _cli(env, "token", "revoke", "dash", "--server", srv.url)
    assert gone.exit_code == 0 and "revoked" in gone.stdout
    assert httpx.get(srv.url + "/v1/models", headers=auth).status_code == 401
    refused = _cli({**env, "VSMML_TOKEN": tokens["ingest"]}, "token", "list", "--server", srv.url)
    assert refused.exit_code == 2 and "403" in refused.stderr and "admin" in refused.stderr
    # webhook traffic with good and bad signatures, and refused tokens, all end up in the log
    body = json.dumps({"zen": "hi", "hook_id": 1}).encode()
    good = "sha256=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    for sig in (good, "sha256=" + "f" * 64):
        headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig}
        httpx.post(
            srv.url + "/v1/webhooks/github",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
    httpx.get(srv.url + "/v1/models", headers={"Authorization": f"Bearer {tokens['ingest']}x"})
    time.sleep(0.2)  # let the access log reach the file
    log = srv.output()
    assert "POST /v1/webhooks/github" in log  # the access log is on
    for secret_text in (*tokens.values(), secret, GH_SECRET, good, good[7:], "f" * 64):
        assert secret_text not in log


def test_a_second_server_on_a_held_store_fails_with_one_line(
    shared: tuple[ProcessServer, dict[str, str]],
) -> None:
    srv, _ = shared
    second = ProcessServer(srv.home)
    proc = subprocess.run(
        [vsmml_bin(), "serve", "--port", str(second.port)],
        env={**second.env, "VSMML_STORE_LOCK_TIMEOUT": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "is in use by PID" in proc.stderr and "Traceback" not in proc.stderr


def test_ingest_replay_and_retry_commands_take_server(
    shared: tuple[ProcessServer, dict[str, str]], tmp_path: Path
) -> None:
    srv, tokens = shared
    env = {**srv.env, "VSMML_TOKEN": tokens["admin"], "VSMML_STORE_LOCK_TIMEOUT": "1"}
    lines = [json.dumps(e) for e in _batch("cli-through", 3)]
    lines.append(json.dumps({"event_id": "cli-bad", "kind": "commit", "ts": "not a time"}))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    held = _cli(env, "ingest", "jsonl", str(events))
    assert held.exit_code == 2 and "--server" in held.stderr and "Traceback" not in held.stderr
    sent = _cli(env, "ingest", "jsonl", str(events), "--server", srv.url)
    assert sent.exit_code == 0, sent.stderr
    assert "4 payload(s) sent in 1 request(s); accepted 3, duplicates 0, quarantined 1" in (
        sent.stdout
    )
    assert "'ts' must be an ISO-8601 timestamp" in sent.stderr  # as the local command
    again = _cli(env, "ingest", "jsonl", str(events), "--server", srv.url)
    assert "accepted 0, duplicates 3" in again.stdout
    stdin = _cli(env, "ingest", "jsonl", "-", "--server", srv.url)
    assert stdin.exit_code == 2 and "standard input" in stdin.stderr
    replayed = _cli(env, "replay", "--source", "jsonl", "--server", srv.url)
    assert replayed.exit_code == 0, replayed.stderr
    assert "jsonl 4; accepted 0, duplicates 3, quarantined 1" in replayed.stdout
    retried = _cli(env, "quarantine", "retry", "--source", "file", "--server", srv.url)
    assert retried.exit_code == 0, retried.stderr
    assert "still failing 1 (left in quarantine)" in retried.stdout  # the bad line, again
    reader = _cli({**env, "VSMML_TOKEN": tokens["ingest"]}, "replay", "--server", srv.url)
    assert reader.exit_code == 2 and "403" in reader.stderr
