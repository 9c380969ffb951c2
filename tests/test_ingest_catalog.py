"""A service catalogue attributes ingested events to services and teams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.errors import SchemaError
from vsmml.pipeline.ingest import ingest_paths, load_catalog
from vsmml.store import Store


def _jsonl(path: Path) -> Path:
    rows = [
        {
            "event_id": "a",
            "kind": "commit",
            "ts": "2026-03-01T10:00:00Z",
            "source": "file",
            "repo": "acme/checkout",
            "sha": "1",
        },
        {
            "event_id": "b",
            "kind": "commit",
            "ts": "2026-03-01T11:00:00Z",
            "source": "file",
            "repo": "acme/inventory",
            "sha": "2",
        },
        {
            "event_id": "c",
            "kind": "commit",
            "ts": "2026-03-01T12:00:00Z",
            "source": "file",
            "repo": "someone/else",
            "sha": "3",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_catalogue_fills_service_and_team(tmp_path: Path, fixtures_dir: Path) -> None:
    catalog = load_catalog([fixtures_dir / "catalog" / "services.yaml"])
    with Store(tmp_path / "s.duckdb") as store:
        report = ingest_paths(store, "jsonl", [_jsonl(tmp_path / "e.jsonl")], catalog=catalog)
        events = store.read_events().set_index("event_id")
    assert report.accepted == 3
    assert events.loc["a", "service"] == "checkout"
    assert events.loc["a", "team"] == "payments"
    assert events.loc["b", "service"] == "inventory"
    assert events.loc["b", "team"] == "logistics"
    assert events["service"].isna()["c"]


def test_ingest_command_takes_catalogue_from_option_or_setting(
    vsmml_home: Path, fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vsmml.config import get_settings

    events = _jsonl(tmp_path / "e.jsonl")
    monkeypatch.setenv("VSMML_CATALOG", str(fixtures_dir / "catalog" / "services.yaml"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest", "jsonl", str(events)])
    assert result.exit_code == 0, result.output
    with Store.from_settings(read_only=True) as store:
        services = store.read_events().set_index("event_id")["service"]
    assert services["a"] == "checkout"


def test_unreadable_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read"):
        load_catalog([tmp_path / "missing.yaml"])


def test_empty_catalogue_file_is_a_warning_not_an_error(vsmml_home: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vsmml.cli import app

    empty = tmp_path / "catalog-info.yaml"
    empty.write_text("", encoding="utf-8")
    fixtures = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "github"
    result = CliRunner().invoke(app, ["ingest", "github", str(fixtures), "--catalog", str(empty)])
    assert result.exit_code == 0, result.output
    assert f"warning: catalogue {empty} is empty" in result.stderr
    assert "accepted" in result.stdout
