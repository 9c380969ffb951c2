"""The 14 JIT metrics of one commit for the release gate, with a mining cache per repository.

The metrics are those of the repository's history as `vsmml git-metrics` / `vsmml ingest git`
mine it (`git log --reverse --topo-order --numstat -M` of HEAD, folded commit by commit by
`vsmml.events.connectors.git_kamei.step`). A commit not reachable from HEAD is mined as the tip
of its own history. The cache under ``$VSMML_HOME/cache/git/<repo key>/`` keeps every mined
commit's metrics (sqlite, one row per sha) and the miner's state after the tip (a pickle), so a
later call answers from the cache, or folds in only the commits added on top of the cached tip
when they extend it linearly (the fold order is then the same as a full mine's); anything else
(a rewritten or merged history) mines again. The cached and incremental paths import no
pandas, so the gate stays within the CLI's start-up budget.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vsmml.errors import DataError
from vsmml.events.connectors.git_kamei import DEFAULT_FIX_PATTERN, KameiState, step

CACHE_FORMAT: Final[int] = 1
LOG_FORMAT: Final[str] = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%ct%x1f%B%x1f"
"""The same format as `vsmml.pipeline.ingest.git_repo.LOG_FORMAT` (a test keeps them equal)."""


@dataclass(frozen=True)
class CommitMetrics:
    """One commit's metrics and how they were obtained.

    Attributes:
        sha: the full commit sha.
        repo_root: the repository's top-level folder.
        metrics: the 14 Kamei metrics.
        how: ``cache`` (answered from the cache), ``incremental`` (new commits folded in) or
            ``mined`` (the whole history read).
        commits_read: commits read from git for this answer.
        seconds: time taken.
    """

    sha: str
    repo_root: Path
    metrics: dict[str, float]
    how: str
    commits_read: int
    seconds: float


def git(repo: Path, *args: str) -> str:
    """Run one git command in `repo`; stdout, or `DataError` naming the command on failure."""
    cmd = ["git", "-c", "core.quotepath=off", "-C", str(repo), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False)
    except OSError as exc:
        raise DataError(f"cannot run git ({exc}); is git installed?") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DataError(f"`git {' '.join(args[:3])}` failed in {repo}: {' '.join(err)[:300]}")
    return done.stdout.decode("utf-8", "surrogateescape")


def _is_ancestor(repo: Path, a: str, b: str) -> bool:
    cmd = ["git", "-C", str(repo), "merge-base", "--is-ancestor", a, b]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def resolve(repo: Path, sha: str) -> tuple[Path, str, str]:
    """(top-level folder, full sha of `sha`, the tip whose history defines its metrics)."""
    if not repo.is_dir():
        raise DataError(f"--repo {str(repo)!r}: no such folder")
    try:
        root = Path(git(repo, "rev-parse", "--show-toplevel").strip())
    except DataError:
        raise DataError(f"--repo {str(repo)!r}: not a git repository") from None
    if not re.fullmatch(r"[\w./^~@{}-]{1,200}", sha):
        raise DataError(f"--sha {sha!r}: not a commit name")
    try:
        full = git(root, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").strip()
    except DataError:
        raise DataError(f"--sha {sha!r}: no such commit in {root}") from None
    try:
        head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip()
    except DataError:
        head = full
    tip = head if full == head or _is_ancestor(root, full, head) else full
    return root, full, tip


def parse_log(stream: str) -> list[dict[str, Any]]:
    """`git log -z --numstat --format=LOG_FORMAT` output → commit dicts, as the ingest miner
    parses it (`vsmml.pipeline.ingest.git_repo.parse_log`; a test keeps them equal)."""
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


def _log(root: Path, *revs: str) -> list[dict[str, Any]]:
    stream = git(root, "log", "--reverse", "--topo-order", "-z", "--numstat", "-M",
                 f"--format={LOG_FORMAT}", *revs)  # fmt: skip
    return parse_log(stream)


class MiningCache:
    """The cache folder of one repository (see the module docstring)."""

    def __init__(self, home: Path, root: Path, fix_pattern: str) -> None:
        key = hashlib.sha256(f"{root.resolve()}\0{fix_pattern}".encode()).hexdigest()[:20]
        self.folder = home / "cache" / "git" / key
        self.fix_pattern = fix_pattern
        self.root = root

    @property
    def _db(self) -> Path:
        return self.folder / "metrics.sqlite"

    @property
    def _state(self) -> Path:
        return self.folder / "state.pickle"

    def tip(self) -> str | None:
        """The tip the cache was mined to (None: no usable cache)."""
        if not self._db.is_file() or not self._state.is_file():
            return None
        try:
            with sqlite3.connect(self._db) as con:
                rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error:
            return None
        if rows.get("format") != str(CACHE_FORMAT) or rows.get("root") != str(self.root):
            return None
        return rows.get("tip")

    def lookup(self, sha: str) -> dict[str, float] | None:
        """One commit's cached metrics."""
        with sqlite3.connect(self._db) as con:
            row = con.execute("SELECT metrics FROM metrics WHERE sha = ?", (sha,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def load_state(self) -> tuple[KameiState, int]:
        """The miner's state after the cached tip, and how many commits it has seen."""
        with self._state.open("rb") as fh:
            data = pickle.load(fh)
        if data.get("format") != CACHE_FORMAT:
            raise DataError(f"{self._state}: cache format {data.get('format')!r}")
        return data["state"], int(data["position"])

    def save(
        self,
        tip: str,
        state: KameiState,
        metrics: list[tuple[str, dict[str, float]]],
        position: int,
        *,
        fresh: bool,
    ) -> None:
        """Write new rows and the state after `tip` (a fresh cache replaces the old one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._state.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"format": CACHE_FORMAT, "state": state, "position": position}, fh)
        if fresh and self._db.exists():
            self._db.unlink()
        with sqlite3.connect(self._db) as con:
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute(
                "CREATE TABLE IF NOT EXISTS metrics"
                " (sha TEXT PRIMARY KEY, pos INTEGER, metrics TEXT)"
            )
            start = position - len(metrics)
            con.executemany(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?)",
                [(s, start + i, json.dumps(m)) for i, (s, m) in enumerate(metrics)],
            )
            meta = {"format": str(CACHE_FORMAT), "root": str(self.root), "tip": tip,
                    "fix_pattern": self.fix_pattern}  # fmt: skip
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        tmp.replace(self._state)


def _fold(
    commits: list[dict[str, Any]], state: KameiState, fix_pattern: str
) -> list[tuple[str, dict[str, float]]]:
    rx = re.compile(fix_pattern)
    out = []
    for c in commits:
        if len(c.get("parents") or ()) > 1:
            continue
        out.append((str(c["sha"]), step(state, c, rx)))
    return out


def _linear_extension(root: Path, base: str, tip: str) -> bool:
    """True when base..tip is a chain of single-parent commits starting on `base`."""
    rows = git(root, "rev-list", "--reverse", "--parents", f"{base}..{tip}").split("\n")
    prev = base
    for line in filter(None, rows):
        sha, *parents = line.split()
        if parents != [prev]:
            return False
        prev = sha
    return prev == tip


def commit_metrics(
    repo: Path, sha: str, home: Path, *, fix_pattern: str = DEFAULT_FIX_PATTERN
) -> CommitMetrics:
    """The JIT metrics of `sha` in `repo` (see the module docstring)."""
    t0 = time.perf_counter()
    root, full, tip = resolve(repo, sha)
    cache = MiningCache(home, root, fix_pattern)
    cached = cache.tip()
    how, read = "cache", 0
    if cached is not None and cached != tip and _is_ancestor(root, cached, tip):
        if _linear_extension(root, cached, tip):
            state, position = cache.load_state()
            commits = _log(root, f"{cached}..{tip}")
            rows = _fold(commits, state, fix_pattern)
            cache.save(tip, state, rows, position + len(rows), fresh=False)
            how, read = "incremental", len(commits)
        else:
            cached = None
    elif cached is not None and cached != tip:
        cached = None
    if cached is None:
        commits = _log(root, tip)
        state = KameiState()
        rows = _fold(commits, state, fix_pattern)
        cache.save(tip, state, rows, len(rows), fresh=True)
        how, read = "mined", len(commits)
    found = cache.lookup(full)
    if found is None:
        raise DataError(f"--sha {sha!r}: a merge commit has no change metrics (no diff of its own)")
    return CommitMetrics(full, root, found, how, read, time.perf_counter() - t0)
