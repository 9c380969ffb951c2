"""Read Jenkins API JSON files or DevLake `_raw_jenkins_api_*` tables and convert them to events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.jenkins import JenkinsRules, to_events
from vsmml.ingest.devlake import raw_table_rows
from vsmml.ingest.filewalk import expand_paths, read_json_records

SOURCE = "jenkins"


def load(paths: Sequence[str | Path]) -> tuple[list[tuple[str, Any]], Conversion]:
    """Located Jenkins records from files, plus rejects for files that could not be read."""
    records: list[tuple[str, Any]] = []
    problems = Conversion()
    for path in expand_paths(paths, suffixes=(".csv", ".json", ".jsonl", ".ndjson")):
        if path.suffix == ".csv":
            rows, bad = raw_table_rows(path, SOURCE)
            kind = _table_kind(path.name)
            for location, row in rows:
                records.append((location, _wrap(row, kind)))
        else:
            found, bad = read_json_records(path, SOURCE)
            records.extend(found)
        problems = problems.extend(bad)
    return records, problems


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
