"""Shared assertion for fixture files that carry the canonical rows they must produce."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vsmml.events.connectors.base import Conversion
from vsmml.events.schema import validate_events


def assert_expected(conv: Conversion, expected: list[dict[str, Any]], where: str) -> None:
    """Every expected row is matched by exactly one valid event, and nothing else came out."""
    assert conv.rejects == [], f"{where}: {[r.message() for r in conv.rejects]}"
    result = validate_events(conv.events)
    assert result.ok, f"{where}: {result.messages()}"
    got = result.events
    assert len(got) == len(expected), f"{where}: {got[['kind', 'ts']].to_string()}"
    for exp in expected:
        match = got[got["kind"] == exp["kind"]]
        for key, value in exp.items():
            if key == "kind":
                continue
            if key == "ts":
                match = match[match["ts"] == pd.Timestamp(value)]
            else:
                match = match[match[key].astype(str) == value]
        assert len(match) == 1, f"{where}: no single row matches {exp}"
