"""The 14 just-in-time change metrics of Kamei et al. (TSE 2013), computed in one pass over history.

Commits come oldest first (parents before children) as dicts with `sha`, `parents`,
`author_email` (or `author_name`), `author_time` (epoch seconds), `message` and `files`
(`path`, `added`, `deleted`, optional `old_path` for renames; binary files have None counts).
Merge commits (two or more parents) carry no diff and get no metrics.

Definitions (as in Commit Guru, which produced the public JIT datasets):

| metric | meaning |
|---|---|
| NS, ND, NF | modified subsystems (top-level directories), directories, files |
| entropy | -Σ p_k log2 p_k over files, p_k = lines changed in file k / all lines changed |
| LA, LD | lines added, deleted |
| LT | lines of code in the modified files before the change (summed) |
| FIX | the message matches the fix pattern |
| NDEV | distinct developers who changed the modified files before |
| AGE | mean days since each modified file was last changed |
| NUC | distinct earlier commits that changed any of the modified files |
| EXP | the developer's earlier commits |
| REXP | earlier commits weighted by recency: Σ_y n_y / (y + 1), y = whole years ago |
| SEXP | the developer's earlier commits touching any of the modified subsystems |

Everything is incremental: dictionaries keyed by file and developer, and integer bitsets of commit
numbers for the "distinct commits" unions, so 50,000 commits take a few seconds.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from vsmml.events.change_metrics import JIT_COLUMNS

KAMEI_COLUMNS: Final[tuple[str, ...]] = JIT_COLUMNS
"""The 14 metrics in their conventional order (`vsmml.events.change_metrics`)."""
DEFAULT_FIX_PATTERN: Final = (
    r"(?i)\b(fix(e[sd]|ing)?|bugs?|bugfix|hotfix|defects?|faults?|patch(e[sd])?|wrong|problems?)\b"
)
_YEAR: Final = 365.25 * 86_400
_DAY: Final = 86_400.0


def subsystem(path: str) -> str:
    """The top-level directory of a path ('' for files at the root)."""
    head, sep, _ = path.partition("/")
    return head if sep else ""


def directory(path: str) -> str:
    """The directory of a path ('' for files at the root)."""
    return path.rpartition("/")[0]


@dataclass
class KameiState:
    """What the history so far says about every file and developer."""

    loc: dict[str, int] = field(default_factory=dict)
    last_time: dict[str, int] = field(default_factory=dict)
    file_devs: dict[str, set[str]] = field(default_factory=dict)
    file_commits: dict[str, int] = field(default_factory=dict)
    dev_times: dict[str, list[int]] = field(default_factory=dict)
    dev_subsystems: dict[str, dict[str, int]] = field(default_factory=dict)
    count: int = 0


def kamei_metrics(
    commits: Iterable[Mapping[str, Any]], *, fix_pattern: str = DEFAULT_FIX_PATTERN
) -> dict[str, dict[str, float | int]]:
    """Metrics per non-merge commit sha, from commits given oldest first."""
    fix_rx = re.compile(fix_pattern)
    state = KameiState()
    out: dict[str, dict[str, float | int]] = {}
    for commit in commits:
        if len(commit.get("parents") or ()) > 1:
            continue
        out[str(commit["sha"])] = step(state, commit, fix_rx)
    return out


def step(state: KameiState, commit: Mapping[str, Any], fix_rx: re.Pattern[str]) -> dict[str, Any]:
    """Metrics of one commit from `state`, then fold the commit into `state`."""
    files = [f for f in commit.get("files") or () if f.get("path")]
    for f in files:
        old = f.get("old_path")
        if old and old != f["path"]:
            _rename(state, str(old), str(f["path"]))
    dev = str(commit.get("author_email") or commit.get("author_name") or "").lower()
    t = int(commit.get("author_time") or 0)
    paths = [str(f["path"]) for f in files]
    changed = [(f.get("added") or 0) + (f.get("deleted") or 0) for f in files]
    la = sum(f.get("added") or 0 for f in files)
    ld = sum(f.get("deleted") or 0 for f in files)
    subsystems = {subsystem(p) for p in paths}
    devs: set[str] = set()
    mask = 0
    ages = []
    for p in paths:
        devs |= state.file_devs.get(p, set())
        mask |= state.file_commits.get(p, 0)
        if p in state.last_time:
            ages.append(max(0.0, (t - state.last_time[p]) / _DAY))
    dev_subs = state.dev_subsystems.get(dev, {})
    sub_mask = 0
    for s in subsystems:
        sub_mask |= dev_subs.get(s, 0)
    times = state.dev_times.get(dev, [])
    metrics: dict[str, Any] = {
        "ns": len(subsystems),
        "nd": len({directory(p) for p in paths}),
        "nf": len(paths),
        "entropy": _entropy(changed),
        "la": la,
        "ld": ld,
        "lt": sum(state.loc.get(p, 0) for p in paths),
        "fix": int(bool(fix_rx.search(str(commit.get("message") or "")))),
        "ndev": len(devs),
        "age": sum(ages) / len(ages) if ages else 0.0,
        "nuc": mask.bit_count(),
        "exp": len(times),
        "rexp": _recent_experience(times, t),
        "sexp": sub_mask.bit_count(),
    }
    _fold(state, files, dev, t, subsystems)
    return metrics


def _fold(
    state: KameiState, files: list[Mapping[str, Any]], dev: str, t: int, subsystems: set[str]
) -> None:
    bit = 1 << state.count
    state.count += 1
    for f in files:
        p = str(f["path"])
        state.loc[p] = max(0, state.loc.get(p, 0) + (f.get("added") or 0) - (f.get("deleted") or 0))
        state.last_time[p] = t
        state.file_devs.setdefault(p, set()).add(dev)
        state.file_commits[p] = state.file_commits.get(p, 0) | bit
    insort(state.dev_times.setdefault(dev, []), t)
    dev_subs = state.dev_subsystems.setdefault(dev, {})
    for s in subsystems:
        dev_subs[s] = dev_subs.get(s, 0) | bit


def _rename(state: KameiState, old: str, new: str) -> None:
    if old in state.loc:
        state.loc[new] = state.loc.pop(old)
    if old in state.last_time:
        state.last_time[new] = state.last_time.pop(old)
    if old in state.file_devs:
        state.file_devs[new] = state.file_devs.pop(old)
    if old in state.file_commits:
        state.file_commits[new] = state.file_commits.pop(old)


def _entropy(changed: list[int]) -> float:
    total = sum(changed)
    if total <= 0:
        return 0.0
    return -sum((c / total) * math.log2(c / total) for c in changed if c > 0) + 0.0


def _recent_experience(times: list[int], t: int) -> float:
    """Σ over whole years y ago of (the developer's commits in that year) / (y + 1)."""
    if not times:
        return 0.0
    total = 0.0
    upper = bisect_left(times, t + 1)
    y = 0
    while upper > 0:
        lower = bisect_left(times, math.floor(t - (y + 1) * _YEAR) + 1)
        total += (upper - lower) / (y + 1)
        upper = lower
        y += 1
    return total
