"""CDEvents type → canonical kind and correlation keys (spec v0.5.x and v0.4.x).

Each CDEvents `subject.predicate` maps to a list of candidate kinds: the first one that the
canonical schema knows is used, so when a more precise kind (say `change.updated`) is added to
`vsmml.events.schema.KINDS` the mapping picks it up without a code change. When the kind used is
not an exact match, `attrs.exact_kind` is false; `attrs.cdevents_type` always keeps the type.
"""

from __future__ import annotations

from typing import Any, Final

from vsmml.events.connectors.kit import dig, text_of
from vsmml.events.connectors.source_rules import SourceRules
from vsmml.events.schema import KINDS

# subject.predicate -> (candidate kinds, most precise first; default status)
TYPE_MAP: Final[dict[str, tuple[tuple[str, ...], str | None]]] = {
    "artifact.packaged": (("artifact.packaged", "artifact.published"), "packaged"),
    "artifact.published": (("artifact.published",), "published"),
    "artifact.signed": (("artifact.signed", "artifact.promoted"), "signed"),
    "artifact.downloaded": (("artifact.downloaded", "artifact.promoted"), "downloaded"),
    "artifact.deleted": (("artifact.deleted", "artifact.promoted"), "deleted"),
    "branch.created": (("branch.created", "resource.changed", "commit"), "created"),
    "branch.deleted": (("branch.deleted", "resource.changed", "commit"), "deleted"),
    "build.queued": (("build.queued", "pipeline.queued", "pipeline.started"), "queued"),
    "build.started": (("build.started", "pipeline.started"), "started"),
    "build.finished": (("build.finished", "pipeline.finished"), "success"),
    "change.created": (("change.opened",), "open"),
    "change.updated": (("change.updated", "change.opened"), "updated"),
    "change.reviewed": (("change.reviewed",), "reviewed"),
    "change.merged": (("change.merged",), "merged"),
    "change.abandoned": (("change.closed",), "abandoned"),
    "environment.created": (("environment.created", "resource.changed", "commit"), "created"),
    "environment.modified": (("environment.modified", "resource.changed", "commit"), "modified"),
    "environment.deleted": (("environment.deleted", "resource.changed", "commit"), "deleted"),
    "incident.detected": (("incident.opened",), "open"),
    "incident.reported": (("incident.reported", "incident.opened"), "open"),
    "incident.resolved": (("incident.resolved",), "resolved"),
    "pipelinerun.queued": (("pipeline.queued", "pipeline.started"), "queued"),
    "pipelinerun.started": (("pipeline.started",), "started"),
    "pipelinerun.finished": (("pipeline.finished",), "success"),
    "repository.created": (("repository.created", "resource.changed", "commit"), "created"),
    "repository.modified": (("repository.modified", "resource.changed", "commit"), "modified"),
    "repository.deleted": (("repository.deleted", "resource.changed", "commit"), "deleted"),
    "service.deployed": (("deploy.finished",), "success"),
    "service.upgraded": (("deploy.finished",), "success"),
    "service.rolledback": (("rollback",), "success"),
    "service.removed": (("service.removed", "deploy.finished"), "removed"),
    "service.published": (("service.published", "deploy.finished"), "published"),
    "taskrun.started": (("stage.started",), "started"),
    "taskrun.finished": (("stage.finished",), "success"),
    "testcaserun.queued": (("test.queued", "stage.started"), "queued"),
    "testcaserun.started": (("test.started", "stage.started"), "started"),
    "testcaserun.finished": (("test.finished",), "success"),
    "testcaserun.skipped": (("test.finished",), "skipped"),
    "testsuiterun.queued": (("test.queued", "stage.started"), "queued"),
    "testsuiterun.started": (("test.started", "stage.started"), "started"),
    "testsuiterun.finished": (("test.finished",), "success"),
    "testoutput.published": (("test.output", "artifact.published"), "published"),
    "ticket.created": (("work.created",), "open"),
    "ticket.updated": (("work.updated", "work.started"), "updated"),
    "ticket.closed": (("work.done",), "closed"),
}
_OUTCOMES: Final = {
    "success": "success",
    "pass": "success",
    "passed": "success",
    "failure": "failure",
    "fail": "failure",
    "failed": "failure",
    "error": "failure",
    "cancel": "cancelled",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "skip": "skipped",
    "skipped": "skipped",
}


def kind_for(key: str) -> tuple[str, bool] | None:
    """The canonical kind for a CDEvents `subject.predicate` and whether it is an exact match."""
    entry = TYPE_MAP.get(key)
    if entry is None:
        return None
    for candidate in entry[0]:
        if candidate in KINDS:
            return candidate, candidate == entry[0][0]
    return None


def _links(context: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for link in context.get("links") or []:
        if not isinstance(link, dict):
            continue
        target = dig(link, "target", "contextId") or dig(link, "from", "contextId")
        out.append(
            {
                "type": link.get("linkType"),
                "kind": link.get("linkKind"),
                "context_id": target,
            }
        )
    return out


def to_row(event: dict[str, Any], key: str, rules: SourceRules) -> dict[str, Any]:
    """One canonical row from a valid CDEvent whose `subject.predicate` is `key`."""
    context: dict[str, Any] = event["context"]
    subject: dict[str, Any] = event["subject"]
    content: dict[str, Any] = subject.get("content") or {}
    kind, exact = kind_for(key) or ("", False)
    subj, predicate = key.split(".", 1)
    sid = text_of(subject.get("id"))
    row: dict[str, Any] = {
        "kind": kind,
        "ts": context.get("timestamp"),
        "service": rules.service,
        "team": rules.team,
        "status": TYPE_MAP[key][1],
    }
    attrs: dict[str, Any] = {
        "cdevents_type": context.get("type"),
        "cdevents_specversion": context.get("specversion") or context.get("version"),
        "context_id": context.get("id"),
        "context_source": context.get("source"),
        "subject_id": sid,
        "subject_source": subject.get("source"),
        "exact_kind": exact,
    }
    if context.get("chainId"):
        attrs["chain_id"] = context["chainId"]
    links = _links(context)
    if links:
        attrs["links"] = links
    outcome = text_of(content.get("outcome"))
    if outcome:
        row["status"] = _OUTCOMES.get(outcome.lower(), outcome.lower())
    for name in ("errors", "reason", "description", "uri", "url", "user", "severity"):
        if content.get(name) is not None:
            attrs[name] = content[name]
    _KEYS[subj](row, attrs, sid, content, rules)
    if predicate in ("queued", "started") and kind.endswith(".finished"):
        row["status"] = predicate
    if "environment" in content and not row.get("env"):
        row["env"] = rules.env_of(dig(content, "environment", "id"))
        attrs["environment"] = dig(content, "environment", "id")
    row["attrs"] = attrs
    return row


Keys = dict[str, Any]


def _artifact(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["artifact_id"] = sid
    row["change_id"] = text_of(dig(content, "change", "id"))
    if dig(content, "sbom", "uri"):
        attrs["sbom"] = dig(content, "sbom", "uri")


def _build(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["pipeline_id"] = sid
    row["artifact_id"] = text_of(content.get("artifactId"))
    attrs["build"] = True


def _change(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["change_id"] = sid
    row["repo"] = text_of(dig(content, "repository", "id"))


def _repo_like(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["repo"] = text_of(dig(content, "repository", "id")) or text_of(content.get("name"))
    for name in ("name", "owner", "viewUrl"):
        if content.get(name) is not None:
            attrs[name] = content[name]


def _environment(
    row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules
) -> None:
    row["env"] = rules.env_of(content.get("name") or sid)
    attrs["environment"] = sid


def _incident(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["incident_id"] = sid
    row["service"] = text_of(dig(content, "service", "id")) or rules.service
    row["artifact_id"] = text_of(content.get("artifactId"))
    if content.get("ticketURI"):
        attrs["ticket_uri"] = content["ticketURI"]


def _pipeline(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["pipeline_id"] = sid
    if content.get("pipelineName"):
        attrs["pipeline_name"] = content["pipelineName"]


def _service(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["service"] = sid or rules.service
    row["artifact_id"] = text_of(content.get("artifactId"))
    row["deploy_id"] = text_of(attrs.get("context_id"))


def _taskrun(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["pipeline_id"] = text_of(dig(content, "pipelineRun", "id"))
    row["stage"] = text_of(content.get("taskName")) or sid
    attrs["taskrun_id"] = sid


def _test(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    test = content.get("testCase") or content.get("testSuite") or {}
    name = text_of(dig(test, "name")) or text_of(dig(test, "id"))
    row["stage"] = f"test:{name}" if name else "test"
    row["pipeline_id"] = text_of(dig(content, "testSuiteRun", "id")) or sid
    attrs["test_run_id"] = sid
    if isinstance(test, dict) and test.get("type"):
        attrs["test_type"] = test["type"]
    if dig(content, "trigger", "type"):
        attrs["trigger"] = dig(content, "trigger", "type")


def _testoutput(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    row["artifact_id"] = sid
    attrs["test_case_run_id"] = dig(content, "testCaseRun", "id")
    for name in ("outputType", "format"):
        if content.get(name) is not None:
            attrs[name] = content[name]


def _ticket(row: Keys, attrs: Keys, sid: str | None, content: Keys, rules: SourceRules) -> None:
    attrs["work_id"] = sid
    for name in ("summary", "ticketType", "group", "priority", "labels", "resolution"):
        if content.get(name) is not None:
            attrs[name] = content[name]
    if rules.is_incident(content.get("labels")):
        row["incident_id"] = sid
        incident_kind = {"work.created": "incident.opened", "work.done": "incident.resolved"}
        row["kind"] = incident_kind.get(row["kind"], row["kind"])
        attrs["exact_kind"] = False


_KEYS: Final = {
    "artifact": _artifact,
    "branch": _repo_like,
    "build": _build,
    "change": _change,
    "environment": _environment,
    "incident": _incident,
    "pipelinerun": _pipeline,
    "repository": _repo_like,
    "service": _service,
    "taskrun": _taskrun,
    "testcaserun": _test,
    "testsuiterun": _test,
    "testoutput": _testoutput,
    "ticket": _ticket,
}
