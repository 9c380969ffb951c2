"""DevLake code-review, commit, incident and issue rows to canonical events."""

from __future__ import annotations

from typing import Any

from vsmml.events.connectors.devlake_rows import Context, attrs_of, event, need, upper
from vsmml.events.connectors.kit import Row
from vsmml.events.connectors.kit import text_of as _text


def pull_request(ctx: Context, row: dict[str, Any]) -> list[Row]:
    pr = need(row, "id")
    repo_id = _text(row.get("base_repo_id"))
    base: Row = {"change_id": pr, "repo": ctx.repo(repo_id), **ctx.owner("repos", repo_id)}
    attrs = attrs_of(
        row,
        "title",
        "status",
        "author_id",
        "author_name",
        "url",
        "base_ref",
        "head_ref",
        "head_commit_sha",
    )
    rows = [
        event(
            base,
            f"pr:{pr}:opened",
            "change.opened",
            ctx.time(row, "created_date"),
            "started",
            attrs,
        )
    ]
    merged = ctx.opt_time(row, "merged_date")
    if merged is not None:
        merge = {**base, "sha": _text(row.get("merge_commit_sha"))}
        rows.append(event(merge, f"pr:{pr}:merged", "change.merged", merged, "success", attrs))
    closed = ctx.opt_time(row, "closed_date")
    if closed is not None and merged is None:
        rows.append(event(base, f"pr:{pr}:closed", "change.closed", closed, "cancelled", attrs))
    return rows


def commit(ctx: Context, row: dict[str, Any]) -> list[Row]:
    sha = need(row, "sha")
    attrs = attrs_of(
        row,
        "additions",
        "deletions",
        "author_name",
        "author_email",
        "message",
        "committed_date",
    )
    return [
        event(
            {"sha": sha},
            f"commit:{sha}",
            "commit",
            ctx.time(row, "authored_date"),
            None,
            attrs,
        )
    ]


def pr_commit(ctx: Context, row: dict[str, Any]) -> list[Row]:
    sha, pr = need(row, "commit_sha"), need(row, "pull_request_id")
    if sha in ctx.commit_shas:
        return []  # the commits table already gave this commit
    repo_id = ctx.pr_repo.get(pr)
    base: Row = {
        "sha": sha,
        "change_id": pr,
        "repo": ctx.repo(repo_id),
        **ctx.owner("repos", repo_id),
    }
    ts = ctx.time(row, "commit_authored_date")
    return [event(base, f"commit:{sha}", "commit", ts, None, attrs_of(row, "commit_author_name"))]


def pr_comment(ctx: Context, row: dict[str, Any]) -> list[Row]:
    cid, pr = need(row, "id"), need(row, "pull_request_id")
    account = _text(row.get("account_id"))
    author = ctx.pr_author.get(pr)
    attrs = {
        **attrs_of(row, "type", "review_id", "status"),
        "account_id": account,
        "by_author": None if author is None or account is None else account == author,
    }
    repo_id = ctx.pr_repo.get(pr)
    base: Row = {"change_id": pr, "repo": ctx.repo(repo_id), **ctx.owner("repos", repo_id)}
    ts = ctx.time(row, "created_date")
    return [event(base, f"pr_comment:{cid}", "change.reviewed", ts, None, attrs)]


def incident(ctx: Context, row: dict[str, Any]) -> list[Row]:
    iid = need(row, "id")
    owner = ctx.owner(_text(row.get("table")) or "", _text(row.get("scope_id")))
    return _incident_rows(ctx, row, iid, owner)


def issue(ctx: Context, row: dict[str, Any]) -> list[Row]:
    iid = need(row, "id")
    owner = ctx.owner("boards", ctx.issue_board.get(iid))
    if upper(row.get("type")) == "INCIDENT":
        return [] if iid in ctx.incident_ids else _incident_rows(ctx, row, iid, owner)
    attrs = attrs_of(
        row,
        "issue_key",
        "title",
        "type",
        "status",
        "priority",
        "story_point",
        "url",
        "lead_time_minutes",
    )
    attrs["issue_id"] = iid
    rows = [
        event(
            owner,
            f"issue:{iid}:created",
            "work.created",
            ctx.time(row, "created_date"),
            "started",
            attrs,
        )
    ]
    done = ctx.opt_time(row, "resolution_date")
    if done is not None:
        rows.append(event(owner, f"issue:{iid}:done", "work.done", done, "success", attrs))
    return rows


def _incident_rows(ctx: Context, row: dict[str, Any], iid: str, owner: dict[str, str]) -> list[Row]:
    base: Row = {"incident_id": iid, **owner}
    attrs = attrs_of(
        row,
        "title",
        "status",
        "original_status",
        "severity",
        "urgency",
        "priority",
        "url",
        "component",
        "lead_time_minutes",
        "assignee_name",
    )
    rows = [
        event(
            base,
            f"incident:{iid}:opened",
            "incident.opened",
            ctx.time(row, "created_date"),
            "started",
            attrs,
        )
    ]
    resolved = ctx.opt_time(row, "resolution_date")
    if resolved is not None:
        rows.append(
            event(
                base,
                f"incident:{iid}:resolved",
                "incident.resolved",
                resolved,
                "resolved",
                attrs,
            )
        )
    return rows
