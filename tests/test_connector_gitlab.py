"""GitLab connector: documented webhook and REST fixtures, time formats and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector_expect import assert_expected
from vsmml.events.connectors import gitlab
from vsmml.events.connectors.gitlab_objects import gitlab_time

FIXTURES = sorted((Path(__file__).parents[1] / "data/fixtures/gitlab").glob("*.json"))
_HEADERS = {
    "push": "Push Hook",
    "merge_request": "Merge Request Hook",
    "pipeline": "Pipeline Hook",
    "build": "Job Hook",
    "deployment": "Deployment Hook",
}


def test_three_fixtures_per_webhook_and_rest_resource() -> None:
    stems = [p.stem.rsplit("_", 1)[0] for p in FIXTURES]
    for name in (*gitlab.WEBHOOKS, *(f"rest_{r}" for r in gitlab.REST)):
        assert stems.count("job" if name == "build" else name) == 3, name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_gives_expected_rows(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert_expected(
        gitlab.to_events(path.read_text(), location=path.name), doc["_expected"], path.name
    )


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if not p.stem.startswith("rest_")], ids=lambda p: p.stem
)
def test_http_delivery_with_header_only(path: Path) -> None:
    doc = json.loads(path.read_text())
    kind = doc.pop("object_kind")
    conv = gitlab.from_http({"X-Gitlab-Event": _HEADERS[kind]}, json.dumps(doc))
    assert len(conv.events) == len(doc["_expected"])


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2016-08-12 15:23:28 UTC", "2016-08-12T15:23:28+00:00"),
        ("2021-04-28 21:50:00 +0200", "2021-04-28T21:50:00+02:00"),
        ("2015-12-24T17:54:27.722Z", "2015-12-24T17:54:27.722+00:00"),
        ("2015-12-24 17:54:27", "2015-12-24 17:54:27"),
        (None, None),
    ],
)
def test_gitlab_time_formats(raw: str | None, iso: str | None) -> None:
    assert gitlab_time(raw) == iso


def test_deployments_from_jobs_rule() -> None:
    path = next(p for p in FIXTURES if p.stem == "job_3")
    assert "deploy.finished" not in set(gitlab.to_frame(path.read_text())["kind"])
    rules = gitlab.GitLabRules(deployments_from_jobs=True)
    frame = gitlab.to_frame(path.read_text(), rules)
    deploy = frame[frame["kind"] == "deploy.finished"]
    assert list(deploy["env"].astype(str)) == ["production"]
    assert list(deploy["status"].astype(str)) == ["failure"]


def test_bad_input_is_rejected_naming_the_field() -> None:
    text = '{"object_kind": "no_such_hook"}\n{"foo": 1}\n[1, 2'
    conv = gitlab.to_events(text, location="x.jsonl")
    fields = [(r.location, r.field) for r in conv.rejects]
    assert fields == [
        ("x.jsonl:3", "payload"),
        ("x.jsonl:1", "object_kind"),
        ("x.jsonl:2", "payload"),
    ]
    wiki = gitlab.to_events('{"object_kind": "wiki_page"}')
    assert (wiki.rejects, wiki.skipped) == ([], {"wiki_page": 1})
    note = gitlab.from_http({"X-Gitlab-Event": "Note Hook"}, '{"object_attributes": {}}')
    assert (note.rejects, note.skipped) == ([], {"note": 1})
    conv = gitlab.from_http({"Content-Type": "text/plain"}, "hi")
    assert conv.rejects[0].field == "content-type"


def test_missing_keys_are_rejected() -> None:
    doc = json.loads(next(p for p in FIXTURES if p.stem == "deployment_1").read_text())
    del doc["deployment_id"]
    conv = gitlab.to_events(doc)
    assert conv.events.empty
    assert conv.rejects[0].field == "deploy_id"
