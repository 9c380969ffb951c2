"""GitHub deliveries decoded to the fields the connector reads convert exactly as full ones."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from vsmml.events.connectors.github import to_events
from vsmml.events.connectors.github_prune import pruned
from vsmml.events.connectors.github_webhooks import WEBHOOK_EVENTS
from vsmml.events.connectors.kit import dig

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "data/fixtures"


def _bench_deliveries(n: int) -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "github_payloads", ROOT / "bench/github_payloads.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [json.dumps({"event": e, "payload": p}) for e, p in module.payloads(n)]


def _octokit() -> list[str]:
    """GitHub's own example payloads (full objects, every field), as envelopes."""
    out = []
    for path in sorted((FIXTURES / "github_octokit").glob("*.json")):
        payload = json.loads(path.read_text())
        out.append(json.dumps({"event": path.name.split(".")[0], "payload": payload}))
    return out


def _variants(text: str) -> list[str]:
    """Each delivery with the actions and states that take other branches of the connector."""
    doc = json.loads(text)
    out = [text]
    payload = doc["payload"]
    for action in ("opened", "closed", "reopened", "completed", "submitted", "published", "x"):
        other = copy.deepcopy(doc)
        other["payload"]["action"] = action
        out.append(json.dumps(other))
    if isinstance(payload.get("deployment_status"), dict):
        for state in ("success", "failure", "error", "pending"):
            other = copy.deepcopy(doc)
            other["payload"]["deployment_status"]["state"] = state
            out.append(json.dumps(other))
    if isinstance(dig(payload, "pull_request"), dict):
        other = copy.deepcopy(doc)
        other["payload"]["pull_request"]["merged_at"] = None
        other["payload"]["pull_request"]["closed_at"] = "2026-01-02T00:00:00Z"
        out.append(json.dumps(other))
    return out


def _converted(doc: Any) -> tuple[Any, ...]:
    conv = to_events([("d.jsonl:1", doc)])
    events = conv.events.astype(object).where(conv.events.notna(), None).to_dict("records")
    return events, conv.locations, conv.skipped, [(r.field, r.reason) for r in conv.rejects]


def test_pruned_deliveries_convert_exactly_as_full_ones() -> None:
    texts = [t for base in [*_octokit(), *_bench_deliveries(60)] for t in _variants(base)]
    fitted = 0
    for text in texts:
        small = pruned(text)
        if small is None:
            continue
        fitted += 1
        assert _converted(small) == _converted(orjson.loads(text)), text[:200]
    assert fitted > 0.9 * len(texts)
    assert len(texts) > 500


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"event": "star", "payload": {"action": "created"}}),  # converted by no one
        json.dumps({"payload": {"action": "opened"}}),  # no event name
        json.dumps({"event": "push", "payload": "text"}),
        json.dumps({"event": "push", "payload": {"repository": "not an object"}}),
        json.dumps({"event": "pull_request", "payload": {"pull_request": {"user": [1]}}}),
        json.dumps({"action": "opened", "pull_request": {"number": 1}}),  # no envelope
    ],
)
def test_deliveries_that_do_not_fit_the_shapes_are_left_to_the_full_parse(text: str) -> None:
    assert pruned(text) is None


def test_every_converted_event_has_a_shape() -> None:
    fitted = {json.loads(t)["event"] for t in _octokit() if pruned(t) is not None}
    assert fitted == set(WEBHOOK_EVENTS)
