"""Read PagerDuty webhook / REST JSON files or DevLake `_raw_pagerduty_*` tables into events."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.pagerduty import PagerDutyRules, to_events
from vsmml.ingest.devlake import raw_table_rows
from vsmml.ingest.filewalk import expand_paths, read_json_records

SOURCE = "pagerduty"


def load(paths: Sequence[str | Path]) -> tuple[list[tuple[str, Any]], Conversion]:
    """Located PagerDuty payloads from files, plus rejects for files that could not be read."""
    records: list[tuple[str, Any]] = []
    problems = Conversion()
    for path in expand_paths(paths, suffixes=(".csv", ".json", ".jsonl", ".ndjson")):
        if path.suffix == ".csv":
            rows, bad = raw_table_rows(path, SOURCE)
            records.extend((location, row.get("data")) for location, row in rows)
        else:
            found, bad = read_json_records(path, SOURCE)
            records.extend(found)
        problems = problems.extend(bad)
    return records, problems


def read(paths: Sequence[str | Path], rules: PagerDutyRules | None = None) -> Conversion:
    """Load and convert: events plus every reject (unreadable files and bad records)."""
    records, problems = load(paths)
    return problems.extend(to_events(records, rules))
