"""Git mining: a small real repository built in tmp_path, metrics checked by hand computation."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from vsmml.errors import ConversionError, DataError
from vsmml.events.connectors.git import GitRules, to_events
from vsmml.events.connectors.git_kamei import kamei_metrics
from vsmml.events.schema import validate_events
from vsmml.pipeline.ingest import git_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str, when: str = "2024-01-01T00:00:00Z", who: str = "alice") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who}@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True)
    return done.stdout.decode().strip()


def _write(repo: Path, path: str, lines: list[str]) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("repo")
    _git(root, "init", "-q", "-b", "main")
    a = [f"line {i}" for i in range(1, 11)]
    _write(root, "src/a.py", a)
    _write(root, "docs/readme.md", ["# demo", "text"])
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "init")
    c1 = _git(root, "rev-parse", "HEAD")
    a2 = [*a[:2], "bug here", *a[4:]]
    _write(root, "src/a.py", a2)
    _write(root, "src/b.py", [f"b {i}" for i in range(5)])
    _git(root, "add", ".")
    when2 = "2024-01-11T00:00:00Z"
    _git(root, "commit", "-qm", "add b", when=when2, who="bob")
    c2 = _git(root, "rev-parse", "HEAD")
    _write(root, "src/a.py", [*a2[:2], "fixed line", *a2[3:]])
    _git(root, "commit", "-qam", "Fix crash in a", when="2025-01-21T00:00:00Z")
    c3 = _git(root, "rev-parse", "HEAD")
    _git(root, "tag", "-a", "v1.0.0", "-m", "release", when="2025-01-22T00:00:00Z")
    _git(root, "checkout", "-qb", "feature")
    _write(root, "docs/x.md", ["x"])
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "docs x", when="2025-01-23T00:00:00Z", who="bob")
    _git(root, "checkout", "-q", "main")
    _write(root, "docs/readme.md", ["# demo", "more text"])
    _git(root, "commit", "-qam", "Reword readme (#12)", when="2025-01-24T00:00:00Z")
    c5 = _git(root, "rev-parse", "HEAD")
    _git(root, "merge", "--no-ff", "-qm", "Merge pull request #7 from acme/feature", "feature",
         when="2025-01-25T00:00:00Z")  # fmt: skip
    _git(root, "revert", "--no-edit", c5, when="2025-01-26T00:00:00Z")
    _git(root, "tag", "nightly")
    return {"root": root, "c1": c1, "c2": c2, "c3": c3, "c5": c5}


@pytest.fixture(scope="module")
def mined(repo: dict[str, object]) -> git_repo.GitMining:
    return git_repo.mine(Path(str(repo["root"])), GitRules(repo="acme/demo", szz=True))


def test_kamei_metrics_by_hand(repo: dict[str, object], mined: git_repo.GitMining) -> None:
    metrics = mined.history["metrics"]
    c2 = metrics[repo["c2"]]
    p, q = 3 / 8, 5 / 8
    expected2 = {"ns": 1, "nd": 1, "nf": 2, "la": 6, "ld": 2, "lt": 10, "fix": 0, "ndev": 1,
                 "age": 10.0, "nuc": 1, "exp": 0, "rexp": 0.0, "sexp": 0}  # fmt: skip
    assert {k: c2[k] for k in expected2} == expected2
    assert c2["entropy"] == pytest.approx(-(p * math.log2(p) + q * math.log2(q)))
    c3 = metrics[repo["c3"]]
    expected3 = {"ns": 1, "nd": 1, "nf": 1, "la": 1, "ld": 1, "lt": 9, "fix": 1, "ndev": 2,
                 "age": 376.0, "nuc": 2, "exp": 1, "rexp": 0.5, "sexp": 1,
                 "entropy": 0.0}  # fmt: skip
    assert {k: c3[k] for k in expected3} == expected3
    c1 = metrics[repo["c1"]]
    assert (c1["ns"], c1["nd"], c1["nf"], c1["la"], c1["lt"], c1["exp"]) == (2, 2, 2, 12, 0, 0)
    assert mined.fix_commits == 1


def test_szz_labels_the_commit_that_introduced_the_fixed_line(
    repo: dict[str, object], mined: git_repo.GitMining
) -> None:
    assert mined.history["bug_inducing"] == {repo["c2"]: [repo["c3"]]}
    assert (mined.szz_fixes_examined, mined.szz_labels) == (1, 1)


def test_events_of_the_history(repo: dict[str, object], mined: git_repo.GitMining) -> None:
    got = validate_events(mined.conversion().events).events
    kinds = got.groupby("kind", observed=True).size().to_dict()
    assert kinds == {"commit": 6, "change.merged": 2, "deploy.finished": 1, "rollback": 1}
    merged = got[got["kind"] == "change.merged"].set_index("change_id")
    assert set(merged.index) == {"acme/demo#7", "acme/demo#12"}
    deploy = got[got["kind"] == "deploy.finished"].iloc[0]
    assert (deploy["sha"], deploy["env"], deploy["deploy_id"]) == (
        repo["c3"],
        "production",
        "acme/demo@v1.0.0",
    )
    assert deploy["ts"] == pd.Timestamp("2025-01-22T00:00:00Z")
    rollback = got[got["kind"] == "rollback"].iloc[0]
    assert json.loads(rollback["attrs"])["reverted_sha"] == repo["c5"]
    commits = got[got["kind"] == "commit"].set_index("sha")
    attrs2 = json.loads(commits.loc[str(repo["c2"]), "attrs"])
    assert attrs2["bug_inducing"] is True
    assert attrs2["fixed_by"] == [repo["c3"]]
    assert attrs2["la"] == 6
    assert commits.loc[str(repo["c2"]), "ts"] == pd.Timestamp("2024-01-11T00:00:00Z")
    assert set(got["repo"].astype(str)) == {"acme/demo"}


def test_read_and_repo_name(repo: dict[str, object]) -> None:
    root = Path(str(repo["root"]))
    conv = git_repo.read([root])
    assert conv.rejects == []
    assert set(conv.events["repo"]) == {root.name}
    _git(root, "remote", "add", "origin", "git@github.com:acme/shop.git")
    assert git_repo.repo_name(root) == "acme/shop"
    with pytest.raises(DataError):
        git_repo.mine(root / "missing")
    with pytest.raises(DataError):
        git_repo.run_git(root, "log", "--no-such-option")


def test_connector_rejects_bad_commits_and_keeps_good_ones() -> None:
    good = {"sha": "ab12", "parents": [], "author_time": 1_700_000_000, "message": "x"}
    history = {
        "repo": "r",
        "commits": [
            good,
            {**good, "sha": "cd34", "author_time": 0},
            {**good, "sha": "zz"},
            {**good, "sha": "ef56", "parents": "nope"},
            "not a commit",
            {**good, "sha": "ab13", "message": "See merge request acme/x!5", "parents": ["a", "b"]},
        ],
        "tags": [
            {"name": "v2.0.0", "time": 1_700_000_000},
            {"name": "v2.0.1", "sha": "ab12", "time": 1_700_000_001},
        ],
    }
    conv = to_events(history)
    assert list(conv.events["kind"]) == ["commit", "change.merged", "deploy.finished"]
    assert conv.events["change_id"].iloc[1] == "r#5"
    fields = {r.location: r.field for r in conv.rejects}
    assert fields == {
        "r@cd34": "author_time",
        "r@zz": "sha",
        "r@ef56": "parents",
        "r commit 4": "commit",
        "r tag v2.0.0": "sha",
    }
    with pytest.raises(ConversionError):
        to_events([])  # type: ignore[arg-type]


def test_parse_log_and_renames() -> None:
    stream = (
        "\x1eaaa\x1f\x1fA\x1fa@x\x1f100\x1f100\x1finit\n\x1f\0\n1\t0\tREADME\0"
        "\x1ebbb\x1faaa\x1fA\x1fa@x\x1f200\x1f200\x1fmove\n\x1f\0\n2\t1\t\0README\0doc/README\0"
        "-\t-\tlogo.png\0"
    )
    commits = git_repo.parse_log(stream)
    assert commits[1]["files"] == [
        {"path": "doc/README", "old_path": "README", "added": 2, "deleted": 1},
        {"path": "logo.png", "old_path": None, "added": None, "deleted": None},
    ]
    metrics = kamei_metrics(commits)
    assert metrics["bbb"]["lt"] == 1
    assert metrics["bbb"]["nuc"] == 1
    assert metrics["bbb"]["la"] == 2


def test_git_metrics_command(repo: dict[str, object], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vsmml.cli import app

    out = tmp_path / "metrics.csv"
    result = CliRunner().invoke(app, ["git-metrics", str(repo["root"]), "--szz", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 bug-inducing commits labelled" in result.output
    frame = pd.read_csv(out)
    assert len(frame) == 6
    assert frame.set_index("sha").loc[str(repo["c2"]), "bug"] == 1
