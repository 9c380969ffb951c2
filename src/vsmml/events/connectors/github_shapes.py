"""GitHub webhook event types: the documented names, and the type of a payload from its shape.

Deliveries name their type in the `X-GitHub-Event` header; exports, archives and test data often
lose it. A payload without the header is typed by the first rule below that it satisfies (each
rule looks at top-level keys only; "obj" means the key holds a JSON object). The order matters:
an Actions-made deployment carries a `workflow_run`, a queued job of a deployment carries a
`deployment`, a status carries a `commit` like a REST commit does.

| # | event | shape |
|---|---|---|
| 1 | ping | `zen` and `hook_id` |
| 2 | meta | `hook` and `hook_id`, no `zen` |
| 3 | deployment_status | `deployment_status` obj |
| 4 | workflow_job | `workflow_job` obj (a job may carry its `deployment`) |
| 5 | deployment_review | `workflow_job_run` obj, or `reviewers` and `environment` |
| 6 | deployment | `deployment` obj (Actions add `workflow` and `workflow_run`) |
| 7 | workflow_run | `workflow_run` obj |
| 8 | workflow_dispatch | `inputs`, `ref` and `workflow` |
| 9 | pull_request_review | `review` obj and `pull_request` obj |
| 10 | pull_request_review_comment | `comment` obj and `pull_request` obj |
| 11 | pull_request_review_thread | `thread` obj and `pull_request` obj |
| 12 | pull_request | `pull_request` obj and `action` |
| 13 | issue_comment | `comment` obj and `issue` obj |
| 14 | issues | `issue` obj |
| 15 | discussion_comment | `comment` obj and `discussion` obj |
| 16 | discussion | `discussion` obj |
| 17 | status | `sha`, `state`, `context`, `commit` obj and `branches` |
| 18 | push | `commits` list, `ref`, `before` and `after` |
| 19 | create / delete | `ref` and `ref_type` (`master_branch`: create) |
| 20 | code_scanning_alert | `alert` obj and `commit_oid` |
| 21 | membership | `member`, `team` and `scope` |
| 22 | installation_repositories | `repositories_added` |
| 23 | the event its object names | only when the payload has `sender` or `action` (below) |

Rule 23, in order: `release`, `check_run`, `check_suite`, `commit_comment` (`comment` alone),
`label`, `milestone`, `member`, `merge_group`, `package`, `registry_package`, `project_card`,
`project_column`, `projects_v2_item`, `project`, `security_advisory`, `sponsorship`,
`marketplace_purchase`, `team` (with `action`; without: `team_add`), `fork` (`forkee`),
`gollum` (`pages`), `page_build` (`build` and `id`), `org_block` (`blocked_user`),
`branch_protection_rule` (`rule`), `deploy_key` (`key`), `repository_dispatch`
(`client_payload`), `star` (`starred_at`).

Anything else (for instance `repository`, `watch` or the `*_alert` events, whose shapes say
nothing) needs the header or an envelope (`{"event": ..., "payload": ...}`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

WEBHOOK_EVENT_NAMES: Final = frozenset(
    {
        "branch_protection_configuration",
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "create",
        "custom_property",
        "custom_property_values",
        "delete",
        "dependabot_alert",
        "deploy_key",
        "deployment",
        "deployment_protection_rule",
        "deployment_review",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "fork",
        "github_app_authorization",
        "gollum",
        "installation",
        "installation_repositories",
        "installation_target",
        "issue_comment",
        "issue_dependencies",
        "issues",
        "label",
        "marketplace_purchase",
        "member",
        "membership",
        "merge_group",
        "meta",
        "milestone",
        "org_block",
        "organization",
        "package",
        "page_build",
        "personal_access_token_request",
        "ping",
        "project",
        "project_card",
        "project_column",
        "projects_v2",
        "projects_v2_item",
        "projects_v2_status_update",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "push",
        "registry_package",
        "release",
        "repository",
        "repository_advisory",
        "repository_dispatch",
        "repository_import",
        "repository_ruleset",
        "repository_vulnerability_alert",
        "secret_scanning_alert",
        "secret_scanning_alert_location",
        "secret_scanning_scan",
        "security_advisory",
        "security_and_analysis",
        "sponsorship",
        "star",
        "status",
        "sub_issues",
        "team",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_job",
        "workflow_run",
    }
)
"""Every webhook event GitHub documents (docs.github.com "Webhook events and payloads")."""

Rule = Callable[[dict[str, Any]], bool]


def _obj(doc: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(doc.get(k), dict) for k in keys)


def _has(doc: dict[str, Any], *keys: str) -> bool:
    return all(k in doc for k in keys)


_RULES: Final[tuple[tuple[str, Rule], ...]] = (
    ("ping", lambda d: _has(d, "zen", "hook_id")),
    ("meta", lambda d: _has(d, "hook", "hook_id")),
    ("deployment_status", lambda d: _obj(d, "deployment_status")),
    ("workflow_job", lambda d: _obj(d, "workflow_job")),
    (
        "deployment_review",
        lambda d: _obj(d, "workflow_job_run") or _has(d, "reviewers", "environment"),
    ),
    ("deployment", lambda d: _obj(d, "deployment")),
    ("workflow_run", lambda d: _obj(d, "workflow_run")),
    ("workflow_dispatch", lambda d: _has(d, "inputs", "ref", "workflow")),
    ("pull_request_review", lambda d: _obj(d, "review", "pull_request")),
    ("pull_request_review_comment", lambda d: _obj(d, "comment", "pull_request")),
    ("pull_request_review_thread", lambda d: _obj(d, "thread", "pull_request")),
    ("pull_request", lambda d: _obj(d, "pull_request") and "action" in d),
    ("issue_comment", lambda d: _obj(d, "comment", "issue")),
    ("issues", lambda d: _obj(d, "issue")),
    ("discussion_comment", lambda d: _obj(d, "comment", "discussion")),
    ("discussion", lambda d: _obj(d, "discussion")),
    (
        "status",
        lambda d: _has(d, "sha", "state", "context", "branches") and _obj(d, "commit"),
    ),
    ("push", lambda d: isinstance(d.get("commits"), list) and _has(d, "ref", "before", "after")),
    ("create", lambda d: _has(d, "ref", "ref_type", "master_branch")),
    ("delete", lambda d: _has(d, "ref", "ref_type")),
    ("code_scanning_alert", lambda d: _obj(d, "alert") and "commit_oid" in d),
    ("membership", lambda d: _has(d, "member", "team", "scope")),
    ("installation_repositories", lambda d: "repositories_added" in d),
)
_NAMED: Final[tuple[tuple[str, Rule], ...]] = (
    ("release", lambda d: _obj(d, "release")),
    ("check_run", lambda d: _obj(d, "check_run")),
    ("check_suite", lambda d: _obj(d, "check_suite")),
    ("commit_comment", lambda d: _obj(d, "comment")),
    ("label", lambda d: _obj(d, "label")),
    ("milestone", lambda d: _obj(d, "milestone")),
    ("member", lambda d: _obj(d, "member")),
    ("merge_group", lambda d: _obj(d, "merge_group")),
    ("package", lambda d: _obj(d, "package")),
    ("registry_package", lambda d: _obj(d, "registry_package")),
    ("project_card", lambda d: _obj(d, "project_card")),
    ("project_column", lambda d: _obj(d, "project_column")),
    ("projects_v2_item", lambda d: _obj(d, "projects_v2_item")),
    ("project", lambda d: _obj(d, "project")),
    ("security_advisory", lambda d: _obj(d, "security_advisory")),
    ("sponsorship", lambda d: _obj(d, "sponsorship")),
    ("marketplace_purchase", lambda d: _obj(d, "marketplace_purchase")),
    ("team", lambda d: _obj(d, "team") and "action" in d),
    ("team_add", lambda d: _obj(d, "team")),
    ("fork", lambda d: _obj(d, "forkee")),
    ("gollum", lambda d: isinstance(d.get("pages"), list)),
    ("page_build", lambda d: _obj(d, "build") and "id" in d),
    ("org_block", lambda d: _obj(d, "blocked_user")),
    ("branch_protection_rule", lambda d: _obj(d, "rule")),
    ("deploy_key", lambda d: _obj(d, "key")),
    ("repository_dispatch", lambda d: "client_payload" in d),
    ("star", lambda d: "starred_at" in d),
)
"""Rule 23: events named by their object; only for webhook payloads (they carry `sender` or
`action`), so that a bare REST issue with a `milestone` is not taken for a milestone event."""


def event_of_shape(doc: dict[str, Any]) -> str | None:
    """The webhook event a payload without the header is (see the module table), or None."""
    for name, rule in _RULES:
        if rule(doc):
            return name
    if "sender" in doc or "action" in doc:
        for name, rule in _NAMED:
            if rule(doc):
                return name
    return None
