"""Ingest over HTTP: a canonical batch, CDEvents and webhook deliveries into the served store.

Each request is one batch through `pipeline.ingest.ingest_units`, the path `vsmml ingest` takes:
every raw payload is kept before it is converted, bad records go to quarantine with their
reason, and the answer counts what was accepted, duplicate, quarantined and skipped. The server
answers only after the store committed, so a 2xx means the batch is durable; re-posting a batch
stores no event twice (ids are derived from content where a record names none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vsmml.events.catalog import Catalog
from vsmml.events.connectors.base import Reject
from vsmml.pipeline.ingest import IngestReport, ingest_units, load_catalog
from vsmml.pipeline.service_body import BatchTooLargeError, MalformedBodyError, parse_json
from vsmml.pipeline.service_state import Service

__all__ = ["IngestAnswer", "ingest_delivery", "ingest_events", "ingest_payloads"]

_SHOWN_MESSAGES: Final = 20
WEBHOOK_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "github": ("x-github-event", "x-github-delivery", "content-type"),
}
"""Headers kept with a delivery's raw payload because the converter needs them on replay."""


@dataclass(frozen=True)
class IngestAnswer:
    """What one request did: records read and, for each, accepted, duplicate, quarantined or
    skipped (by type); the first reasons; which request it was."""

    request_id: str
    report: IngestReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        r = self.report
        return {
            "request_id": self.request_id,
            "source": r.source,
            "payloads": r.payloads,
            "accepted": r.accepted,
            "duplicates": r.duplicates,
            "quarantined": r.quarantined,
            "skipped": sum(r.skipped.values()),
            "skipped_by_type": dict(sorted(r.skipped.items())),
            "messages": r.messages[:_SHOWN_MESSAGES],
        }


def _catalog(service: Service) -> Catalog | None:
    path: Path | None = service.settings.catalog
    if path is None:
        return None
    return service.cached(f"catalog:{path}", lambda: load_catalog([path]))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def ingest_events(service: Service, body: bytes, request_id: str) -> IngestAnswer:
    """``POST /v1/events``: a JSON array of canonical events (or ``{"events": [...]}``)."""
    doc = parse_json(body, max_depth=service.settings.max_request_depth)
    if isinstance(doc, dict) and "events" in doc:
        doc = doc["events"]
    elif isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise MalformedBodyError(
            "expected a JSON array of events, or an object with an 'events' array", "events"
        )
    _check_size(len(doc), service.settings.max_batch_events)
    try:
        units = [(f"http {request_id}[{i}]", _dumps(rec)) for i, rec in enumerate(doc)]
    except ValueError as exc:
        raise MalformedBodyError(f"events: {exc}", "events") from None
    return IngestAnswer(request_id, _ingest(service, "jsonl", units))


def ingest_delivery(
    service: Service, source: str, headers: Mapping[str, str], body: bytes, request_id: str
) -> IngestAnswer:
    """A CDEvents or webhook delivery (already authenticated): kept raw, converted, stored.

    GitHub's event type travels in a header, so its raw payload is kept as
    ``{"headers": {...}, "body": "<text>"}``, the envelope its converter reads on replay.
    """
    doc = parse_json(body, max_depth=service.settings.max_request_depth)
    if isinstance(doc, list):
        _check_size(len(doc), service.settings.max_batch_events)
    text = body.decode("utf-8")
    keep = WEBHOOK_HEADERS.get(source)
    if keep is not None:
        low = {k.lower(): v for k, v in headers.items()}
        text = _dumps({"headers": {k: low[k] for k in keep if k in low}, "body": text})
    return IngestAnswer(request_id, _ingest(service, source, [(f"http {request_id}", text)]))


def ingest_payloads(service: Service, source: str, body: bytes, request_id: str) -> IngestAnswer:
    """``POST /v1/ingest/{source}``: raw payloads a client read from its files (what
    `vsmml ingest SOURCE PATH --server URL` sends): ``{"units": [{"location", "payload"}],
    "rules": {...}}``, kept and converted here exactly as a local ingest would."""
    from vsmml.pipeline.ingest.registry import get_source

    spec = get_source(source)
    if not spec.keeps_payloads:
        raise MalformedBodyError(
            f"source {source!r} reads whole folders; convert locally and post events to /v1/events",
            "source",
        )
    doc = parse_json(body, max_depth=service.settings.max_request_depth)
    units = doc.get("units") if isinstance(doc, dict) else None
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(units, list) or not isinstance(rules, dict | None):
        raise MalformedBodyError('expected {"units": [{"location", "payload"}], "rules"}', "units")
    _check_size(len(units), service.settings.max_batch_events)
    located: list[tuple[str, str] | Reject] = _rejects(doc.get("rejects"), source)
    for i, unit in enumerate(units):
        if not (
            isinstance(unit, dict)
            and isinstance(unit.get("location"), str)
            and isinstance(unit.get("payload"), str)
        ):
            raise MalformedBodyError(f"units[{i}]: needs text 'location' and 'payload'", "units")
        located.append((unit["location"], unit["payload"]))
    catalog = _catalog(service)
    with service.writing() as store:
        report = ingest_units(
            store, spec, located, rules or {}, batch_size=len(located) + 1, catalog=catalog
        )
    return IngestAnswer(request_id, report)


_REJECT_FIELDS: Final = ("location", "field", "reason", "record")


def _rejects(items: Any, source: str) -> list[tuple[str, str] | Reject]:
    """Records the client's reader refused (too large, unreadable): quarantined here too."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise MalformedBodyError("'rejects' must be a list", "rejects")
    out: list[tuple[str, str] | Reject] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in _REJECT_FIELDS
        ):
            raise MalformedBodyError(f"rejects[{i}]: needs text {list(_REJECT_FIELDS)}", "rejects")
        out.append(
            Reject(source=str(item.get("source") or source), **{k: item[k] for k in _REJECT_FIELDS})
        )
    return out


def _check_size(n: int, limit: int) -> None:
    if n > limit:
        raise BatchTooLargeError(
            f"{n} records in one request, above the limit of {limit} (VSMML_MAX_BATCH_EVENTS);"
            " split the batch",
            "events",
        )


def _ingest(service: Service, source: str, units: list[tuple[str, str]]) -> IngestReport:
    catalog = _catalog(service)
    with service.writing() as store:
        return ingest_units(store, source, units, batch_size=len(units) + 1, catalog=catalog)
