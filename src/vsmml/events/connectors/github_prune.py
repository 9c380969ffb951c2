"""GitHub webhook deliveries decoded to only the fields the connector reads (the fast path).

A delivery is 10-30 KB, most of it repository, sender, organisation and installation objects
and their URLs, of which the connector reads one name. Decoding every value into Python objects
(and freeing them after) was half of ingest's time; `msgspec` decodes against the shapes below
and skips the rest in C. The shapes list every field `github_webhooks` and `github_objects` read
from a webhook (keep them in step: a test converts generated deliveries both ways and compares).
A delivery that does not fit (no `{"event": ..., "payload": {...}}` envelope, an unknown event,
a field of an unexpected type, invalid JSON) gives None, and the caller decodes it fully, as do
batches where the conversion refused anything (a refused record is quarantined in full).
"""

from __future__ import annotations

from typing import Any, Final, TypedDict

import msgspec

from vsmml.events.connectors.github_webhooks import WEBHOOK_EVENTS


class _Login(TypedDict, total=False):
    login: Any


class _RepoName(TypedDict, total=False):
    full_name: Any


class _Branch(TypedDict, total=False):
    ref: Any
    sha: Any
    repo: _RepoName | None


class _Pull(TypedDict, total=False):
    url: Any
    number: Any
    labels: Any
    title: Any
    user: _Login | None
    additions: Any
    deletions: Any
    changed_files: Any
    commits: Any
    base: _Branch | None
    head: _Branch | None
    draft: Any
    created_at: Any
    merged_at: Any
    merge_commit_sha: Any
    merged_by: _Login | None
    closed_at: Any


class _Run(TypedDict, total=False):
    id: Any
    name: Any
    head_branch: Any
    status: Any
    conclusion: Any
    run_attempt: Any
    run_started_at: Any
    created_at: Any
    updated_at: Any
    pull_requests: Any
    head_sha: Any
    event: Any
    run_number: Any
    html_url: Any


class _Job(TypedDict, total=False):
    id: Any
    name: Any
    status: Any
    conclusion: Any
    run_url: Any
    head_sha: Any
    run_id: Any
    run_attempt: Any
    runner_name: Any
    steps: Any
    started_at: Any
    completed_at: Any


class _Deployment(TypedDict, total=False):
    id: Any
    sha: Any
    ref: Any
    task: Any
    environment: Any
    created_at: Any
    creator: _Login | None


class _DeploymentStatus(TypedDict, total=False):
    id: Any
    state: Any
    created_at: Any
    updated_at: Any


class _Issue(TypedDict, total=False):
    pull_request: Any
    repository_url: Any
    url: Any
    number: Any
    labels: Any
    title: Any
    user: _Login | None
    created_at: Any
    closed_at: Any
    state_reason: Any


class _Release(TypedDict, total=False):
    id: Any
    tag_name: Any
    target_commitish: Any
    published_at: Any
    created_at: Any
    name: Any
    prerelease: Any
    author: _Login | None


class _Payload(TypedDict, total=False):
    action: Any
    ref: Any
    commits: Any
    pusher: Any
    repository: _RepoName | None
    pull_request: _Pull | None
    review: Any
    workflow_run: _Run | None
    workflow_job: _Job | None
    deployment: _Deployment | None
    deployment_status: _DeploymentStatus | None
    issue: _Issue | None
    release: _Release | None


_Envelope = TypedDict(
    "_Envelope",
    {"event": Any, "x-github-event": Any, "type": Any, "payload": _Payload},
    total=False,
)

_DECODER: Final = msgspec.json.Decoder(_Envelope)


def pruned(text: str | bytes) -> dict[str, Any] | None:
    """The delivery with only the fields the connector reads, or None when it does not fit."""
    try:
        doc: dict[str, Any] = dict(_DECODER.decode(text))
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    hint = doc.get("event") or doc.get("x-github-event") or doc.get("type")
    if not isinstance(hint, str) or hint.strip().lower() not in WEBHOOK_EVENTS:
        return None
    if not isinstance(doc.get("payload"), dict):
        return None
    return doc
