"""The engines as a user runs them: `vsmml metrics --engine dask` right after `vsmml demo` (the
command exports and refreshes the lake itself, on a LocalCluster it starts), and
`--engine local` streaming a store too big to read at once, both giving the local csv byte for
byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lake_org import Org, build_org
from vsmml.cli import app
from vsmml.config import get_settings
from vsmml.pipeline.lake import load_manifest
from vsmml.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # a real cluster and store

CSV = ["metrics", "--by", "service", "--freq", "W", "--format", "csv"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("VSMML_DASK_WORKERS", "2")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _run(args: list[str]) -> tuple[str, str]:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stdout[-500:], result.stderr[-2000:])
    return result.stdout, result.stderr


def _shared_incident(store: Store) -> pd.DataFrame:
    """An incident of the first service that names a production deployment of the second."""
    deploys = store.read_events(kinds=["deploy.finished"])
    prod = deploys.loc[(deploys["env"] == "production") & (deploys["status"] == "success")]
    a, b = sorted(prod["service"].astype(str).unique())[:2]
    target = prod.loc[prod["service"] == b].iloc[-3]
    t0 = target["ts"]
    return pd.DataFrame(
        {
            "event_id": ["late:inc-open", "late:inc-resolved"],
            "kind": ["incident.opened", "incident.resolved"],
            "ts": [(t0 + pd.Timedelta(minutes=m)).isoformat() for m in (15, 120)],
            "source": "test",
            "service": [a, a],
            "incident_id": ["INC-late-shared", "INC-late-shared"],
            "deploy_id": [target["deploy_id"], None],
        }
    )


def test_dask_right_after_demo_exports_then_refreshes_the_lake_itself(
    vsmml_home: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("VSMML_DASK_PARTITION_EVENTS", "1000")  # every linked group its own partition
    _run(["demo", "--days", "40", "--services", "4", "--no-train"])
    lake = vsmml_home / "lake"
    assert not lake.exists()  # nobody exported: the dask command must
    local, _ = _run(CSV)
    dask, err = _run([*CSV, "--engine", "dask"])
    assert dask == local and local.count("\n") > 500
    with Store.from_settings(get_settings(), read_only=True) as store:
        stored = int(store.connection.execute("SELECT count(*) FROM events").fetchone()[0])
    assert load_manifest(lake).rows == stored
    assert f"lake export batch 1: +{stored:,} events" in err
    assert "on LocalCluster, 2 worker(s)" in err
    assert re.search(r"\(lake [\d.]+ s, cluster [\d.]+ s, plan [\d.]+ s, work [\d.]+ s\)", err)
    assert "8787" not in err and "Warning" not in err  # nothing but the one run line
    before = int(re.search(r"(\d+) partition", err).group(1))  # type: ignore[union-attr]
    assert before >= 4

    # a shared incident arrives later: the next run adds it and keeps the two services together
    with Store.from_settings(get_settings()) as store:
        assert store.write_events(_shared_incident(store)).accepted == 2
    local2, _ = _run(CSV)
    assert local2 != local  # the incident changed the second service's failures
    dask2, err2 = _run([*CSV, "--engine", "dask"])
    assert dask2 == local2
    assert "lake export batch 2: +2 events" in err2
    assert int(re.search(r"(\d+) partition", err2).group(1)) == before - 1  # type: ignore[union-attr]
    assert json.loads((lake / "_vsmml_lake.json").read_text())["exports"][-1]["batch"] == 2


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return build_org(tmp_path_factory.mktemp("stream") / "home", partition_events=1_000)


@pytest.mark.parametrize("by", ["service", "team", "repo", "all"])
def test_local_streams_a_store_above_the_threshold_and_prints_the_same_csv(
    org: Org, env: pytest.MonkeyPatch, by: str
) -> None:
    env.setenv("VSMML_HOME", str(org.settings.home))
    env.setenv("VSMML_DASK_PARTITION_EVENTS", "1000")
    args = ["metrics", "--by", by, "--freq", "W", "--format", "csv"]
    in_memory, quiet = _run(args)  # the store is below the default threshold
    assert quiet == ""
    env.setenv("VSMML_LOCAL_STREAM_EVENTS", "1000")
    streamed, err = _run(args)
    assert streamed == in_memory and in_memory.count("\n") > 100
    assert err.startswith("local: ") and "this process, one partition at a time" in err
    parts = int(re.search(r"(\d+) partition", err).group(1))  # type: ignore[union-attr]
    # one group is one partition; by service the linked groups really were apart
    assert parts == 1 if by == "all" else parts >= 3
    peak = re.search(r"peak ([\d,]+) MiB per worker", err)
    assert peak is not None and int(peak.group(1).replace(",", "")) > 50
