"""PagerDuty connector: REST incidents (DevLake's real payloads) and v3 webhooks to events."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vsmml.events.connectors.pagerduty import SKIPPED_EVENT_TYPES, PagerDutyRules, to_events
from vsmml.events.schema import attrs_of, validate_events
from vsmml.pipeline.ingest import pagerduty as reader


@pytest.fixture(scope="module")
def rest(fixtures_dir: Path) -> pd.DataFrame:
    conv = reader.read([fixtures_dir / "pagerduty" / "raw_tables"])
    assert conv.rejects == []
    result = validate_events(conv.events)
    assert result.ok
    return result.events


def test_rest_incidents_match_devlake_issues(rest: pd.DataFrame, fixtures_dir: Path) -> None:
    issues = pd.read_csv(fixtures_dir / "pagerduty/snapshot_tables/issues.csv")
    opened = rest[rest["kind"] == "incident.opened"]
    assert len(opened) == len(issues) == 3
    for row in issues.itertuples():
        match = opened[attrs_of(opened, "html_url") == row.url]
        assert len(match) == 1
        assert match["ts"].iloc[0] == pd.Timestamp(row.created_date)
        assert attrs_of(match, "urgency").iloc[0] == row.urgency
        assert attrs_of(match, "status").iloc[0] == row.original_status
    resolved = rest[rest["kind"] == "incident.resolved"]
    done = issues.dropna(subset=["resolution_date"])
    assert list(resolved["ts"]) == [pd.Timestamp(t) for t in done["resolution_date"]]
    assert set(rest["service"].astype(str)) == {"DevService"}
    assert set(rest["env"].astype(str)) == {"production"}


def test_webhooks_convert_and_skip_known_types(fixtures_dir: Path) -> None:
    conv = reader.read([fixtures_dir / "pagerduty" / "webhooks"])
    assert conv.rejects == []
    got = validate_events(conv.events).events.sort_values("ts", ignore_index=True)
    assert list(got["kind"]) == [
        "incident.opened",
        "incident.resolved",
        "incident.opened",
        "incident.opened",
    ]
    first = got.iloc[0]
    assert first["event_id"] == "pagerduty:PGR0VU2:opened"
    assert first["ts"] == pd.Timestamp("2020-04-09T15:16:27Z")
    assert (first["service"], first["team"]) == ("API Service", "Engineering")
    assert json.loads(first["attrs"])["priority"] == "P1"
    assert got["ts"].iloc[1] == pd.Timestamp("2020-04-09T16:02:45.530Z")
    assert bool(json.loads(got["attrs"].iloc[2])["reopened"])
    assert got["service"].iloc[3] == "Database"


def test_webhook_and_api_give_the_same_ids() -> None:
    incident = {
        "id": "Q1",
        "created_at": "2024-01-02T03:04:05Z",
        "status": "resolved",
        "resolved_at": "2024-01-02T04:00:00Z",
        "service": {"id": "PS1", "summary": "Payments"},
        "urgency": "high",
    }
    hook = {
        "event": {
            "id": "e1",
            "event_type": "incident.triggered",
            "occurred_at": "2024-01-02T03:04:06Z",
            "data": incident,
        }
    }
    api = to_events({"incidents": [incident]}).events
    web = to_events([hook], PagerDutyRules(service_map={"PS1": "payments"})).events
    assert list(api["event_id"]) == ["pagerduty:Q1:opened", "pagerduty:Q1:resolved"]
    assert list(web["event_id"]) == ["pagerduty:Q1:opened"]
    assert web["service"].iloc[0] == "payments"
    single = to_events({"incident": incident}).events
    assert len(single) == 2


def test_bad_payloads_are_rejected_with_reasons() -> None:
    ok = {"id": "Q2", "created_at": "2024-01-02T03:04:05Z", "status": "triggered"}
    raw = [
        ("a.json", ok),
        ("b.json", '{"event": {"event_type": "incident.trig'),
        ("c.json", {"event": {"event_type": "incident.exploded", "data": ok}}),
        ("d.json", {"id": "Q3", "created_at": "1999-12-31T00:00:00Z"}),
        ("e.json", {"id": "Q4", "created_at": "2024-01-02 03:04:05"}),
        ("f.json", {"created_at": "2024-01-02T03:04:05Z"}),
        ("g.json", {"messages": []}),
        (
            "h.json",
            {
                "id": "Q5",
                "created_at": "2024-01-02T03:04:05Z",
                "status": "resolved",
                "last_status_change_at": "2024-01-01T00:00:00Z",
            },
        ),
        ("i.json", "x" * 200),
    ]
    conv = to_events(raw, PagerDutyRules(max_payload_bytes=100))
    assert list(conv.events["incident_id"]) == ["Q2"]
    fields = {r.location: r.field for r in conv.rejects}
    assert fields == {
        "b.json": "payload",
        "c.json": "event.event_type",
        "d.json": "created_at",
        "e.json": "created_at",
        "f.json": "id",
        "g.json": "messages",
        "h.json": "last_status_change_at",
        "i.json": "payload",
    }
    assert "too large" in next(r.reason for r in conv.rejects if r.location == "i.json")


def test_every_documented_type_is_converted_or_counted_as_skipped(fixtures_dir: Path) -> None:
    conv = reader.read([fixtures_dir / "pagerduty" / "webhooks"])
    assert conv.rejects == []
    assert conv.skipped == {
        "incident.acknowledged": 1,
        "incident.priority_updated": 1,
        "service.updated": 1,
    }
    hooks = sorted((fixtures_dir / "pagerduty" / "webhooks").glob("*.json"))
    assert len(set(conv.locations or [])) + sum(conv.skipped.values()) == len(hooks)
    everything = [
        (f"{kind}.json", {"event": {"event_type": kind, "id": kind, "data": {}}})
        for kind in sorted(SKIPPED_EVENT_TYPES)
    ]
    conv = to_events(everything)
    assert conv.rejects == [] and conv.events.empty
    assert conv.skipped == dict.fromkeys(sorted(SKIPPED_EVENT_TYPES), 1)
