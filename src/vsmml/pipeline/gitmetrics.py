"""`vsmml git-metrics PATH`: mine a local repository's JIT change metrics (and SZZ labels)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.events.connectors.git import GitRules
from vsmml.events.connectors.git_history import classify_tags
from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS
from vsmml.pipeline.ingest.git_repo import mine


@dataclass(frozen=True)
class GitMetricsRequest:
    """The repository, whether to label with SZZ, where to write rows, which refs, fix regex."""

    path: Path
    szz: bool = False
    out: Path | None = None
    all_refs: bool = False
    fix_pattern: str | None = None


@dataclass(frozen=True)
class GitMetricsSummary:
    """What mining found: the repository name, commit counts, fixes, SZZ labels, rows written,
    and how the tags read as releases (`releases` lines for people)."""

    repo: str
    commits: int
    non_merge: int
    fix_commits: int
    szz_fixes_examined: int | None
    szz_labels: int | None
    rows: pd.DataFrame
    releases: tuple[str, ...] = ()


def git_metrics(request: GitMetricsRequest) -> GitMetricsSummary:
    """The 14 Kamei metrics of every non-merge commit (and its SZZ label when asked); the rows
    are written to `request.out` as CSV when it is given."""
    rules = GitRules(szz=request.szz, all_refs=request.all_refs)
    if request.fix_pattern:
        rules = dataclasses.replace(rules, fix_pattern=request.fix_pattern)
    mining = mine(request.path, rules)
    history = mining.history
    labels = history.get("bug_inducing") or {}
    times = {c["sha"]: c.get("author_time") for c in history["commits"]}
    rows = [
        {
            "sha": sha,
            "date": times.get(sha),
            "bug": int(sha in labels) if request.szz else None,
            **m,
        }
        for sha, m in history["metrics"].items()
    ]
    frame = pd.DataFrame(rows, columns=["sha", "date", "bug", *KAMEI_COLUMNS])
    if request.out is not None:
        frame.to_csv(request.out, index=False)
    tags = classify_tags(
        [str(t.get("name") or "") for t in history.get("tags") or []],
        rules.release_pattern,
        prereleases=rules.prereleases,
    )
    return GitMetricsSummary(
        repo=str(history["repo"]),
        commits=len(history["commits"]),
        non_merge=len(history["metrics"]),
        fix_commits=mining.fix_commits,
        szz_fixes_examined=mining.szz_fixes_examined if request.szz else None,
        szz_labels=mining.szz_labels if request.szz else None,
        rows=frame,
        releases=tuple(tags.notes(str(history["repo"]))),
    )
