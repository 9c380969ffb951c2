"""A repository that asks git to run programs runs none of them under vsmml.

The repository's own `.git/config` and attributes name a textconv driver, an external diff, a
per-driver diff command, an fsmonitor hook, a pager, hooks, filters and a signature program, each
a script that leaves a mark when it runs. Plain `git log -p` runs them (the control); `vsmml
ingest git`, `vsmml git-metrics` (with and without `--szz`) and `vsmml score --repo` must not.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsmml.cli import app

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def _git(repo: Path, *args: str, when: str) -> None:
    env = {
        "GIT_AUTHOR_NAME": "eve",
        "GIT_AUTHOR_EMAIL": "eve@example.com",
        "GIT_COMMITTER_NAME": "eve",
        "GIT_COMMITTER_EMAIL": "eve@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """(repository, mark file): history first, then the hostile config and attributes."""
    repo, mark = tmp_path / "repo", tmp_path / "mark"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main", when="2025-01-01T00:00:00Z")
    for day in range(1, 6):
        (repo / "app.py").write_text("".join(f"v{i} = {day}\n" for i in range(day * 4)))
        _git(repo, "add", ".", when=f"2025-01-0{day}T10:00:00Z")
        msg = "Fix bug in app" if day == 4 else f"Add feature {day}"
        _git(repo, "commit", "-qm", msg, when=f"2025-01-0{day}T10:00:00Z")
    _git(repo, "tag", "v1.0.0", when="2025-01-06T00:00:00Z")
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {mark}\ncat "$1" 2>/dev/null\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        shutil.copy(script, hooks / hook)
    (repo / ".git" / "info" / "attributes").write_text("* diff=evil filter=evil\n")
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f"[core]\n\tfsmonitor = {script}\n\tpager = {script}\n\thooksPath = {hooks}\n"
            f"[diff]\n\texternal = {script}\n"
            f'[diff "evil"]\n\ttextconv = {script}\n\tcommand = {script}\n'
            f'[filter "evil"]\n\tclean = {script}\n\tsmudge = {script}\n'
            f"[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {script}\n"
        )
    return repo, mark


def test_plain_git_would_run_the_repositorys_programs(hostile: tuple[Path, Path]) -> None:
    """The control: without vsmml's settings the repository does run its script."""
    repo, mark = hostile
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "-C", str(repo), "log", "-p"], capture_output=True, env=env, check=False)
    assert mark.is_file() and mark.read_text().strip()


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "git", "{repo}"],
        ["git-metrics", "{repo}"],
        ["git-metrics", "{repo}", "--szz"],
        ["score", "--repo", "{repo}"],
        ["score", "--repo", "{repo}", "--sha", "HEAD~1", "--format", "json"],
    ],
)
def test_vsmml_runs_none_of_them(
    hostile: tuple[Path, Path], args: list[str], vsmml_home: Path
) -> None:
    repo, mark = hostile
    result = CliRunner().invoke(app, [a.replace("{repo}", str(repo)) for a in args])
    assert result.exit_code in (0, 1), result.output  # 1: the gate failed, also fine here
    assert not mark.exists(), f"a repository program ran: {mark.read_text()}"
