"""What a git history means for delivery: which commits landed on the main line, which merge
brought the others in, and which tags are releases (pure; `vsmml.events.connectors.git` uses it).

Main line: the first-parent history of the newest tip (with `--all`, of every tip, newest
first). A commit on it landed when it was committed; a commit reached only through a merge's
other parents landed with that merge (it belongs to the merge's change), as `git rev-list
M^1..M` lists them. Merges inside a merged branch (`main` merged into a feature) are part of the
outer change, not changes of their own.

Release tags, by default (`DEFAULT_RELEASE_PATTERN`, case-insensitive): `vX.Y.Z`, `X.Y.Z`,
`X.Y` (up to four numbers, `.` or `_` between them), `release-…`, `rel/…` and `<name>-X.Y.Z`
(`commons-lang-3.12.0`). A pre-release suffix (`-rc1`, `-beta.2`, `.M3`, `-SNAPSHOT` ...) marks
a pre-release, not counted unless `prereleases` is asked for.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

_PRE: Final = (
    r"(?:[-._+]?(?:rc|cr|alpha|beta|a|b|pre|preview|dev|m|milestone|snapshot|ea)[-._]?\d*)"
)
DEFAULT_RELEASE_PATTERN: Final = (
    r"(?i)^(?:v|release[-_/]v?|rel[-_/]v?|[a-z][a-z0-9_.-]*?[-_]v?)?"
    rf"\d+(?:[._]\d+){{1,3}}(?P<pre>{_PRE}+)?$"
)
"""A tag that matches is a release; with a non-empty `pre` group it is a pre-release."""


def landing(commits: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """sha → sha of the main-line commit it landed with (itself for a main-line commit).

    `commits` are dicts with `sha`, `parents` and `commit_time`; parents outside the list
    (a shallow clone) are ignored. Linear in the number of commits.
    """
    parents: dict[str, list[str]] = {}
    times: dict[str, float] = {}
    for c in commits:
        sha = str(c.get("sha") or "")
        if not sha:
            continue
        raw = c.get("parents")
        parents[sha] = [str(p) for p in raw] if isinstance(raw, list | tuple) else []
        t = c.get("commit_time")
        times[sha] = float(t) if isinstance(t, int | float) and not isinstance(t, bool) else 0.0
    for sha, ps in parents.items():
        parents[sha] = [p for p in ps if p in parents]
    children = {p for ps in parents.values() for p in ps}
    order = {sha: i for i, sha in enumerate(parents)}
    tips = sorted((s for s in parents if s not in children), key=lambda s: (-times[s], -order[s]))
    landed: dict[str, str] = {}
    for tip in tips:
        chain: list[str] = []
        cur: str | None = tip
        while cur is not None and cur not in landed:
            chain.append(cur)
            ps = parents[cur]
            cur = ps[0] if ps else None
        for main in reversed(chain):
            landed[main] = main
            stack = list(parents[main][1:])
            while stack:
                sha = stack.pop()
                if sha in landed:
                    continue
                landed[sha] = main
                stack.extend(parents[sha])
    return landed


class ShaIndex:
    """Full shas by (abbreviated) prefix: `This reverts commit 1a2b3c4` names a known commit."""

    def __init__(self, shas: Iterable[str]) -> None:
        self._sorted = sorted({s.lower() for s in shas})

    def full(self, prefix: str) -> str | None:
        """The one known sha starting with `prefix` (None when unknown or ambiguous)."""
        prefix = prefix.lower()
        i = bisect.bisect_left(self._sorted, prefix)
        hits = [s for s in self._sorted[i : i + 2] if s.startswith(prefix)]
        return hits[0] if len(hits) == 1 else None


@dataclass
class TagReport:
    """How the tags of a repository were read: releases, pre-releases, and the rest."""

    releases: list[str] = field(default_factory=list)
    prereleases: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    counted_prereleases: bool = False

    @property
    def total(self) -> int:
        """Every tag looked at."""
        return len(self.releases) + len(self.prereleases) + len(self.others)

    def notes(self, repo: str, *, examples: int = 5) -> list[str]:
        """Lines for people: how many tags are releases, examples of the others, and the rule
        (`release_pattern`, `prereleases`) that would take them."""
        if not self.total:
            return [f"{repo}: no tags, so no releases (deployments)"]
        kind = "releases and pre-releases" if self.counted_prereleases else "releases"
        lines = [f"{repo}: {len(self.releases)} of {self.total} tags are {kind} (deployments)"]
        if self.prereleases and not self.counted_prereleases:
            shown = ", ".join(self.prereleases[:examples])
            lines.append(
                f"{repo}: {_tags(len(self.prereleases), 'pre-release tag')} not counted "
                f"(e.g. {shown}); "
                "to count them: git rule `prereleases: true`"
            )
        if self.others:
            shown = ", ".join(self.others[:examples])
            lines.append(
                f"{repo}: {_tags(len(self.others), 'other tag')} not counted (e.g. {shown}); "
                f"to count them: git rule `release_pattern: '{suggest_pattern(self.others)}'` "
                "(it replaces the default schemes: join both with `|` to keep them)"
            )
        return lines


def _tags(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def classify_tags(
    names: Iterable[str], pattern: str = DEFAULT_RELEASE_PATTERN, *, prereleases: bool = False
) -> TagReport:
    """Sort tag names into releases, pre-releases and others (names in their given order)."""
    rx = re.compile(pattern)
    report = TagReport(counted_prereleases=prereleases)
    for name in names:
        match = rx.search(name)
        if match is None:
            report.others.append(name)
        elif _is_pre(match) and not prereleases:
            report.prereleases.append(name)
        else:
            report.releases.append(name)
    return report


def _is_pre(match: re.Match[str]) -> bool:
    return "pre" in match.re.groupindex and bool(match.group("pre"))


def suggest_pattern(names: Sequence[str]) -> str:
    """A regex taking the most common shape among `names` (digits generalised)."""
    shapes = Counter(_shape(n) for n in names)
    common = [s for s, _ in shapes.most_common(3)]
    body = common[0] if len(common) == 1 else "(?:" + "|".join(common) + ")"
    return f"^{body}$"


def _shape(name: str) -> str:
    parts = re.split(r"(\d+)", name)
    return "".join(r"\d+" if p.isdigit() else _escape(p) for p in parts if p)


def _escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in ".^$*+?{}[]\\|()" else ch for ch in text)
