"""A git history read as delivery: release tags by scheme, changes by the main line, reverts as
failed changes. A small real repository is built in tmp_path with fixed dates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from vsmml.correlate import correlate, link_coverage
from vsmml.events.connectors.git import GitRules
from vsmml.events.schema import validate_events
from vsmml.metrics.dora import change_failure_rate, change_lead_times, rework_rate
from vsmml.metrics.ops import rollback_frequency
from vsmml.pipeline.ingest import git_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str, when: str, committed: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": committed or when,
        "GIT_AUTHOR_NAME": "ann",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "ann",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True)
    return done.stdout.decode().strip()


def _commit(repo: Path, name: str, when: str, committed: str | None = None) -> str:
    (repo / name).write_text(name + "\n")
    _git(repo, "add", name, when=when)
    _git(repo, "commit", "-qm", f"add {name}", when=when, committed=committed)
    return _git(repo, "rev-parse", "HEAD", when=when)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """main: a1, v1.0.0, a2, PR #5 merged (feature: f1, main merged in, f2), v1.1.0, `late`
    (authored before v1.1.0, rebased after it), the revert of PR #5, v1.2.0, b1 and its revert,
    release-1.3.0, v1.4.0-rc1, nightly. Every date is fixed."""
    root = tmp_path_factory.mktemp("delivery")
    _git(root, "init", "-q", "-b", "main", when="2024-03-01T00:00:00Z")
    s: dict[str, str] = {"root": str(root)}
    s["a1"] = _commit(root, "a1", "2024-03-01T09:00:00Z")
    _git(root, "tag", "-a", "v1.0.0", "-m", "1.0", when="2024-03-02T09:00:00Z")
    _git(root, "checkout", "-qb", "feature", when="2024-03-03T00:00:00Z")
    s["f1"] = _commit(root, "f1", "2024-03-03T09:00:00Z")
    _git(root, "checkout", "-q", "main", when="2024-03-03T10:00:00Z")
    s["a2"] = _commit(root, "a2", "2024-03-04T09:00:00Z")
    _git(root, "checkout", "-q", "feature", when="2024-03-04T10:00:00Z")
    _git(root, "merge", "-q", "--no-ff", "-m", "Merge branch 'main' into feature", "main",
         when="2024-03-05T09:00:00Z")  # fmt: skip
    s["inner"] = _git(root, "rev-parse", "HEAD", when="2024-03-05T09:00:00Z")
    s["f2"] = _commit(root, "f2", "2024-03-06T09:00:00Z")
    _git(root, "checkout", "-q", "main", when="2024-03-06T10:00:00Z")
    _git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #5 from ann/feature",
         "feature", when="2024-03-07T09:00:00Z")  # fmt: skip
    s["m5"] = _git(root, "rev-parse", "HEAD", when="2024-03-07T09:00:00Z")
    _git(root, "tag", "v1.1.0", when="2024-03-08T09:00:00Z")  # lightweight: its commit's date
    # authored before v1.1.0 was tagged but rebased onto main after it: ships in v1.2.0
    s["late"] = _commit(root, "late", "2024-03-06T12:00:00Z", committed="2024-03-09T09:00:00Z")
    _git(root, "revert", "--no-edit", "-m", "1", s["m5"], when="2024-03-10T09:00:00Z")
    s["revert"] = _git(root, "rev-parse", "HEAD", when="2024-03-10T09:00:00Z")
    _git(root, "tag", "-a", "v1.2.0", "-m", "1.2", when="2024-03-11T09:00:00Z")
    s["b1"] = _commit(root, "b1", "2024-03-12T09:00:00Z")
    _git(root, "revert", "--no-edit", s["b1"], when="2024-03-12T10:00:00Z")
    _git(root, "tag", "-a", "release-1.3.0", "-m", "1.3", when="2024-03-13T09:00:00Z")
    _git(root, "tag", "-a", "v1.4.0-rc1", "-m", "rc", when="2024-03-13T10:00:00Z")
    _git(root, "tag", "nightly", when="2024-03-13T11:00:00Z")
    return s


@pytest.fixture(scope="module")
def events(history: dict[str, str]) -> pd.DataFrame:
    conv = git_repo.read([Path(history["root"])], GitRules(repo="acme/app"))
    assert conv.rejects == []
    result = validate_events(conv.events)
    assert result.ok, result.messages()
    return result.events


def test_release_schemes_prereleases_and_the_tag_report(history: dict[str, str]) -> None:
    conv = git_repo.read([Path(history["root"])], GitRules(repo="acme/app"))
    deploys = conv.events[conv.events["kind"] == "deploy.finished"]
    assert sorted(deploys["deploy_id"]) == [
        "acme/app@release-1.3.0",
        "acme/app@v1.0.0",
        "acme/app@v1.1.0",
        "acme/app@v1.2.0",
    ]
    assert conv.skipped["tag (pre-release)"] == 1
    assert conv.skipped["tag (not a release)"] == 1
    assert conv.notes[0] == "acme/app: 4 of 6 tags are releases (deployments)"
    assert "v1.4.0-rc1" in conv.notes[1] and "prereleases: true" in conv.notes[1]
    assert "nightly" in conv.notes[2] and "release_pattern: '^nightly$'" in conv.notes[2]
    with_rc = git_repo.read([Path(history["root"])], GitRules(prereleases=True))
    assert "tag (pre-release)" not in with_rc.skipped
    ts = deploys.set_index("deploy_id")["ts"].map(pd.Timestamp)
    assert ts["acme/app@v1.0.0"] == pd.Timestamp("2024-03-02T09:00:00Z")  # tagger date
    assert ts["acme/app@v1.1.0"] == pd.Timestamp("2024-03-07T09:00:00Z")  # its commit's date


def test_commits_of_a_merged_branch_belong_to_its_change(
    events: pd.DataFrame, history: dict[str, str]
) -> None:
    commits = events[events["kind"] == "commit"].set_index("sha")
    assert commits.loc[history["f1"], "change_id"] == "acme/app#5"
    assert commits.loc[history["f2"], "change_id"] == "acme/app#5"
    assert pd.isna(commits.loc[history["a2"], "change_id"])  # on the main line
    merged = events[events["kind"] == "change.merged"]
    assert history["inner"] not in set(merged["sha"])  # main merged into the branch: no change


def test_each_change_ships_with_the_release_that_contains_it(
    events: pd.DataFrame, history: dict[str, str]
) -> None:
    corr = correlate(events)
    by_sha = corr.changes.set_index("sha")
    shipped = by_sha["production_deploy_id"]
    assert shipped[history["a1"]] == "acme/app@v1.0.0"
    assert shipped[history["a2"]] == "acme/app@v1.1.0"
    assert shipped[history["m5"]] == "acme/app@v1.1.0"
    assert shipped[history["late"]] == "acme/app@v1.2.0"  # rebased after v1.1.0
    pr = corr.changes.set_index("change_id").loc["acme/app#5"]
    assert pr["first_commit_at"] == pd.Timestamp("2024-03-03T09:00:00Z")  # f1 authored
    lead = change_lead_times(corr).set_index("change_id")["lead_time_h"]
    assert lead["acme/app#5"] == pytest.approx(4 * 24)  # f1 authored → v1.1.0 (its commit)


def test_a_reverted_change_fails_its_release(events: pd.DataFrame, history: dict[str, str]) -> None:
    corr = correlate(events)
    reverts = corr.reverts.set_index("revert_sha")
    assert reverts.loc[history["revert"], "reverted_sha"] == history["m5"]
    assert reverts.loc[history["revert"], "deploy_id"] == "acme/app@v1.1.0"
    assert bool(reverts.loc[history["revert"], "failed"])
    assert not reverts["failed"].drop(history["revert"]).any()  # b1 reverted before release
    deps = corr.deployments.set_index("deploy_id")
    assert bool(deps.loc["acme/app@v1.1.0", "failed"])
    assert deps.loc["acme/app@v1.1.0", "restored_at"] == pd.Timestamp("2024-03-11T09:00:00Z")
    assert not deps.drop("acme/app@v1.1.0")["failed"].any()
    cfr = change_failure_rate(corr, by=None, freq=None)
    assert (cfr["value"].iloc[0], cfr["n"].iloc[0]) == (0.25, 4)
    rework = rework_rate(corr, by=None, freq=None)
    assert rework["value"].iloc[0] == 0.25  # v1.2.0 shipped the revert
    rollbacks = rollback_frequency(corr, by=None, freq=None).set_index("metric")["value"]
    assert rollbacks["rollbacks"] == 1  # b1 never reached production: no rollback there
    cov = link_coverage(events, corr).set_index("kind")
    assert cov.loc["rollback", "events"] == 2
    assert cov.loc["rollback", "linked"] == 2
    for profile in ("devlake", "fourkeys", "gitlab"):
        other = change_failure_rate(corr, by=None, freq=None, profile=profile)
        assert other["value"].fillna(0).iloc[0] == 0.0  # these tools know no reverts
    rollback = events[(events["kind"] == "rollback") & (events["sha"] == history["revert"])]
    attrs = json.loads(rollback["attrs"].iloc[0])
    assert attrs["reverted_sha"] == history["m5"]


def test_tags_recreated_in_bulk_are_reported_and_can_be_dated_by_commit() -> None:
    """A repository converted from another system often has every annotated tag dated at the
    conversion: the notes say so, and `tag_date: commit` dates each release by its commit."""
    from vsmml.events.connectors.git import to_events

    base = 1_262_304_000  # 2010-01-01
    commits = [
        {"sha": f"{i:040x}", "parents": [f"{i - 1:040x}"] if i else [], "author_time": base
         + i * 86_400, "commit_time": base + i * 86_400, "message": f"c{i}"}
        for i in range(6)
    ]  # fmt: skip
    tags = [
        {"name": f"release-1.{i}.0", "sha": f"{i:040x}", "annotated": True, "time": base + 9e7 + i}
        for i in range(6)
    ]
    history = {"repo": "apache/x", "commits": commits, "tags": tags}
    tagged = to_events(history)
    assert any("6 annotated release tags carry tagger dates within one minute" in n
               for n in tagged.notes)  # fmt: skip
    deploys = tagged.events[tagged.events["kind"] == "deploy.finished"]
    assert pd.to_datetime(deploys["ts"], utc=True).dt.floor("min").nunique() == 1
    dated = to_events(history, GitRules(tag_date="commit"))
    ts = pd.to_datetime(dated.events.loc[dated.events["kind"] == "deploy.finished", "ts"], utc=True)
    assert ts.dt.date.nunique() == 6
    assert not any("within one minute" in n for n in dated.notes)


def test_git_metrics_prints_the_tag_report(history: dict[str, str], vsmml_home: Path) -> None:
    from typer.testing import CliRunner

    from vsmml.cli import app

    out = CliRunner().invoke(app, ["git-metrics", history["root"]])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if line.startswith("releases")]
    assert lines[0].endswith("4 of 6 tags are releases (deployments)")
    assert "1 pre-release tag not counted (e.g. v1.4.0-rc1)" in lines[1]
    assert "release_pattern: '^nightly$'" in lines[2]
