"""A small real git repository for the release-gate tests: fixed authors and dates, a rename,
a big change, a merge."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(repo: Path, *args: str, when: str = "2025-03-01T10:00:00Z", who: str = "alice") -> str:
    """Run git in `repo` with fixed identity and dates (no user or system config)."""
    env = {
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who}@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True)
    return done.stdout.decode().strip()


def write(repo: Path, path: str, lines: int, tag: str) -> None:
    """A file of `lines` lines mentioning `tag`."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{tag}_{i} = {i}\n" for i in range(lines)))


def commit(repo: Path, message: str, day: int, who: str = "alice") -> str:
    """Commit everything; returns the new sha."""
    when = f"2025-03-{day:02d}T10:00:00Z"
    git(repo, "add", "-A", when=when)
    git(repo, "commit", "-qm", message, when=when, who=who)
    return git(repo, "rev-parse", "HEAD")


def make_repo(root: Path) -> dict[str, str]:
    """Nine commits: features by two authors, a rename, a fix, a merge, a big risky last fix."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    shas = {}
    for day in range(1, 5):
        write(root, f"svc/mod{day % 2}/f{day}.py", 10 * day, f"v{day}")
        shas[f"c{day}"] = commit(root, f"Add feature {day}", day, "bob" if day % 2 else "alice")
    git(root, "mv", "svc/mod1/f1.py", "svc/mod1/renamed.py")
    shas["rename"] = commit(root, "Rename f1", 5)
    git(root, "checkout", "-qb", "side")
    write(root, "docs/side.md", 5, "side")
    shas["side"] = commit(root, "Docs on a side branch", 6, "bob")
    git(root, "checkout", "-q", "main")
    write(root, "svc/mod0/f2.py", 25, "fixed")
    shas["fix"] = commit(root, "Fix crash in f2", 7)
    git(root, "merge", "--no-ff", "-qm", "Merge side", "side", when="2025-03-08T10:00:00Z")
    shas["merge"] = git(root, "rev-parse", "HEAD")
    for path in ("svc/mod0/f2.py", "svc/mod0/f4.py", "svc/mod1/f3.py", "svc/mod1/renamed.py"):
        write(root, path, 400, "rewritten")
    write(root, "api/billing.py", 400, "billing")
    shas["big"] = commit(root, "Fix billing: rewrite the engine", 9)
    return shas
