"""One real repository, checked by hand: tj/co (MIT), 299 commits, 36 release tags, one revert.

The history is a git bundle in `data/fixtures/git_co/`. A fresh store is filled with
`vsmml ingest git`, and `vsmml metrics` must give the release count, the median lead time and
the change failure rate that this test works out on its own, with git plumbing only:

- releases: the tags named like `X.Y.Z`, dated by `creatordate` (the tagger date of an annotated
  tag, the commit date of a lightweight one);
- a change: each commit of the first-parent history of `master`; a merge's change holds the
  commits `git rev-list M^1..M` lists; it starts at the earliest author date of its non-merge
  commits;
- a change ships in the first release (by date) whose `git rev-list TAG --not EARLIER_TAGS`
  holds its main-line commit; lead time = that release's date − the change's start;
- a release fails when a later release ships the revert of one of its changes (`This reverts
  commit X`); co's one revert reverted a commit before it was released, so nothing failed.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.pipeline.ingest import git_repo

BUNDLE = Path(__file__).parents[1] / "data/fixtures/git_co/co.bundle"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real") / "co"
    subprocess.run(
        ["git", "clone", "-q", "--branch", "master", str(BUNDLE), str(root)],
        capture_output=True,
        check=True,
    )
    _git(root, "remote", "set-url", "origin", "https://github.com/tj/co.git")
    return root


@dataclass(frozen=True)
class HandCheck:
    """Releases in date order, each shipped change's (release, lead time h), failed releases,
    and the release tags whose commit is not in master's history."""

    releases: list[str]
    changes: dict[str, tuple[str, float]]
    failed: set[str]
    off_history: list[str]

    @property
    def median_lead_h(self) -> float:
        return statistics.median(lead for _, lead in self.changes.values())


@pytest.fixture(scope="module")
def by_hand(repo: Path) -> HandCheck:
    """The numbers a person gets from the history with git alone (see the module docstring)."""
    releases = []
    for line in _git(
        repo,
        "for-each-ref",
        "refs/tags",
        "--format=%(refname:strip=2) %(creatordate:unix) %(*objectname) %(objectname)",
    ).splitlines():
        name, when, *shas = line.split()
        if re.fullmatch(r"\d+\.\d+\.\d+", name):
            releases.append((int(when), name, shas[0]))
    releases.sort()
    first_release: dict[str, tuple[int, str]] = {}
    earlier: list[str] = []
    for when, name, sha in releases:
        new = _git(repo, "rev-list", sha, "--not", *earlier).split()
        for commit in new:
            first_release.setdefault(commit, (when, name))
        earlier.append(sha)
    info = {}
    for line in _git(repo, "log", "--format=%H %at %P").splitlines():
        sha, at, *parents = line.split()
        info[sha] = (int(at), parents)
    changes: dict[str, tuple[str, float]] = {}
    for main in _git(repo, "rev-list", "--first-parent", "master").split():
        commits = [main]
        if len(info[main][1]) > 1:
            commits = _git(repo, "rev-list", f"{main}^1..{main}").split()
        authored = [info[c][0] for c in commits if len(info[c][1]) <= 1] or [info[main][0]]
        if main in first_release:
            when, name = first_release[main]
            changes[main] = (name, (when - min(authored)) / 3600)
    failed = set()
    for line in _git(repo, "log", "--format=%H%x00%B%x1e").split("\x1e"):
        match = re.search(r"This reverts commit ([0-9a-f]{40})", line)
        if match:
            revert = line.split("\x00")[0].strip()
            shipped, fixed = first_release.get(match.group(1)), first_release.get(revert)
            if shipped and shipped != fixed:
                failed.add(shipped[1])
    off_history = [
        name
        for _, name, sha in releases
        if subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", sha, "master"],
            capture_output=True,
        ).returncode
    ]
    return HandCheck([name for _, name, _ in releases], changes, failed, off_history)


def test_the_numbers_checked_by_hand(by_hand: HandCheck) -> None:
    """What the person found, written down: co's history as of its last commit."""
    assert len(by_hand.releases) == 36
    assert len(by_hand.changes) == 204
    assert by_hand.median_lead_h == pytest.approx(8.5501, abs=1e-4)
    assert by_hand.failed == set()
    assert by_hand.off_history == ["4.3.0"]  # its commit was rewritten out of master


def test_a_fresh_store_agrees_with_the_hand_check(
    repo: Path, by_hand: HandCheck, vsmml_home: Path
) -> None:
    runner = CliRunner()
    ingest = runner.invoke(app, ["ingest", "git", str(repo)])
    assert ingest.exit_code == 0, ingest.output
    assert "quarantined 0" in ingest.output
    out = runner.invoke(app, ["metrics", "--by", "all", "--freq", "all", "--format", "json"])
    assert out.exit_code == 0, out.output
    values = {row["metric"]: row for row in json.loads(out.stdout)}
    assert values["deployments"]["value"] == len(by_hand.releases)
    assert values["lead_time_median"]["value"] == pytest.approx(by_hand.median_lead_h, abs=1e-9)
    assert values["lead_time_median"]["n"] == len(by_hand.changes)
    assert values["change_failure_rate"]["value"] == len(by_hand.failed) / len(by_hand.releases)
    assert values["rollbacks"]["value"] == 0  # the one revert never reached a release
    note = runner.invoke(app, ["bottlenecks"])
    assert "no stage times before production" in note.output
    assert "change.opened" in note.output


def test_every_change_ships_where_the_graph_says(repo: Path, by_hand: HandCheck) -> None:
    """Change by change, vsmml's release is git's, except right after a release whose tag points
    outside the mined history (co's 4.3.0 was rewritten out of master): vsmml places that tag by
    its date, and the one change committed between its commit and its tag goes with it."""
    from vsmml.correlate import correlate
    from vsmml.events.schema import validate_events
    from vsmml.metrics.dora import change_lead_times

    events = validate_events(git_repo.read([repo]).events).events
    corr = correlate(events)
    lead = change_lead_times(corr).merge(corr.changes[["change_id", "sha"]], on="change_id")
    ours = {
        r.sha: (str(r.production_deploy_id).rsplit("@", 1)[1], float(r.lead_time_h))
        for r in lead.itertuples()
    }
    changes = by_hand.changes
    assert set(ours) == set(changes)
    differ = {
        sha: (changes[sha][0], ours[sha][0])
        for sha in changes
        if changes[sha][0] != ours[sha][0] or abs(changes[sha][1] - ours[sha][1]) > 1e-9
    }
    after_off = {by_hand.releases[by_hand.releases.index(t) + 1] for t in by_hand.off_history}
    assert len(differ) == 1
    assert {git for git, _ in differ.values()} <= after_off
    assert {ours for _, ours in differ.values()} <= set(by_hand.off_history)
