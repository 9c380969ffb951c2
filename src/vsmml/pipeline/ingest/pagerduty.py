"""Read PagerDuty webhook / REST JSON files or DevLake `_raw_pagerduty_*` tables into events."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.pagerduty import PagerDutyRules, to_events
from vsmml.pipeline.ingest.devlake import json_or_raw_table_records

SOURCE = "pagerduty"


def load(paths: Sequence[str | Path]) -> tuple[list[tuple[str, Any]], Conversion]:
    """Located PagerDuty payloads from files, plus rejects for files that could not be read."""
    return json_or_raw_table_records(paths, SOURCE, lambda _path, row: row.get("data"))


def read(paths: Sequence[str | Path], rules: PagerDutyRules | None = None) -> Conversion:
    """Load and convert: events plus every reject (unreadable files and bad records)."""
    records, problems = load(paths)
    return problems.extend(to_events(records, rules))
