"""Fuzz every JSON converter with random and mutated payloads (hypothesis).

Properties: no exception escapes except `VsmmlError`; converting a good payload together with a
mutated one still yields every event the good payload yields alone (nothing good is lost).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsmml.errors import VsmmlError
from vsmml.events.connectors import cdevents, files, github, gitlab
from vsmml.events.connectors.base import Conversion
from vsmml.events.schema import validate_events

FIXTURES = Path(__file__).parents[1] / "data/fixtures"
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _payloads(folder: str, key: str | None = None) -> list[Any]:
    docs = [json.loads(p.read_text()) for p in sorted((FIXTURES / folder).glob("*.json"))]
    return [d[key] if key else {k: v for k, v in d.items() if not k.startswith("_")} for d in docs]


GOOD: dict[str, list[Any]] = {
    "cdevents": _payloads("cdevents/conformance"),
    "github": _payloads("github", "payload"),
    "gitlab": _payloads("gitlab"),
    "file": [{"kind": "commit", "ts": "2024-01-01T00:00:00Z", "sha": "abc", "attrs": {"n": 1}}],
}
CONVERTERS: dict[str, Callable[..., Conversion]] = {
    "cdevents": cdevents.to_events,
    "github": github.to_events,
    "gitlab": gitlab.to_events,
    "file": files.to_events,
}
HTTP: dict[str, Callable[..., Conversion]] = {
    "cdevents": cdevents.from_http,
    "github": github.from_http,
    "gitlab": gitlab.from_http,
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _safe(fn: Callable[[], Conversion]) -> Conversion | None:
    try:
        conv = fn()
    except VsmmlError:
        return None
    validate_events(conv.events)
    return conv


def _ids(conv: Conversion) -> set[str]:
    return set(validate_events(conv.events).events["event_id"])


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """Delete, retype or replace one value somewhere in the document."""
    doc = copy.deepcopy(doc)
    parent: Any = None
    key: Any = None
    node = doc
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            parent, key = node, data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            parent, key = node, data.draw(st.integers(0, len(node) - 1))
        else:
            break
        node = parent[key]
    if parent is None:
        return data.draw(JSON)
    action = data.draw(st.sampled_from(["delete", "replace", "stringify"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[key]
    elif action == "stringify":
        parent[key] = json.dumps(node)[:7]
    else:
        parent[key] = data.draw(JSON)
    return doc


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@FUZZ
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_random_text_never_escapes(name: str, text: str) -> None:
    _safe(lambda: CONVERTERS[name](text))


@pytest.mark.parametrize("name", sorted(CONVERTERS))
@FUZZ
@given(value=JSON)
def test_random_json_never_escapes(name: str, value: Any) -> None:
    _safe(lambda: CONVERTERS[name](value))
    _safe(lambda: CONVERTERS[name](json.dumps(value)))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONVERTERS))
@FUZZ
@given(data=st.data())
def test_mutated_payloads_lose_nothing_good(name: str, data: st.DataObject) -> None:
    good = data.draw(st.sampled_from(GOOD[name]))
    bad = _mutate(data.draw(st.sampled_from(GOOD[name])), data)
    alone = CONVERTERS[name]([("good", good)])
    mixed = _safe(lambda: CONVERTERS[name]([("bad", bad), ("good", good)]))
    assert mixed is not None
    assert _ids(alone) <= _ids(mixed)
    truncated = json.dumps(bad)[: data.draw(st.integers(0, 200))]
    text = truncated + "\n" + json.dumps(good)
    mixed_text = _safe(lambda: CONVERTERS[name](text))
    assert mixed_text is not None
    assert _ids(alone) <= _ids(mixed_text)


@pytest.mark.parametrize("name", sorted(HTTP))
@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["content-type", "ce-type", "X-GitHub-Event", "X-Gitlab-Event", "ce-id"]),
        st.text(max_size=30),
        max_size=4,
    ),
    body=st.text(max_size=200) | JSON.map(json.dumps),
)
def test_http_entry_points_never_escape(name: str, headers: dict[str, str], body: str) -> None:
    _safe(lambda: HTTP[name](headers, body))
    _safe(lambda: HTTP[name](headers, body.encode("utf-8")))


@FUZZ
@given(data=st.data())
def test_quick_schema_check_never_accepts_what_jsonschema_refuses(data: st.DataObject) -> None:
    event = _mutate(data.draw(st.sampled_from(GOOD["cdevents"])), data)
    for _, validator, quick in cdevents.schemas().values():
        assert quick is not None
        if quick(event):
            assert validator.is_valid(event)
