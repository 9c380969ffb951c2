"""`vsmml metrics` end to end over a temporary store: table, csv and json output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metrics_events import deploy, ev, frame, pr
from vsmml.cli import app
from vsmml.metrics.table import all_metrics


@pytest.fixture
def store_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from vsmml.config import get_settings
    from vsmml.store import Store

    monkeypatch.setenv("VSMML_HOME", str(tmp_path))
    get_settings.cache_clear()
    rows = pr("c1", "a1", 0, 5) + deploy("d1", "a1", 8)
    rows += [
        ev("incident.opened", 8.5, incident_id="i1"),
        ev("incident.resolved", 9.5, incident_id="i1"),
    ]
    rows += [ev("commit", 200, sha="t1"), *deploy("d2", "t1", 201)]
    with Store.from_settings() as s:
        s.write_events(frame(rows))
    yield tmp_path
    get_settings.cache_clear()


def test_csv_is_data_only_and_deterministic(store_home: Path) -> None:
    runner = CliRunner()
    a = runner.invoke(app, ["metrics", "--format", "csv", "--by", "service", "--freq", "W"])
    b = runner.invoke(app, ["metrics", "--format", "csv", "--by", "service", "--freq", "W"])
    assert a.exit_code == 0, a.output
    assert a.stdout == b.stdout
    lines = a.stdout.splitlines()
    assert lines[0] == "service,period,metric,value,n"
    assert "api,2026-03-02T00:00:00Z,deployments,1,1" in lines


def test_json_window_and_profile(store_home: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "metrics",
            "--format",
            "json",
            "--by",
            "all",
            "--freq",
            "W",
            "--profile",
            "gitlab",
            "--since",
            "2026-03-09",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {r["period"] for r in rows} == {"2026-03-09T00:00:00Z"}
    cfr = [r for r in rows if r["metric"] == "change_failure_rate"]
    assert cfr and cfr[0]["value"] == 0.0  # the incident is in the first week


def test_table_and_errors(store_home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["metrics", "--by", "team", "--freq", "all"])
    assert res.exit_code == 0, res.output
    assert "DORA (vsmml profile" in res.stdout and "Link coverage" in res.stdout
    bad = runner.invoke(app, ["metrics", "--profile", "nope"])
    assert bad.exit_code == 2 and "unknown profile" in bad.output
    bad_date = runner.invoke(app, ["metrics", "--since", "yesterday-ish"])
    assert bad_date.exit_code != 0


def test_all_metrics_python_api() -> None:
    events = frame(pr("c1", "a1", 0, 5) + deploy("d1", "a1", 8))
    tidy = all_metrics(events, None, None, "fourkeys")
    assert {"deployments", "lead_time_median", "stage_coding_lead_median"} <= set(tidy["metric"])
