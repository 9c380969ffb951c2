"""The demo pipeline end to end: synthetic organisation → DuckDB store under VSMML_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.config import Settings
from vsmml.pipeline.demo import ingest_synthetic, misconfigured_webhook_events, run_demo
from vsmml.store import Store
from vsmml.synth import SynthConfig, generate

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # demo runs, real store


def test_ingest_synthetic_stores_every_generated_event_once(tmp_path: Path) -> None:
    config = SynthConfig.preset("tiny")
    seen: list[int] = []
    with Store(tmp_path / "s.duckdb") as store:
        report = ingest_synthetic(store, config, services_per_chunk=1, progress=seen.append)
        again = ingest_synthetic(store, config, services_per_chunk=2)
        stored = store.read_events()
    expected = generate(config).events
    assert report.accepted == len(expected)
    assert report.quarantined == 0
    assert seen == sorted(seen)
    assert seen[-1] == len(expected)
    assert (again.accepted, again.duplicates) == (0, len(expected))
    assert set(stored["event_id"]) == set(expected["event_id"])
    assert stored["ts"].is_monotonic_increasing


def test_misconfigured_records_are_quarantined_and_the_good_one_lands(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        report = store.write_events(misconfigured_webhook_events(SynthConfig.preset("tiny")))
        q = store.read_quarantine()
    assert (report.accepted, report.quarantined) == (1, 3)
    assert q["field"].tolist() == ["kind", "ts", "ts"]


def test_run_demo_fills_the_store_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    result = run_demo(settings, seed=7, days=14, services=3, train=False)
    assert result.store_path == tmp_path / "home" / "vsmml.duckdb"
    assert result.store_path.exists()
    by_kind = result.summary["by_kind"].set_index("kind")["events"]
    assert by_kind["slo.sample"] > 0
    assert by_kind["deploy.finished"] > 0
    assert result.report.quarantined == 3
    assert len(result.quarantine) == 3
    with Store(result.store_path, read_only=True) as store:
        assert store.counts()["events"] == result.report.accepted
        first = store.read_events(kinds=["commit"])["ts"].min()
    assert first >= pd.Timestamp("2000-01-01", tz="UTC")


def test_demo_command_prints_the_summary(vsmml_home: Path) -> None:
    args = ["demo", "--days", "60", "--services", "3", "--seed", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Events by kind" in result.output
    assert "slo.sample" in result.output
    assert "3 quarantined" in result.output
    assert "'deploy.completed'" in result.output
    assert (vsmml_home / "vsmml.duckdb").exists()
    # trained on the store's own history, with the features the tour scores with
    assert "Trained the change-risk model" in result.output
    (meta_path,) = (vsmml_home / "models" / "risk").glob("*/metadata.json")
    meta = json.loads(meta_path.read_text())
    assert "the store" in meta["data_source"]
    assert {"deploy_batch_size", "pipeline_flakiness", "la"} <= set(meta["features"])


def test_demo_with_too_little_history_still_tours_with_the_default_model(
    vsmml_home: Path,
) -> None:
    result = CliRunner().invoke(app, ["demo", "--days", "7", "--services", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "risk model not trained:" in result.output
    assert "(default)" in result.output


def test_train_risk_on_the_store_history(vsmml_home: Path) -> None:
    empty = CliRunner().invoke(app, ["train", "risk", "--store"])
    assert empty.exit_code == 2 and "vsmml demo" in empty.output  # no store yet
    args = ["demo", "--days", "60", "--services", "3", "--seed", "4", "--no-train"]
    assert CliRunner().invoke(app, args).exit_code == 0
    result = CliRunner().invoke(app, ["train", "risk", "--store"])
    assert result.exit_code == 0, result.output
    assert "changes that reached production" in result.output
    assert "registered vsmml-risk v1" in result.output
    for bad in (["train", "burn", "--store"], ["train", "risk", "--store", "--data", "x.csv"]):
        refused = CliRunner().invoke(app, bad)
        assert refused.exit_code == 2 and "--store" in refused.output
