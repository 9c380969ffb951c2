"""Running git on a repository nobody here controls, and reading its log.

Pipelines point `vsmml ingest git`, `vsmml git-metrics` and `vsmml score --repo` at repositories
they have just checked out, so every repository is treated as hostile: its `.git/config` and
`.gitattributes` may name programs for git to run. Every git command therefore goes through
`run_git`, which turns off each way git can be told to execute something while reading history:

- ``-c core.fsmonitor=false``: an fsmonitor hook is a command git runs to list changed files;
- ``-c core.hooksPath=/dev/null``: no hook from the repository runs, whatever the command;
- ``-c core.pager=cat``, ``--no-pager``, ``GIT_PAGER=cat``, ``PAGER=cat``: no pager program;
- ``--no-ext-diff`` (log, show, diff): ``diff.external`` and ``diff.<driver>.command`` are
  programs;
- ``--no-textconv`` (log, show, diff, blame): ``diff.<driver>.textconv`` is a program run on
  file content;
- ``-c log.showSignature=false``, ``-c gpg.program=false``: checking a signature runs a program;
- ``-c protocol.allow=never``, ``-c core.sshCommand=false``: a partial clone fetches missing
  objects lazily, running transport commands;
- ``-c diff.noprefix=false``, ``-c diff.relative=false``: output in the shape we parse;
- ``-c core.quotepath=off``: paths as UTF-8, not octal escapes;
- every ``GIT_*`` variable removed, ``GIT_CONFIG_NOSYSTEM=1``, ``GIT_TERMINAL_PROMPT=0``,
  ``GIT_OPTIONAL_LOCKS=0``: no redirected repository, no system config, no prompt, no index
  write.

Filters (``filter.<driver>.clean/smudge/process``) only run when files are checked out or added,
which vsmml never does; blame reads the fixed revision (``REV -- path``), never the working tree.
The user's own global config (``~/.gitconfig``) is theirs and is kept. This module is light (no
pandas), so the release gate can use it within its start-up budget.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Final

from vsmml.errors import DataError

SAFE_CONFIG: Final[tuple[tuple[str, str], ...]] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.sshCommand", "false"),
    ("core.quotepath", "off"),
    ("log.showSignature", "false"),
    ("gpg.program", "false"),
    ("protocol.allow", "never"),
    ("diff.noprefix", "false"),
    ("diff.relative", "false"),
)
"""Configuration forced on every git command (see the module docstring for why)."""
DIFF_COMMANDS: Final[frozenset[str]] = frozenset({"log", "show", "diff"})
"""Commands that can produce diffs: they also get ``--no-ext-diff --no-textconv``."""
LOG_FORMAT: Final[str] = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%ct%x1f%B%x1f"
"""`git log --format` of the miners: sha, parents, author, times, message, then --numstat."""


def safe_env() -> dict[str, str]:
    """The environment git runs in: the caller's, without any ``GIT_*`` variable, plus the
    variables that keep git from prompting, paging, reading system config or writing locks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        PAGER="cat",
    )
    return env


def git_command(repo: Path, *args: str) -> list[str]:
    """The full argv of `git ARGS` in `repo`, hardened."""
    config = [item for key, value in SAFE_CONFIG for item in ("-c", f"{key}={value}")]
    extra = ["--no-ext-diff", "--no-textconv"] if args and args[0] in DIFF_COMMANDS else []
    if args and args[0] == "blame":
        extra = ["--no-textconv"]
    return ["git", "--no-pager", *config, "-C", str(repo), args[0], *extra, *args[1:]]


def run_git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run one git command in `repo`; stdout, or `DataError` naming the command on failure."""
    try:
        done = subprocess.run(
            git_command(repo, *args),
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=False,
            env=safe_env(),
        )
    except OSError as exc:
        raise DataError(f"cannot run git ({exc}); is git installed?") from None
    if done.returncode != 0:
        err = " ".join(done.stderr.decode("utf-8", "replace").split())
        raise DataError(f"`git {' '.join(args[:3])}` failed in {repo}: {err[:500]}")
    return done.stdout.decode("utf-8", "surrogateescape")


def git_succeeds(repo: Path, *args: str) -> bool:
    """True when `git ARGS` exits 0 (for yes/no questions such as ``merge-base --is-ancestor``)."""
    try:
        done = subprocess.run(
            git_command(repo, *args), capture_output=True, check=False, env=safe_env()
        )
    except OSError:
        return False
    return done.returncode == 0


def parse_log(stream: str) -> list[dict[str, Any]]:
    """Parse `git log -z --numstat --format=LOG_FORMAT` output into commit dicts."""
    commits = []
    for chunk in stream.split("\x1e"):
        parts = chunk.split("\x1f", 7) if chunk else []
        if len(parts) < 8:
            continue
        sha, parents, name, email, at, ct, message, stat = parts
        commits.append(
            {
                "sha": sha,
                "parents": parents.split() if parents else [],
                "author_name": name,
                "author_email": email,
                "author_time": int(at) if at.isdigit() else None,
                "commit_time": int(ct) if ct.isdigit() else None,
                "message": message.strip(),
                "files": _numstat(stat),
            }
        )
    return commits


def _numstat(stat: str) -> list[dict[str, Any]]:
    tokens = stat.split("\0")
    files = []
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if not token:
            continue
        added, _, rest = token.partition("\t")
        deleted, _, path = rest.partition("\t")
        old = None
        if not path and i + 1 < len(tokens):
            old, path = tokens[i], tokens[i + 1]
            i += 2
        files.append(
            {
                "path": path,
                "old_path": old,
                "added": int(added) if added.isdigit() else None,
                "deleted": int(deleted) if deleted.isdigit() else None,
            }
        )
    return files
