"""Read Jenkins API JSON files or DevLake `_raw_jenkins_api_*` tables and convert them to events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.jenkins import JenkinsRules, to_events
from vsmml.pipeline.ingest.devlake import json_or_raw_table_records

SOURCE = "jenkins"


def load(paths: Sequence[str | Path]) -> tuple[list[tuple[str, Any]], Conversion]:
    """Located Jenkins records from files, plus rejects for files that could not be read."""
    return json_or_raw_table_records(
        paths, SOURCE, lambda path, row: _wrap(row, _table_kind(path.name))
    )


def read(paths: Sequence[str | Path], rules: JenkinsRules | None = None) -> Conversion:
    """Load and convert: events plus every reject (unreadable files and bad records)."""
    records, problems = load(paths)
    return problems.extend(to_events(records, rules))


def _table_kind(name: str) -> str | None:
    for key, kind in (("stages", "stage"), ("builds", "build"), ("jobs", "job")):
        if key in name:
            return kind
    return None


def _wrap(row: dict[str, str], kind: str | None) -> dict[str, Any]:
    """A DevLake raw row → the connector's wrapper: type, job or build full name, data text."""
    names = {}
    for column in ("params", "input"):
        try:
            value = json.loads(row.get(column) or "null")
        except ValueError:
            value = None
        names[column] = value.get("FullName") if isinstance(value, dict) else None
    record: dict[str, Any] = {"data": row.get("data")}
    if kind:
        record["type"] = kind
    if kind == "stage":
        record["build"] = names["input"]
    else:
        record["job"] = names["input"] or names["params"]
    return record
