"""Canonical JSON Lines / CSV connector: rows already in the canonical columns, for everything else.

Each record is an object whose keys are canonical columns (`kind`, `ts`, `source`, keys, `attrs`
as an object or JSON text). CSV rows arrive as objects too (the reader turns each row into one):
empty cells are nulls. Keys that are not canonical columns are folded into `attrs` (or refused
with `strict=True`). The events are validated later, by the store, like any other source's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from pydantic import Field

from vsmml.deferred import deferred
from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.kit import Collector, objects_from
from vsmml.events.connectors.source_rules import SourceRules
from vsmml.events.schema import EVENT_COLUMNS, validate_events

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = deferred("pandas")

SOURCE: Final = "file"
_COLUMNS: Final = frozenset(EVENT_COLUMNS)


class FileRules(SourceRules):
    """Rules for canonical files: the default `source`, and what to do with unknown columns."""

    source: str = Field(default=SOURCE, description="`source` of rows that name none.")
    strict: bool = Field(
        default=False,
        description="Refuse records with non-canonical columns (else they go into attrs).",
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_events(
    raw: Any, rules: SourceRules | None = None, *, location: str = "payload"
) -> Conversion:
    """Convert canonical records (JSON Lines text, objects, or located pairs) to event rows."""
    rules = FileRules.coerce(rules)
    col = Collector(rules.source)
    objects = objects_from(raw, col, location=location, max_bytes=rules.max_payload_bytes)
    for rec in objects:
        row = _row(rec.value, rec.location, rules, col)
        if row is not None:
            col.add(row, location=rec.location, record=rec.value, check_keys=False)
    return col.result()


def _row(
    doc: dict[str, Any], location: str, rules: FileRules, col: Collector
) -> dict[str, Any] | None:
    extra = {str(k): v for k, v in doc.items() if k not in _COLUMNS}
    if extra and rules.strict:
        name = sorted(extra)[0]
        col.reject(location, name, "is not a canonical column (strict mode)", doc)
        return None
    row = {k: (None if _blank(v) else v) for k, v in doc.items() if k in _COLUMNS}
    attrs = row.get("attrs")
    if isinstance(attrs, str):
        try:
            attrs = json.loads(attrs)
        except ValueError as exc:
            col.reject(location, "attrs", f"is not valid JSON ({exc})", doc)
            return None
    if attrs is not None and not isinstance(attrs, dict):
        col.reject(location, "attrs", f"must be a JSON object, got {type(attrs).__name__}", doc)
        return None
    if extra:
        attrs = {**(attrs or {}), **extra}
    row["attrs"] = attrs
    for name, value in row.items():
        if isinstance(value, dict | list) and name != "attrs":
            col.reject(location, name, "must be text, not a JSON container", doc)
            return None
        if isinstance(value, bool) and name != "attrs":
            row[name] = "true" if value else "false"  # JSON's spelling, as the SQL path casts it
        elif isinstance(value, int | float) and name != "attrs":
            row[name] = str(value)
    row["source"] = row.get("source") or rules.source
    row.setdefault("service", rules.service)
    row.setdefault("team", rules.team)
    return row


def to_frame(raw: Any, rules: SourceRules | None = None) -> pd.DataFrame:
    """Notebook helper: the valid canonical events only (see `to_events` for the rejects)."""
    return validate_events(to_events(raw, rules).events).events
