"""CDEvents connector: conformance examples of v0.5.1, v0.4.1 and v0.4.0, CloudEvents modes and bad
input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from vsmml.events.connectors import cdevents
from vsmml.events.connectors.cdevents_map import TYPE_MAP, kind_for
from vsmml.events.schema import KINDS, validate_events

CONFORMANCE = sorted(
    (Path(__file__).parents[1] / "data/fixtures/cdevents/conformance").glob("*.json")
)


def _load(name: str) -> dict[str, Any]:
    path = Path(__file__).parents[1] / "data/fixtures/cdevents/conformance" / f"{name}.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_there_are_45_conformance_examples() -> None:
    assert len(CONFORMANCE) == 45


@pytest.mark.parametrize("path", CONFORMANCE, ids=lambda p: p.stem)
def test_every_conformance_example_ingests(path: Path) -> None:
    conv = cdevents.to_events(path.read_text(), location=path.name)
    assert conv.rejects == []
    result = validate_events(conv.events)
    assert result.ok, result.messages()
    assert len(result.events) >= 1
    attrs = json.loads(result.events["attrs"].iloc[0])
    assert attrs["cdevents_type"] == json.loads(path.read_text())["context"]["type"]


def test_every_schema_type_has_a_mapping() -> None:
    assert set(cdevents.schemas()) == set(TYPE_MAP)
    for key in TYPE_MAP:
        mapped = kind_for(key)
        assert mapped is not None and mapped[0] in KINDS


def test_packaged_schemas_match_shared_spec(shared_data: Path) -> None:
    shared = shared_data / "cdevents/v0.5.1/schemas"
    for path in shared.glob("*.json"):
        key = json.loads(path.read_text())["properties"]["context"]["properties"]["type"]["enum"][0]
        subject, predicate = key.split(".")[2:4]
        assert cdevents.schemas()[f"{subject}.{predicate}"][0] == key


def test_keys_of_the_chain_change_artifact_deploy_incident() -> None:
    frame = cdevents.to_frame(
        [
            _load("change_merged"),
            _load("artifact_packaged"),
            _load("service_deployed"),
            _load("incident_detected"),
            _load("taskrun_finished"),
        ]
    )
    by_kind = frame.set_index("kind", drop=False)
    assert by_kind.loc["change.merged", "change_id"] == "mySubject123"
    assert by_kind.loc["change.merged", "repo"] == "TestRepo/TestOrg"
    assert by_kind.loc["artifact.published", "change_id"] == "myChange123"
    deployed = by_kind.loc["deploy.finished"]
    assert deployed["artifact_id"].startswith("pkg:oci/myapp@sha256")
    assert deployed["service"] == "mySubject123"
    incident = by_kind.loc["incident.opened"]
    assert incident["env"] == "production"  # "prod1" matches the production rule
    assert incident["service"] == "myApp"
    stage = by_kind.loc["stage.finished"]
    assert (stage["pipeline_id"], stage["stage"], stage["status"]) == (
        "mySubject123",
        "myTask",
        "failure",
    )
    attrs = json.loads(deployed["attrs"])
    assert attrs["chain_id"] == "4c8cb7dd-3448-41de-8768-eec704e2829b"
    assert attrs["links"][0]["context_id"] == "5328c37f-bb7e-4bb7-84ea-9f5f85e4a7ce"


def test_idempotency_key_is_source_id_type() -> None:
    a, b = _load("service_deployed"), _load("service_upgraded")
    assert a["context"]["id"] == b["context"]["id"]
    ids = cdevents.to_events([a, b, a]).events["event_id"]
    assert ids.iloc[0] == ids.iloc[2] != ids.iloc[1]


def test_json_lines_keep_good_lines_around_bad_ones() -> None:
    good = json.dumps(_load("pipelinerun_started"))
    text = "\n".join([good, '{"context": {"id": "x"', "", json.dumps(_load("change_merged"))])
    conv = cdevents.to_events(text, location="batch.jsonl")
    assert len(conv.events) == 2
    assert [r.location for r in conv.rejects] == ["batch.jsonl:2"]
    assert "not valid JSON" in conv.rejects[0].reason


def test_cloudevents_binary_mode() -> None:
    event = _load("pipelinerun_finished")
    headers = {
        "ce-specversion": "1.0",
        "ce-type": event["context"]["type"],
        "ce-source": event["context"]["source"],
        "ce-id": event["context"]["id"],
        "Content-Type": "application/json; charset=utf-8",
    }
    conv = cdevents.from_http(headers, json.dumps(event))
    assert list(conv.events["kind"]) == ["pipeline.finished"]
    headers["ce-type"] = "dev.cdevents.pipelinerun.started.0.3.0"
    conv = cdevents.from_http(headers, json.dumps(event))
    assert conv.events.empty
    assert conv.rejects[0].field == "ce-type"


def test_cloudevents_structured_and_batch_mode() -> None:
    event = _load("service_rolledback")
    envelope = {
        "specversion": "1.0",
        "type": event["context"]["type"],
        "source": event["context"]["source"],
        "id": event["context"]["id"],
        "datacontenttype": "application/json",
        "data": event,
    }
    headers = {"content-type": "application/cloudevents+json"}
    assert list(cdevents.from_http(headers, json.dumps(envelope)).events["kind"]) == ["rollback"]
    encoded = {**envelope, "data_base64": base64.b64encode(json.dumps(event).encode()).decode()}
    del encoded["data"]
    batch = json.dumps([envelope, encoded, {**envelope, "data": "not json"}])
    conv = cdevents.from_http({"content-type": "application/cloudevents-batch+json"}, batch)
    assert len(conv.events) == 2
    assert conv.rejects[0].field == "data"


def test_wrong_content_type_is_refused() -> None:
    conv = cdevents.from_http({"content-type": "text/xml"}, "<event/>")
    assert conv.events.empty
    assert conv.rejects[0].field == "content-type"
    assert "text/xml" in conv.rejects[0].reason


SPEC_TAGS = ("v0.4.0", "v0.4.1")
OLDER = [
    p
    for tag in SPEC_TAGS
    for p in sorted((Path(__file__).parents[1] / f"data/fixtures/cdevents/{tag}").glob("*.json"))
]


def test_the_v04_examples_of_both_tags_are_here() -> None:
    assert len(OLDER) == 90


@pytest.mark.parametrize("path", OLDER, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_v04_conformance_example_ingests_with_its_own_schemas(path: Path) -> None:
    """Real v0.4 events name their version `context.version` (0.4.0 writes `chain_id`, 0.4.1
    `chainId`): each is checked against its own tag's schemas and lands."""
    doc = json.loads(path.read_text())
    conv = cdevents.to_events(path.read_text(), location=path.name)
    assert conv.rejects == [], [r.message() for r in conv.rejects]
    result = validate_events(conv.events)
    assert result.ok, result.messages()
    attrs = json.loads(result.events["attrs"].iloc[0])
    assert attrs["cdevents_type"] == doc["context"]["type"]
    assert attrs["cdevents_specversion"] == doc["context"]["version"]
    key = ".".join(doc["context"]["type"].split(".")[2:4])
    assert kind_for(key) is not None
    assert result.events["kind"].iloc[0] == kind_for(key)[0]  # type: ignore[index]


def test_each_version_is_checked_against_its_own_schema() -> None:
    """A 0.4.1 event under 0.4.0's name for the chain field, or a 0.4 version under 0.5's
    field name, is refused naming the field (not read as some other version)."""
    event = json.loads(OLDER[-1].read_text())
    assert event["context"]["version"] == "0.4.1"
    event["context"]["chain_id"] = event["context"].pop("chainId", "c1")
    (reject,) = cdevents.to_events(event).rejects
    assert (reject.field, "0.4.1 schema" in reject.reason) == ("context", True)
    hybrid = _load("pipelinerun_finished")
    hybrid["context"]["specversion"] = "0.4.1"
    (reject,) = cdevents.to_events(hybrid).rejects
    assert reject.field == "context.specversion"
    assert "context.version" in reject.reason and "0.5.x" in reject.reason
    for version in ("0.5.1", "0.4.1", "0.4.0"):
        assert set(cdevents.schemas(version)) == set(TYPE_MAP)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (
            lambda e: e["context"].update(type="dev.cdevents.spaceship.launched.0.1.0"),
            "context.type",
            "unknown",
        ),
        (
            lambda e: e["context"].update(type="com.example.deployed"),
            "context.type",
            "not a CDEvents type",
        ),
        (
            lambda e: e["context"].update(specversion="0.3.0"),
            "context.specversion",
            "not supported",
        ),
        (lambda e: e["subject"]["content"].pop("environment"), "subject.content", "environment"),
        (lambda e: e["subject"].pop("id"), "subject", "'id' is a required property"),
        (lambda e: e.pop("subject"), "subject", "missing"),
        (
            lambda e: e["subject"]["content"].update(artifactId=7),
            "subject.content.artifactId",
            "is not of type",
        ),
    ],
)
def test_bad_events_are_rejected_naming_the_field(mutate: Any, field: str, words: str) -> None:
    event = _load("service_deployed")
    mutate(event)
    conv = cdevents.to_events([_load("change_merged"), event], location="f.json")
    assert len(conv.events) == 1
    (reject,) = conv.rejects
    assert reject.location == "f.json[1]"
    assert reject.field == field
    assert words in reject.reason


def test_absurd_timestamp_is_caught_by_validation() -> None:
    event = _load("change_merged")
    event["context"]["timestamp"] = "1970-01-01T00:00:00Z"
    result = validate_events(cdevents.to_events(event).events)
    assert not result.ok
    assert result.rejections[0].field == "ts"


def test_oversize_payload_is_refused_with_a_reason() -> None:
    rules = cdevents.CDEventsRules(max_payload_bytes=1_000)
    event = _load("change_merged")
    event["customData"] = {"blob": "x" * 5_000}
    conv = cdevents.to_events(json.dumps(event), rules, location="big.json")
    assert conv.events.empty
    assert "maximum payload size of 1,000 bytes" in conv.rejects[0].reason


def test_incident_labelled_tickets_become_incidents() -> None:
    rules = cdevents.CDEventsRules(incident_labels=("bug",))
    frame = cdevents.to_frame([_load("ticket_created"), _load("ticket_closed")], rules)
    assert list(frame["kind"]) == ["incident.opened", "incident.resolved"]
    assert frame["incident_id"].notna().all()


def test_schema_validation_can_be_switched_off() -> None:
    event = _load("service_deployed")
    event["subject"]["content"]["extra"] = 1
    assert cdevents.to_events(event).rejects
    rules = cdevents.CDEventsRules(validate_schema=False)
    assert not cdevents.to_events(event, rules).rejects


@pytest.mark.parametrize("path", CONFORMANCE[:10], ids=lambda p: p.stem)
def test_quick_check_agrees_with_jsonschema_on_examples(path: Path) -> None:
    event = json.loads(path.read_text())
    key = ".".join(event["context"]["type"].split(".")[2:4])
    _, validator, quick = cdevents.schemas()[key]
    assert quick is not None and quick(event) and validator.is_valid(event)
    event["subject"]["content"]["not_allowed"] = 1
    assert not quick(event) and not validator.is_valid(event)


def test_quick_check_covers_json_types_and_refuses_unknown_keywords() -> None:
    from vsmml.events.connectors.cdevents_schema import compile_check

    assert compile_check({"type": "object", "patternProperties": {}}, {}) is None
    assert compile_check({"$ref": "missing"}, {}) is None
    check = compile_check(
        {"type": "array", "items": {"type": ["integer", "number", "boolean", "null"]}}, {}
    )
    assert check is not None
    assert check([1, 2.5, True, None]) and not check(["x"]) and not check({})


def test_a_malformed_json_document_is_one_reject_with_line_and_column() -> None:
    """A pretty-printed event with one stray comma is one record gone wrong, not 24 fragments;
    a JSON Lines text with a broken line still keeps its good lines."""
    text = json.dumps(_load("service_deployed"), indent=2).replace('"id": "test123"', '"id": ,')
    conv = cdevents.to_events(text, location="deployed.json")
    assert conv.events.empty
    (reject,) = conv.rejects
    assert (reject.location, reject.field) == ("deployed.json", "payload")
    line = next(i for i, t in enumerate(text.split("\n"), 1) if '"id": ,' in t)
    assert f"line {line} column" in reject.reason
    good = json.dumps(_load("change_merged"))
    lines = cdevents.to_events(f'{{"context": {{\n{good}\n{good}', location="e.jsonl")
    assert [r.location for r in lines.rejects] == ["e.jsonl:1"]
    assert len(lines.events) == 2
