"""DevLake `calculateChangeLeadTime`: pull requests and deployments → ``project_pr_metrics``.

Rules (Apache DevLake, ``plugins/dora/tasks/change_lead_time_calculator.go``), per project:

* PRs of a repo mapped to the project (``project_mapping`` table ``repos``) with a merge date;
* first commit = the PR's commit with the earliest ``commit_authored_date``;
  coding = PR created − first commit authored;
* first review = the earliest comment whose ``account_id`` differs from the PR author (every
  comment when the author is empty); pickup = comment − created; review = merged − comment;
* deployment = among SUCCESS PRODUCTION deployment commits of the project's CI/CD scopes that
  have a ``prev_success_deployment_commit_id``, the ones whose ``commits_diffs`` row
  (old = previous deployment's commit, new = this deployment's commit) contains the PR's merge
  commit, the first by ``started_date`` then id; deploy = its finish − merged;
* cycle = coding + (merged − created) + deploy, each term only when present (this is DevLake's
  code: pickup + review are not summed, ``merged − created`` is); always set;
* every span is ``ceil`` of minutes and NULL when negative (see `span_minutes`).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from vsmml.compat.devlake_frames import (
    PRODUCTION,
    SUCCESS,
    require_columns,
    scopes_of_project,
    span_minutes,
    text,
    times,
)
from vsmml.errors import DataError

PR_METRIC_COLUMNS: Final = (
    "id",
    "project_name",
    "first_commit_sha",
    "pr_coding_time",
    "first_review_id",
    "pr_pickup_time",
    "pr_review_time",
    "deployment_commit_id",
    "pr_deploy_time",
    "pr_cycle_time",
    "first_commit_authored_date",
    "first_comment_date",
    "pr_created_date",
    "pr_merged_date",
    "pr_deployed_date",
)
PR_METRIC_TIME_COLUMNS: Final = (
    "first_commit_authored_date",
    "first_comment_date",
    "pr_created_date",
    "pr_merged_date",
    "pr_deployed_date",
)


def change_lead_time(
    pull_requests: pd.DataFrame,
    pull_request_commits: pd.DataFrame,
    pull_request_comments: pd.DataFrame,
    deployment_commits: pd.DataFrame,
    commits_diffs: pd.DataFrame,
    project_mapping: pd.DataFrame,
    *,
    project_name: str | None = None,
) -> pd.DataFrame:
    """Compute DevLake's ``project_pr_metrics`` for one project (or every mapped project).

    Args:
        pull_requests: id, base_repo_id, author_id, merge_commit_sha, created_date, merged_date.
        pull_request_commits: commit_sha, pull_request_id, commit_authored_date.
        pull_request_comments: id, pull_request_id, created_date, account_id.
        deployment_commits: ``cicd_deployment_commits`` after `prev_success_deployments`.
        commits_diffs: old_commit_sha, new_commit_sha, commit_sha.
        project_mapping: project_name, table, row_id.
        project_name: the DevLake project; None computes every project that maps a repo.

    Returns:
        One row per (merged PR, project) with DevLake's columns; spans as nullable integer
        minutes, dates as UTC instants; sorted by project then PR id.
    """
    require_columns(
        pull_requests,
        ("id", "base_repo_id", "author_id", "merge_commit_sha", "created_date", "merged_date"),
        "pull_requests",
    )
    require_columns(
        pull_request_commits,
        ("commit_sha", "pull_request_id", "commit_authored_date"),
        "pull_request_commits",
    )
    require_columns(
        pull_request_comments,
        ("id", "pull_request_id", "created_date", "account_id"),
        "pull_request_comments",
    )
    require_columns(
        commits_diffs, ("old_commit_sha", "new_commit_sha", "commit_sha"), "commits_diffs"
    )

    repos = _mapped(project_mapping, "repos", project_name)
    prs = _merged_pull_requests(pull_requests).merge(
        repos.rename(columns={"row_id": "base_repo_id"}), on="base_repo_id", how="inner"
    )
    prs = prs.merge(_first_commits(pull_request_commits), on="pr_id", how="left")
    prs = prs.merge(_first_reviews(pull_request_comments, pull_requests), on="pr_id", how="left")
    deployments = _first_deployments(
        deployment_commits, commits_diffs, project_mapping, project_name
    )
    prs = prs.merge(deployments, on=["project_name", "merge_commit_sha"], how="left")
    # DevLake keeps the deployment only when it has a finish time.
    unfinished = prs["pr_deployed_date"].isna()
    prs["deployment_commit_id"] = prs["deployment_commit_id"].mask(unfinished)

    coding = span_minutes(prs["first_commit_authored_date"], prs["pr_created_date"])
    during = span_minutes(prs["pr_created_date"], prs["pr_merged_date"])
    deploy = span_minutes(prs["pr_merged_date"], prs["pr_deployed_date"])
    cycle = coding.fillna(0) + during.fillna(0) + deploy.fillna(0)

    out = pd.DataFrame(
        {
            "id": prs["pr_id"],
            "project_name": prs["project_name"],
            "first_commit_sha": prs["first_commit_sha"].fillna("").astype("str"),
            "pr_coding_time": coding,
            "first_review_id": prs["first_review_id"].fillna("").astype("str"),
            "pr_pickup_time": span_minutes(prs["pr_created_date"], prs["first_comment_date"]),
            "pr_review_time": span_minutes(prs["first_comment_date"], prs["pr_merged_date"]),
            "deployment_commit_id": prs["deployment_commit_id"].fillna("").astype("str"),
            "pr_deploy_time": deploy,
            "pr_cycle_time": cycle.astype("Int64"),
            "first_commit_authored_date": prs["first_commit_authored_date"],
            "first_comment_date": prs["first_comment_date"],
            "pr_created_date": prs["pr_created_date"],
            "pr_merged_date": prs["pr_merged_date"],
            "pr_deployed_date": prs["pr_deployed_date"],
        }
    )
    out = out.sort_values(["project_name", "id"], kind="stable")
    return out.loc[:, list(PR_METRIC_COLUMNS)].reset_index(drop=True)


def _mapped(project_mapping: pd.DataFrame, table: str, project_name: str | None) -> pd.DataFrame:
    """Project rows for one table; the lead-time task cannot run without a mapping."""
    rows = scopes_of_project(project_mapping, table, project_name)
    if rows is None:
        raise DataError("table 'project_mapping' is required to compute change lead time")
    return rows


def _merged_pull_requests(pull_requests: pd.DataFrame) -> pd.DataFrame:
    """Merged PRs with their keys and dates; a PR id may appear once."""
    ids = text(pull_requests, "id")
    if ids.duplicated().any():
        raise DataError(
            f"table 'pull_requests', column 'id': PR {ids[ids.duplicated()].iloc[0]!r} "
            "appears more than once"
        )
    prs = pd.DataFrame(
        {
            "pr_id": ids,
            "base_repo_id": text(pull_requests, "base_repo_id"),
            "merge_commit_sha": text(pull_requests, "merge_commit_sha"),
            "pr_created_date": times(pull_requests, "created_date", "pull_requests"),
            "pr_merged_date": times(pull_requests, "merged_date", "pull_requests"),
        }
    )
    return prs[prs["pr_merged_date"].notna()]


def _first_commits(pull_request_commits: pd.DataFrame) -> pd.DataFrame:
    """Per PR the earliest-authored commit (ties: smallest sha)."""
    commits = pd.DataFrame(
        {
            "pr_id": text(pull_request_commits, "pull_request_id"),
            "first_commit_sha": text(pull_request_commits, "commit_sha"),
            "first_commit_authored_date": times(
                pull_request_commits, "commit_authored_date", "pull_request_commits"
            ),
        }
    )
    commits = commits[commits["first_commit_authored_date"].notna()]
    commits = commits.sort_values(["pr_id", "first_commit_authored_date", "first_commit_sha"])
    return commits.drop_duplicates("pr_id", keep="first")


def _first_reviews(comments: pd.DataFrame, pull_requests: pd.DataFrame) -> pd.DataFrame:
    """Per PR the earliest comment not by its author (ties: smallest comment id)."""
    frame = pd.DataFrame(
        {
            "pr_id": text(comments, "pull_request_id"),
            "first_review_id": text(comments, "id"),
            "first_comment_date": times(comments, "created_date", "pull_request_comments"),
            "account_id": text(comments, "account_id"),
        }
    )
    authors = pd.DataFrame(
        {"pr_id": text(pull_requests, "id"), "author_id": text(pull_requests, "author_id")}
    ).drop_duplicates("pr_id")
    frame = frame.merge(authors, on="pr_id", how="inner")
    by_other = frame["author_id"].eq("") | frame["account_id"].ne(frame["author_id"])
    frame = frame[by_other & frame["first_comment_date"].notna()]
    frame = frame.sort_values(["pr_id", "first_comment_date", "first_review_id"])
    first = frame.drop_duplicates("pr_id", keep="first")
    return first[["pr_id", "first_review_id", "first_comment_date"]]


def _first_deployments(
    deployment_commits: pd.DataFrame,
    commits_diffs: pd.DataFrame,
    project_mapping: pd.DataFrame,
    project_name: str | None,
) -> pd.DataFrame:
    """Per (project, merge commit) the first successful production deployment that shipped it."""
    require_columns(
        deployment_commits,
        (
            "id",
            "commit_sha",
            "result",
            "environment",
            "cicd_scope_id",
            "started_date",
            "finished_date",
            "prev_success_deployment_commit_id",
        ),
        "cicd_deployment_commits",
    )
    table = "cicd_deployment_commits"
    dc = pd.DataFrame(
        {
            "deployment_commit_id": text(deployment_commits, "id"),
            "commit_sha": text(deployment_commits, "commit_sha"),
            "result": text(deployment_commits, "result"),
            "environment": text(deployment_commits, "environment"),
            "cicd_scope_id": text(deployment_commits, "cicd_scope_id"),
            "prev_id": text(deployment_commits, "prev_success_deployment_commit_id"),
            "started_date": times(deployment_commits, "started_date", table),
            "pr_deployed_date": times(deployment_commits, "finished_date", table),
        }
    )
    prev_sha = dc.drop_duplicates("deployment_commit_id").set_index("deployment_commit_id")
    dc["old_commit_sha"] = dc["prev_id"].map(prev_sha["commit_sha"]).fillna("").astype("str")
    dc = dc[dc["prev_id"].ne("") & dc["environment"].eq(PRODUCTION) & dc["result"].eq(SUCCESS)]
    scopes = _mapped(project_mapping, "cicd_scopes", project_name)
    dc = dc.merge(scopes.rename(columns={"row_id": "cicd_scope_id"}), on="cicd_scope_id")
    diffs = pd.DataFrame(
        {
            "old_commit_sha": text(commits_diffs, "old_commit_sha"),
            "commit_sha": text(commits_diffs, "new_commit_sha"),
            "merge_commit_sha": text(commits_diffs, "commit_sha"),
        }
    )
    shipped = dc.merge(diffs, on=["commit_sha", "old_commit_sha"], how="inner")
    # MySQL (DevLake's usual database) orders NULL started dates first.
    shipped = shipped.sort_values(
        ["project_name", "merge_commit_sha", "started_date", "deployment_commit_id"],
        na_position="first",
        kind="stable",
    )
    first = shipped.drop_duplicates(["project_name", "merge_commit_sha"], keep="first")
    return first[["project_name", "merge_commit_sha", "deployment_commit_id", "pr_deployed_date"]]
