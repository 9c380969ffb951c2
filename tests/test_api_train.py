"""`vsmml train ... --server URL`: the running server trains on the store it owns.

A real `vsmml serve` subprocess holds a store with a synthetic organisation; `vsmml train risk
--store` from another process cannot read it (one line naming --server), with --server the
server trains, registers in its home and scores with the new champion at once; a second
training meanwhile is refused with 409 (in-process server, the lock held by the test).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_server import ProcessServer, ThreadServer, vsmml_bin

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _home(home: Path) -> str:
    """A store with a small synthetic organisation and an admin token (returned)."""
    from vsmml.config import Settings
    from vsmml.pipeline.demo import ingest_synthetic
    from vsmml.pipeline.tokens import TokenRequest, create_token
    from vsmml.store import Store
    from vsmml.synth import SynthConfig

    with Store.from_settings(Settings(home=home)) as store:
        ingest_synthetic(store, SynthConfig(n_services=3, n_teams=1, days=120, seed=11))
        create_token(store, TokenRequest("read", "reader"))
        return create_token(store, TokenRequest("admin,read", "root")).token


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ProcessServer, str]]:
    home = tmp_path / "home"
    token = _home(home)
    srv = ProcessServer(home).start(ready=True)
    try:
        yield srv, token
    finally:
        srv.stop()


def _vsmml(
    args: list[str], home: Path, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VSMML_HOME": str(home)}
    env.pop("VSMML_TOKEN", None)
    if token is not None:
        env["VSMML_TOKEN"] = token
    return subprocess.run(
        [vsmml_bin(), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_train_store_goes_through_the_server(served: tuple[ProcessServer, str]) -> None:
    srv, token = served
    home = srv.home
    locked = _vsmml(["train", "risk", "--store"], home)
    assert locked.returncode == 2, locked.stdout + locked.stderr
    assert "--server URL" in locked.stderr and "Traceback" not in locked.stderr
    before = httpx.post(
        srv.url + "/v1/risk/score",
        json={"la": 400, "ld": 20, "nf": 6},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert before["model"]["source"] == "default"

    done = _vsmml(["train", "risk", "--store", "--server", srv.url], home, token)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "risk: training on the store" in out and "changes" in out
    assert "registered vsmml-risk v1" in out and "promoted to champion" in out
    assert "server: now scoring with risk 1 (home), was default-1 (default)" in out
    assert token not in out + done.stderr
    header = next(line for line in out.splitlines() if line.split()[:1] == ["model"])
    assert {"auc", "brier", "popt"} <= set(header.split())
    assert (home / "models" / "risk").is_dir()

    after = httpx.post(
        srv.url + "/v1/risk/score",
        json={"la": 400, "ld": 20, "nf": 6},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert after["model"] == {"name": "risk", "version": "1", "source": "home"}
    assert after["probability"] != before["probability"]
    listed = httpx.get(srv.url + "/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert listed.json()["models"][0]["version"] == "1"

    no_token = _vsmml(["train", "risk", "--server", srv.url], home)
    assert no_token.returncode == 2 and "VSMML_TOKEN" in no_token.stderr
    data = _vsmml(["train", "risk", "--data", "x.csv", "--server", srv.url], home, token)
    assert data.returncode == 2 and "without --server" in data.stderr
    burn_store = _vsmml(["train", "burn", "--store", "--server", srv.url], home, token)
    assert burn_store.returncode == 2 and "--store trains risk only" in burn_store.stderr


def test_one_training_at_a_time_and_scope(tmp_path: Path) -> None:
    from vsmml.api.app import create_app
    from vsmml.config import Settings
    from vsmml.pipeline import service_training

    home = tmp_path / "home"
    token = _home(home)
    with ThreadServer(create_app(Settings(home=home))) as srv:
        auth = {"Authorization": f"Bearer {token}"}
        with service_training._TRAINING:  # a training is running
            busy = httpx.post(srv.url + "/v1/admin/train", json={"model": "risk"}, headers=auth)
        assert busy.status_code == 409, busy.text
        assert busy.json()["error"]["code"] == "training_running"
        bad = httpx.post(srv.url + "/v1/admin/train", json={"model": "all", "data": "/etc/x"},
                         headers=auth)  # fmt: skip
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "data"
        wrong = httpx.post(srv.url + "/v1/admin/train", json={"model": "nope"}, headers=auth)
        assert wrong.status_code == 422
