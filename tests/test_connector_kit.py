"""The one connector kit: a Collector that checks keys, locates rows, counts skips, and one limit
for the record text kept in the quarantine."""

from __future__ import annotations

import pandas as pd
import pytest

from vsmml.events.connectors import kit, payloads
from vsmml.events.schema import TS_DTYPE


def test_rows_are_kept_located_or_refused_naming_the_key() -> None:
    col = kit.Collector("test")
    ok = {"kind": "deploy.finished", "ts": "2024-01-01T00:00:00Z", "deploy_id": "d1"}
    assert col.add(ok, location="a.json:1", record=ok)
    assert not col.add({"kind": "deploy.finished"}, location="a.json:2", record={})
    revert = {"kind": "rollback", "ts": "2024-01-01T00:00:00Z", "sha": "abc"}
    assert col.add(revert, location="a.json:3", record=revert)  # a revert is known by its sha
    assert not col.add({"kind": "rollback"}, location="a.json:4", record={})
    conv = col.result()
    assert conv.locations == ["a.json:1", "a.json:3"]
    assert [(r.location, r.field) for r in conv.rejects] == [
        ("a.json:2", "deploy_id"),
        ("a.json:4", "deploy_id"),
    ]
    assert "deploy_id or sha" in conv.rejects[1].reason
    assert set(conv.events["source"]) == {"test"}


def test_run_rejects_a_record_alone_and_counts_skips() -> None:
    def convert(record: dict[str, object]) -> list[dict[str, object]]:
        if record.get("skip"):
            raise kit.SkipRecord("listing")
        ts = kit.epoch_time(record.get("t"), "t")
        return [{"kind": "commit", "ts": ts, "sha": str(record["sha"])}]

    col = kit.Collector("test")
    col.run("r1", {"t": 1_700_000_000_000, "sha": "a"}, convert)
    col.run("r2", {"t": "soon", "sha": "b"}, convert)
    col.run("r3", {"skip": True}, convert)
    col.run("r4", {"t": 1_700_000_000_000}, convert)  # KeyError: malformed, not an escape
    conv = col.result()
    assert conv.skipped == {"listing": 1}
    assert [(r.location, r.field) for r in conv.rejects] == [("r2", "t"), ("r4", "record")]
    assert conv.events["ts"].dtype == TS_DTYPE  # Timestamps become the UTC time dtype
    assert conv.events["ts"].iloc[0] == pd.Timestamp(1_700_000_000_000, unit="ms", tz="UTC")


def test_one_record_size_limit_and_one_dig() -> None:
    col = kit.Collector("test")
    col.reject("big.json", "payload", "is odd", "x" * (payloads.MAX_RECORD_CHARS + 10))
    record = col.rejects[0].record
    assert record.startswith("x" * payloads.MAX_RECORD_CHARS)
    assert record.endswith("[10 more characters]")
    doc = {"a": [{"b": 1}], "c": None}
    assert kit.dig(doc, "a", 0, "b") == 1
    assert kit.dig(doc, "a", 5, "b") is None and kit.dig(doc, "c", "d") is None
    assert kit.text_of(True) == "true" and kit.text_of(" ") is None and kit.text_of(7) == "7"
    with pytest.raises(kit.RecordError) as info:
        kit.load_json("x" * 200, max_bytes=100)
    assert info.value.field == "payload" and "too large" in info.value.reason
