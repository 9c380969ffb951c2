"""PagerDuty incidents (REST API objects and v3 webhooks) to `incident.opened`/`incident.resolved`.

Raw input is a list of payloads (or `(location, payload)` pairs), each a dict or JSON text:
- a v3 webhook (`{"event": {"event_type": "incident.triggered", "occurred_at": .., "data": ..}}`),
- a REST list response (`{"incidents": [...]}`), a single GET response (`{"incident": {...}}`),
- or one REST incident object (as in DevLake's `_raw_pagerduty_incidents.data`).

Both shapes give the same event ids (`pagerduty:<incident id>:opened|resolved`), so an incident
seen first through a webhook and later through the API is stored once. Webhook event types that
carry no delivery event (acknowledged, priority_updated, service.updated ...) are counted as
skipped by type; undocumented types are quarantined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.kit import (
    Collector,
    RecordError,
    Row,
    TimeBounds,
    dig,
    iso_time,
    load_json,
    located,
    need,
    text_of,
)
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES

SOURCE: Final = "pagerduty"

CONVERTED_EVENT_TYPES: Final = frozenset(
    {"incident.triggered", "incident.resolved", "incident.reopened"}
)
SKIPPED_EVENT_TYPES: Final = frozenset(
    {
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.annotated",
        "incident.delegated",
        "incident.escalated",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.role.assigned",
        "incident.status_update_published",
        "incident.conference_bridge.updated",
        "incident.custom_field_values.updated",
        "incident.incident_type.changed",
        "incident.service_updated",
        "incident.task.created",
        "incident.task.updated",
        "incident.task.completed",
        "incident.action_invocation.created",
        "incident.action_invocation.updated",
        "incident.action_invocation.terminated",
        "incident.workflow.started",
        "incident.workflow.completed",
        "service.created",
        "service.updated",
        "service.deleted",
        "service.custom_field_values.updated",
        "pagey.ping",
    }
)
"""Every other v3 webhook type PagerDuty documents (developer.pagerduty.com, "Webhooks v3
overview", event types): they carry no delivery event and are counted as skipped by type, so a
subscription to every type fills no quarantine. An undocumented type is quarantined."""


@dataclass(frozen=True)
class PagerDutyRules:
    """How PagerDuty objects map onto our services.

    Attributes:
        service_map: PagerDuty service id or name → our service name (else the PagerDuty name).
        team_from_pagerduty: take `team` from the incident's first PagerDuty team.
        max_payload_bytes: larger JSON texts are quarantined unread (the same limit, and
            default, as every other source: `VSMML_MAX_PAYLOAD_BYTES`).
        bounds: plausible time range.
    """

    service_map: Mapping[str, str] = field(default_factory=dict)
    team_from_pagerduty: bool = True
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    bounds: TimeBounds = field(default_factory=TimeBounds)


def to_events(raw: Any, rules: PagerDutyRules | None = None) -> Conversion:
    """Convert PagerDuty webhooks and REST incidents to canonical events (pure)."""
    rules = rules or PagerDutyRules()
    sink = Collector(SOURCE)
    for location, payload in located(raw):
        try:
            value = load_json(payload, "payload", max_bytes=rules.max_payload_bytes)
        except RecordError as exc:
            sink.reject(location, exc.field, exc.reason, payload)
            continue
        if isinstance(value, Mapping) and isinstance(value.get("incidents"), list):
            for i, incident in enumerate(value["incidents"]):
                sink.run(f"{location} incidents[{i}]", incident, lambda r: _incident(r, rules))
        elif isinstance(value, Mapping) and isinstance(value.get("incident"), Mapping):
            sink.run(location, value["incident"], lambda r: _incident(r, rules))
        elif isinstance(value, Mapping) and "event" in value:
            skipped = _skipped_type(value)
            if skipped is None:
                sink.run(location, value, lambda r: _webhook(r, rules))
            else:
                sink.skip(skipped)
        elif isinstance(value, Mapping) and "messages" in value:
            sink.reject(location, "messages", "is a v2 webhook; only v3 webhooks are read", value)
        else:
            sink.run(location, value, lambda r: _incident(r, rules))
    return sink.result()


def _skipped_type(payload: Mapping[str, Any]) -> str | None:
    """The event type of a v3 webhook vsmml deliberately does not convert, else None."""
    kind = text_of(dig(payload, "event", "event_type"))
    return kind if kind in SKIPPED_EVENT_TYPES else None


def _webhook(payload: Mapping[str, Any], rules: PagerDutyRules) -> Iterable[Row]:
    event = need(payload, "event")
    if not isinstance(event, Mapping):
        raise RecordError("event", "must be an object")
    kind = text_of(event.get("event_type"))
    if not kind:
        raise RecordError("event.event_type", "is required")
    if kind not in CONVERTED_EVENT_TYPES:
        raise RecordError("event.event_type", f"is not a known PagerDuty v3 event type: {kind!r}")
    data = need(event, "data")
    if not isinstance(data, Mapping):
        raise RecordError("event.data", "must be an incident object")
    occurred = iso_time(event.get("occurred_at"), "event.occurred_at", bounds=rules.bounds)
    base = _base(data, rules, prefix="event.data.")
    incident_id = base["incident_id"]
    extra: dict[str, Any] = {
        "webhook_event_id": text_of(event.get("id")),
        "agent": text_of(dig(event, "agent", "summary")),
    }
    if kind == "incident.triggered":
        created = data.get("created_at")
        ts = (
            occurred
            if created is None
            else iso_time(created, "event.data.created_at", bounds=rules.bounds)
        )
        return [_row(base, "incident.opened", ts, f"pagerduty:{incident_id}:opened", extra)]
    if kind == "incident.resolved":
        return [
            _row(base, "incident.resolved", occurred, f"pagerduty:{incident_id}:resolved", extra)
        ]
    event_id = text_of(event.get("id")) or f"{incident_id}:{occurred.isoformat()}"
    extra["reopened"] = True
    return [_row(base, "incident.opened", occurred, f"pagerduty:reopened:{event_id}", extra)]


def _incident(incident: Any, rules: PagerDutyRules) -> Iterable[Row]:
    if not isinstance(incident, Mapping):
        raise RecordError("payload", f"must be an incident object, got {type(incident).__name__}")
    base = _base(incident, rules, prefix="")
    incident_id = base["incident_id"]
    created = iso_time(incident.get("created_at"), "created_at", bounds=rules.bounds)
    rows = [_row(base, "incident.opened", created, f"pagerduty:{incident_id}:opened", {})]
    if text_of(incident.get("status")) == "resolved":
        field_name = "resolved_at" if incident.get("resolved_at") else "last_status_change_at"
        resolved = iso_time(incident.get(field_name), field_name, bounds=rules.bounds)
        if resolved < created:
            raise RecordError(field_name, f"is before created_at ({resolved} < {created})")
        rows.append(
            _row(base, "incident.resolved", resolved, f"pagerduty:{incident_id}:resolved", {})
        )
    return rows


def _base(incident: Mapping[str, Any], rules: PagerDutyRules, *, prefix: str) -> Row:
    incident_id = text_of(incident.get("id"))
    if not incident_id:
        raise RecordError(f"{prefix}id", "is required (incident id)")
    service_id = text_of(dig(incident, "service", "id"))
    service_name = text_of(dig(incident, "service", "summary")) or text_of(
        dig(incident, "service", "name")
    )
    service = rules.service_map.get(service_id or "") or rules.service_map.get(service_name or "")
    raw_teams = incident.get("teams")
    teams: list[Any] = raw_teams if isinstance(raw_teams, list) else []
    team_names = [t for t in (text_of(dig(x, "summary")) for x in teams) if t]
    assignees = [
        text_of(dig(a, "assignee", "summary")) or text_of(dig(a, "summary"))
        for a in (incident.get("assignments") or incident.get("assignees") or [])
    ]
    attrs = {
        "number": incident.get("incident_number") or incident.get("number"),
        "title": text_of(incident.get("title")),
        "summary": text_of(incident.get("summary")),
        "status": text_of(incident.get("status")),
        "urgency": text_of(incident.get("urgency")),
        "priority": text_of(dig(incident, "priority", "summary")),
        "service_id": service_id,
        "service_name": service_name,
        "incident_key": text_of(incident.get("incident_key")),
        "html_url": text_of(incident.get("html_url")),
        "escalation_policy": text_of(dig(incident, "escalation_policy", "summary")),
        "teams": team_names or None,
        "assignees": [a for a in assignees if a] or None,
    }
    return {
        "incident_id": incident_id,
        "service": service or service_name,
        "team": team_names[0] if team_names and rules.team_from_pagerduty else None,
        "env": "production",
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }


def _row(base: Row, kind: str, ts: Any, event_id: str, extra: dict[str, Any]) -> Row:
    attrs = {**base["attrs"], **{k: v for k, v in extra.items() if v is not None}}
    status = "started" if kind == "incident.opened" else "resolved"
    return {**base, "event_id": event_id, "kind": kind, "ts": ts, "status": status, "attrs": attrs}
