"""Canonical JSON Lines / CSV connector: columns, attrs, unknown columns, bad records."""

from __future__ import annotations

import json

from vsmml.events.connectors import files

GOOD = {
    "kind": "deploy.finished",
    "ts": "2024-03-01T10:00:00+01:00",
    "deploy_id": "d1",
    "env": "prod",
}


def test_canonical_rows_convert_and_validate() -> None:
    text = "\n".join(json.dumps(r) for r in [GOOD, {**GOOD, "deploy_id": "d2", "attrs": {"n": 1}}])
    frame = files.to_frame(text)
    assert list(frame["deploy_id"]) == ["d1", "d2"]
    assert list(frame["env"].astype(str)) == ["production", "production"]
    assert list(frame["source"].astype(str)) == ["file", "file"]
    assert json.loads(frame["attrs"].iloc[1]) == {"n": 1}


def test_csv_like_rows_blank_cells_are_null_and_extras_go_to_attrs() -> None:
    row = {**GOOD, "sha": "", "attrs": '{"a": 1}', "notes": "hello", "source": "ci"}
    conv = files.to_events([("x.csv:2", row)])
    frame = files.to_frame([("x.csv:2", row)])
    assert conv.rejects == []
    assert frame["sha"].isna().all()
    assert json.loads(frame["attrs"].iloc[0]) == {"a": 1, "notes": "hello"}
    assert str(frame["source"].iloc[0]) == "ci"


def test_strict_mode_and_bad_attrs_are_rejected_naming_the_field() -> None:
    strict = files.FileRules(strict=True)
    conv = files.to_events([("x.csv:2", {**GOOD, "notes": "x"})], strict)
    assert (conv.rejects[0].location, conv.rejects[0].field) == ("x.csv:2", "notes")
    conv = files.to_events([("x.csv:3", {**GOOD, "attrs": "{oops"})])
    assert conv.rejects[0].field == "attrs"
    conv = files.to_events([("x.csv:4", {**GOOD, "attrs": "[1]"})])
    assert "JSON object" in conv.rejects[0].reason
    conv = files.to_events([("x:5", {**GOOD, "sha": {"a": 1}})])
    assert conv.rejects[0].field == "sha"


def test_numbers_become_text_and_non_objects_are_refused() -> None:
    frame = files.to_frame({**GOOD, "change_id": 42})
    assert frame["change_id"].iloc[0] == "42"
    conv = files.to_events("[1, 2]", location="a.json")
    assert [r.location for r in conv.rejects] == ["a.json[0]", "a.json[1]"]
