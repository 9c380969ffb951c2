"""CDEvents connector: plain JSON, JSON Lines and CloudEvents (binary or structured) → events.

Reads CDEvents 0.5.x (`context.specversion`) and 0.4.x (`context.version`). Every event is
validated against the JSON schemas of its own version, shipped with the package (v0.5.1, v0.4.1
and v0.4.0, see `cdevents_specs`), mapped to a canonical kind (see `cdevents_map`), and keyed by
(context.source, context.id, context.type): producers and the spec's own examples reuse ids across
types.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
from pydantic import Field

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.cdevents_map import TYPE_MAP, kind_for, to_row
from vsmml.events.connectors.cdevents_specs import (
    READ_VERSIONS,
    TYPE_RE,
    Schemas,
    schema_problem,
    spec_of,
)
from vsmml.events.connectors.cdevents_specs import schemas as spec_schemas
from vsmml.events.connectors.kit import Collector, iter_objects, objects_from, stable_id
from vsmml.events.connectors.payloads import body_head, clip, http_content_type, parse_records
from vsmml.events.connectors.source_rules import SourceRules
from vsmml.events.schema import validate_events

SOURCE: Final = "cdevents"
SPEC_VERSION: Final = "0.5.1"
SUPPORTED_SPECS: Final = ("0.4", "0.5")
_JSON_TYPES: Final = ("application/json", "text/json", "application/cdevents+json")
_JSONL_TYPES: Final = ("application/x-ndjson", "application/jsonl", "application/json-lines")


class CDEventsRules(SourceRules):
    """Rules for CDEvents: the shared environment/incident rules plus schema validation."""

    validate_schema: bool = Field(
        default=True, description="Validate each event against the CDEvents JSON schemas."
    )


def schemas(version: str = "0.5.1") -> Schemas:
    """`subject.predicate` → (type string, validator, quick check) of a shipped schema version
    (0.5.1, 0.4.1, 0.4.0)."""
    return spec_schemas(version)


def to_events(
    raw: str | bytes | Mapping[str, Any] | list[Any],
    rules: SourceRules | None = None,
    *,
    location: str = "payload",
) -> Conversion:
    """Convert CDEvents (a JSON text, JSON Lines, a dict or a list of dicts) to canonical rows.

    Structured-mode CloudEvents envelopes (`specversion` + `data`) are unwrapped. Nothing is
    raised for bad input: each bad event is a `Reject` naming its location and field.
    """
    rules = CDEventsRules.coerce(rules)
    col = Collector(SOURCE)
    objects = objects_from(raw, col, location=location, max_bytes=rules.max_payload_bytes)
    for rec in objects:
        _convert_one(rec.value, rec.location, rules, col)
    return col.result()


def from_http(
    headers: Mapping[str, str],
    body: str | bytes,
    rules: SourceRules | None = None,
    *,
    location: str = "http",
) -> Conversion:
    """Convert one HTTP delivery: CloudEvents binary (`ce-*` headers) or structured mode, or
    plain CDEvents JSON / JSON Lines. The HTTP service reuses this as is."""
    rules = CDEventsRules.coerce(rules)
    low, ctype = http_content_type(headers)
    col = Collector(SOURCE)
    if ctype in ("application/cloudevents+json", "application/cloudevents-batch+json"):
        return to_events(body, rules, location=location)
    if ctype not in (*_JSON_TYPES, *_JSONL_TYPES) and not ctype.endswith("+json"):
        col.reject(
            location,
            "content-type",
            f"{ctype!r} is not supported (send application/json, application/x-ndjson or "
            "application/cloudevents+json)",
            body_head(body),
        )
        return col.result()
    if "ce-type" not in low:
        return to_events(body, rules, location=location)
    records, rejects = parse_records(
        body, source=SOURCE, location=location, max_bytes=rules.max_payload_bytes
    )
    col.extend_rejects(rejects)
    for rec in iter_objects(records, col):
        doc = rec.value
        ce_type = low["ce-type"]
        ctx_type = (
            doc.get("context", {}).get("type") if isinstance(doc.get("context"), dict) else None
        )
        if ctx_type is not None and ctx_type != ce_type:
            col.reject(
                rec.location,
                "ce-type",
                f"header {ce_type!r} differs from the CDEvent's context.type {ctx_type!r}",
                doc,
            )
            continue
        _convert_one(doc, rec.location, rules, col)
    return col.result()


def to_frame(
    raw: str | bytes | Mapping[str, Any] | list[Any], rules: SourceRules | None = None
) -> pd.DataFrame:
    """Notebook helper: the valid canonical events only (see `to_events` for the rejects)."""
    return validate_events(to_events(raw, rules).events).events


def _unwrap(doc: dict[str, Any], location: str, col: Collector) -> dict[str, Any] | None:
    """Return the CDEvent inside a structured CloudEvent, or the document itself."""
    if "context" in doc or "specversion" not in doc:
        return doc
    if "data_base64" in doc:
        try:
            data: Any = json.loads(base64.b64decode(doc["data_base64"], validate=True))
        except (binascii.Error, ValueError, TypeError) as exc:
            col.reject(location, "data_base64", f"is not base64-encoded JSON ({exc})", doc)
            return None
    else:
        data = doc.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            col.reject(location, "data", f"is not valid JSON ({exc})", doc)
            return None
    if not isinstance(data, dict):
        col.reject(location, "data", "must hold the CDEvent as a JSON object", doc)
        return None
    ce_type = doc.get("type")
    ctx_type = (
        data.get("context", {}).get("type") if isinstance(data.get("context"), dict) else None
    )
    if ce_type is not None and ctx_type is not None and ce_type != ctx_type:
        col.reject(
            location,
            "type",
            f"{ce_type!r} differs from the CDEvent's context.type {ctx_type!r}",
            doc,
        )
        return None
    return data


def _convert_one(doc: dict[str, Any], location: str, rules: CDEventsRules, col: Collector) -> None:
    event = _unwrap(doc, location, col)
    if event is None:
        return
    context, subject = event.get("context"), event.get("subject")
    if not isinstance(context, dict):
        col.reject(location, "context", "is missing or not an object (not a CDEvent)", event)
        return
    if not isinstance(subject, dict):
        col.reject(location, "subject", "is missing or not an object (not a CDEvent)", event)
        return
    ctype = context.get("type")
    match = TYPE_RE.match(ctype) if isinstance(ctype, str) else None
    if match is None:
        col.reject(
            location, "context.type", f"{clip(repr(ctype), 120)} is not a CDEvents type", event
        )
        return
    key = f"{match['subject']}.{match['predicate']}"
    if key not in TYPE_MAP or key not in schemas() or kind_for(key) is None:
        col.reject(location, "context.type", f"{ctype!r} is an unknown CDEvents event type", event)
        return
    version, spec = spec_of(context)
    if version is None:
        field = "context.version" if "specversion" not in context else "context.specversion"
        col.reject(location, field, f"{spec!r} is not supported ({READ_VERSIONS} are)", event)
        return
    if key not in schemas(version):
        col.reject(location, "context.type", f"{ctype!r} is not a CDEvents {spec} type", event)
        return
    if rules.validate_schema:
        problem = schema_problem(event, key, version)
        if problem is not None:
            col.reject(location, problem[0], problem[1], event)
            return
    row = to_row(event, key, rules)
    row["event_id"] = stable_id(SOURCE, context.get("source"), context.get("id"), ctype)
    col.add(row, location=location, record=event, check_keys=bool(row["attrs"]["exact_kind"]))
