"""Mine a local git repository: one `git log --numstat` stream → history, Kamei metrics, events.

One subprocess reads the whole history (oldest first); metrics are computed incrementally
(`vsmml.events.connectors.git_kamei`); tags come from `git for-each-ref`. SZZ, when asked for,
reads the zero-context diffs of all fix commits in one more `git log` and blames the lines each
fix deleted or changed in its parent (one `git blame` per fixed file, run in parallel).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from vsmml.errors import DataError
from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.git import GitRules, to_events
from vsmml.events.connectors.git_kamei import kamei_metrics
from vsmml.pipeline.gitexec import LOG_FORMAT, parse_log, run_git

SOURCE: Final = "git"
_HUNK: Final = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+")
_BLAME: Final = re.compile(r"^([0-9a-f]{40}) \d+ \d+")


@dataclass
class GitMining:
    """Everything mined from one repository, and how much SZZ found."""

    history: dict[str, Any]
    fix_commits: int = 0
    szz_fixes_examined: int = 0
    szz_labels: int = 0
    notes: list[str] = field(default_factory=list)

    def conversion(self, rules: GitRules | None = None) -> Conversion:
        """The canonical events of the mined history."""
        return to_events(self.history, rules)


def read_tags(repo: Path) -> list[dict[str, Any]]:
    """Tags with the commit they point to and their time (tagger date, else commit date)."""
    fmt = (
        "%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(objectname)%00%(creatordate:unix)"
    )
    tags = []
    for line in run_git(repo, "for-each-ref", "refs/tags", f"--format={fmt}").splitlines():
        name, kind, peeled, obj, created = (line.split("\0") + [""] * 5)[:5]
        tags.append(
            {
                "name": name,
                "sha": peeled or obj,
                "annotated": kind == "tag",
                "time": int(created) if created.isdigit() else None,
            }
        )
    return tags


def repo_name(repo: Path) -> str:
    """`owner/name` of the origin remote, else the folder name."""
    try:
        url = run_git(repo, "config", "--get", "remote.origin.url").strip()
    except DataError:
        url = ""
    path = re.sub(r"^[\w.-]+@[\w.-]+:", "", url).rstrip("/").removesuffix(".git")
    parts = [p for p in path.split("/") if p and ":" not in p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else repo.resolve().name


def mine(path: str | Path, rules: GitRules | None = None) -> GitMining:
    """Read the history of the repository at `path`, its metrics, tags and (optionally) SZZ."""
    rules = rules or GitRules()
    repo = Path(path)
    if not repo.exists():
        raise DataError(f"path {str(path)!r}: no such repository folder")
    refs = ["--all"] if rules.all_refs else []
    stream = run_git(repo, "log", *refs, "--reverse", "--topo-order", "-z", "--numstat", "-M",
                     f"--format={LOG_FORMAT}")  # fmt: skip
    commits = parse_log(stream)
    metrics = kamei_metrics(commits, fix_pattern=rules.fix_pattern)
    history: dict[str, Any] = {
        "repo": rules.repo or repo_name(repo),
        "commits": commits,
        "tags": read_tags(repo),
        "metrics": metrics,
    }
    result = GitMining(history, fix_commits=sum(int(m["fix"]) for m in metrics.values()))
    if rules.szz:
        fixes = [
            c for c in commits if metrics.get(c["sha"], {}).get("fix") and len(c["parents"]) == 1
        ]
        labels = szz(repo, fixes, max_lines=rules.szz_max_lines)
        known = {c["sha"]: c.get("author_time") or 0 for c in commits}
        by_time = {c["sha"]: c.get("author_time") or 0 for c in fixes}
        labels = {
            bug: [f for f in fixed if known[bug] <= by_time.get(f, 0)]
            for bug, fixed in labels.items()
            if bug in known
        }
        labels = {bug: fixed for bug, fixed in labels.items() if fixed}
        history["bug_inducing"] = labels
        result.szz_fixes_examined = len(fixes)
        result.szz_labels = len(labels)
    return result


def read(paths: Sequence[str | Path], rules: GitRules | None = None) -> Conversion:
    """Mine each repository folder and convert its history to events."""
    out = Conversion()
    for path in paths:
        out = out.extend(mine(path, rules).conversion(rules))
    return out


def fix_hunks(repo: Path, fixes: Sequence[str]) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """For each fix sha: old path → (first line, count) of lines it deleted or changed."""
    if not fixes:
        return {}
    out: dict[str, dict[str, list[tuple[int, int]]]] = {}
    stream = run_git(repo, "log", "--no-walk=unsorted", "--stdin", "-U0", "--no-color", "-M",
                     "--no-ext-diff", "--diff-filter=MR", "--format=%x1e%H",
                     stdin="\n".join(fixes) + "\n")  # fmt: skip
    for chunk in stream.split("\x1e"):
        lines = chunk.split("\n")
        sha = lines[0].strip()
        if not sha:
            continue
        files: dict[str, list[tuple[int, int]]] = {}
        current: str | None = None
        for line in lines[1:]:
            if line.startswith("--- "):
                current = line[6:] if line.startswith("--- a/") else None
            elif current and line.startswith("@@"):
                match = _HUNK.match(line)
                if match:
                    count = 1 if match.group(2) is None else int(match.group(2))
                    if count > 0:
                        files.setdefault(current, []).append((int(match.group(1)), count))
        out[sha] = files
    return out


def szz(
    repo: Path,
    fixes: Iterable[dict[str, Any]],
    *,
    max_lines: int = 1000,
    workers: int | None = None,
) -> dict[str, list[str]]:
    """B-SZZ: bug-inducing sha → fix shas, by blaming each fix's removed lines in its parent."""
    fixes = list(fixes)
    parent = {c["sha"]: c["parents"][0] for c in fixes if c.get("parents")}
    hunks = fix_hunks(repo, list(parent))
    jobs = [
        (sha, path, ranges)
        for sha, files in hunks.items()
        for path, ranges in files.items()
        if sum(c for _, c in ranges) <= max_lines
    ]

    def blame(job: tuple[str, str, list[tuple[int, int]]]) -> tuple[str, set[str]]:
        sha, path, ranges = job
        args = ["blame", "--porcelain", "-w"]
        for start, count in ranges:
            args += ["-L", f"{start},+{count}"]
        try:
            text = run_git(repo, *args, parent[sha], "--", path)
        except DataError:
            return sha, set()
        return sha, {m.group(1) for m in map(_BLAME.match, text.splitlines()) if m}

    labels: dict[str, set[str]] = {}
    with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2) * 2)) as pool:
        for fix, inducing in pool.map(blame, jobs):
            for bug in inducing:
                labels.setdefault(bug, set()).add(fix)
    return {bug: sorted(fixed) for bug, fixed in labels.items()}
