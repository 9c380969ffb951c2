"""The release gate on a real commit: the same metrics as `vsmml git-metrics`, the mining cache,
unknown inputs, counterfactuals, formats, exit codes and stored waivers."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gate_repo import commit, git, make_repo, write
from model_fixtures import jit_frame
from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.events.change_metrics import JIT_COLUMNS
from vsmml.pipeline import gitcache
from vsmml.pipeline.gate import GateRequest, band, gate
from vsmml.pipeline.gitmetrics import GitMetricsRequest, git_metrics
from vsmml.pipeline.ingest import git_repo
from vsmml.store import Store

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "shop"
    return root, make_repo(root)


def _rows(root: Path) -> dict[str, dict[str, float]]:
    frame = git_metrics(GitMetricsRequest(root)).rows
    return {r["sha"]: {c: float(r[c]) for c in JIT_COLUMNS} for _, r in frame.iterrows()}


def test_metrics_equal_git_metrics_rows_cold_cached_and_incremental(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, shas = repo
    home = tmp_path / "home"
    first = gitcache.commit_metrics(root, "HEAD", home)
    assert first.how == "mined" and first.sha == shas["big"] and first.commits_read == 9
    expected = _rows(root)
    for name, sha in shas.items():
        if name == "merge":
            with pytest.raises(DataError, match="merge commit"):
                gitcache.commit_metrics(root, sha, home)
            continue
        got = gitcache.commit_metrics(root, sha, home)
        assert got.how == "cache" and got.metrics == pytest.approx(expected[sha]), name
    write(root, "svc/mod0/f9.py", 12, "later")
    new = commit(root, "Add feature 9", 10, "bob")
    inc = gitcache.commit_metrics(root, new, home)
    assert inc.how == "incremental" and inc.commits_read == 1
    assert inc.metrics == pytest.approx(_rows(root)[new])
    git(root, "commit", "--amend", "-qm", "Add feature nine")  # history rewritten
    again = gitcache.commit_metrics(root, "HEAD", home)
    assert again.how == "mined"
    assert again.metrics == pytest.approx(_rows(root)[again.sha])


def test_a_merge_on_top_of_the_cache_mines_again_and_still_matches(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, _ = repo
    home = tmp_path / "home"
    gitcache.commit_metrics(root, "HEAD", home)
    git(root, "checkout", "-qb", "topic", "HEAD~2")
    write(root, "svc/topic.py", 8, "topic")
    commit(root, "Topic work", 11, "bob")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "--no-ff", "-qm", "Merge topic", "topic", when="2025-03-12T10:00:00Z")
    write(root, "svc/after.py", 4, "after")
    head = commit(root, "After the merge", 13)
    got = gitcache.commit_metrics(root, head, home)
    assert got.how == "mined" and got.metrics == pytest.approx(_rows(root)[head])


def test_the_gate_parser_is_the_ingest_miner_parser(repo) -> None:  # type: ignore[no-untyped-def]
    root, _ = repo
    assert gitcache.LOG_FORMAT == git_repo.LOG_FORMAT
    stream = git_repo.run_git(root, "log", "--reverse", "--topo-order", "-z", "--numstat", "-M",
                              f"--format={git_repo.LOG_FORMAT}")  # fmt: skip
    assert gitcache.parse_log(stream) == git_repo.parse_log(stream)


def test_bad_repository_and_sha_are_one_line_errors(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, _ = repo
    with pytest.raises(DataError, match="not a git repository"):
        gitcache.commit_metrics(tmp_path, "HEAD", tmp_path / "h")
    with pytest.raises(DataError, match="no such folder"):
        gitcache.commit_metrics(tmp_path / "nope", "HEAD", tmp_path / "h")
    with pytest.raises(DataError, match="no such commit"):
        gitcache.commit_metrics(root, "deadbeef", tmp_path / "h")
    with pytest.raises(DataError, match="not a commit name"):
        gitcache.commit_metrics(root, "HEAD; rm -rf /", tmp_path / "h")


def _settings(home: Path) -> Settings:
    return Settings(home=home)


def test_gate_decides_gives_known_reasons_and_what_would_lower(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, shas = repo
    s = _settings(tmp_path / "home")
    report = gate(GateRequest(repo=root, fail_above=0.2), s)
    assert report.sha == shas["big"] and report.failed and report.decision == "fail"
    assert report.exit_code == 1 and report.band == "high"
    assert report.inputs["la"] == 2000.0 and set(report.inputs) == set(JIT_COLUMNS)
    assert report.unknown == [] and all(math.isfinite(r.value) for r in report.reasons)
    [split] = [c for c in report.lowering if c.action == "split_change"]
    assert split.params["pieces"] == 11 and split.new_probability < split.probability
    assert report.context.source.startswith("unknown: no store")
    assert all(v is None for v in report.context.values.values())
    lenient = gate(GateRequest(repo=root, fail_above=0.99), s)
    assert lenient.decision == "pass" and lenient.exit_code == 0 and lenient.mining.how == "cache"
    assert band(0.1, 0.5, 0.33) == "low" and band(0.4, 0.5, 0.33) == "medium"


@pytest.fixture(scope="module")
def context_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model that also reads pipeline flakiness (which no store here knows)."""
    from vsmml.models.risk import ChangeRiskModel

    x, _ = jit_frame(1500, seed=2)
    rng = np.random.default_rng(2)
    x["pipeline_flakiness"] = rng.uniform(0.0, 0.3, len(x))
    logit = np.log1p(x["la"].to_numpy()) - 2.5 + 12.0 * (x["pipeline_flakiness"].to_numpy() - 0.15)
    y = (rng.random(len(x)) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    folder = tmp_path_factory.mktemp("ctx-model")
    ChangeRiskModel(n_estimators=25, num_leaves=7, blend_weight=0.6, n_jobs=1).fit(x, y).save(
        folder
    )
    return folder


def test_unknown_inputs_are_listed_never_reasons(repo, tmp_path, context_model) -> None:  # type: ignore[no-untyped-def]
    root, _ = repo
    report = gate(GateRequest(repo=root, model=context_model, top=50), _settings(tmp_path / "h"))
    assert report.unknown == ["pipeline_flakiness"] and report.inputs["pipeline_flakiness"] is None
    assert {r.feature for r in report.reasons}.isdisjoint({"pipeline_flakiness"})
    assert all(not r.text.startswith("has no value") for r in report.reasons)


def test_cli_formats_exit_codes_and_json_inputs(repo, tmp_path, monkeypatch, context_model) -> None:  # type: ignore[no-untyped-def]
    from vsmml.cli import app

    root, shas = repo
    monkeypatch.setenv("VSMML_HOME", str(tmp_path / "home"))
    from vsmml.config import get_settings

    get_settings.cache_clear()
    run = CliRunner().invoke
    out = run(
        app, ["score", "--repo", str(root), "--format", "json", "--model", str(context_model)]
    )
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.output)
    assert doc["sha"] == shas["big"] and doc["inputs"]["pipeline_flakiness"] is None
    assert set(doc["inputs"]) == {*JIT_COLUMNS, "pipeline_flakiness"}
    assert doc["decision"] in ("pass", "fail") and doc["mining"]["how"] == "mined"
    gh = run(
        app,
        [
            "score",
            "--repo",
            str(root),
            "--sha",
            shas["c2"],
            "--format",
            "github",
            "--fail-above",
            "0.01",
        ],
    )
    assert gh.exit_code == 1 and gh.output.startswith("::error title=vsmml release gate::")
    ok = run(app, ["score", "--repo", str(root), "--fail-above", "1.0"])
    assert ok.exit_code == 0 and "PASS" in ok.output and "what would lower the risk" in ok.output
    for bad, needle in ((["--repo", str(tmp_path)], "not a git repository"),
                        (["--repo", str(root), "--sha", "0123abc"], "no such commit"),
                        (["--repo", str(root), "--fail-above", "1.5"], "--fail-above"),
                        (["--repo", str(root), "--la", "5"], "drop --change/--set/--la"),
                        (["--sha", "HEAD~1", "--la", "5"], "needs --repo")):  # fmt: skip
        res = run(app, ["score", *bad])
        assert res.exit_code == 2 and needle in res.output, (bad, res.output)
    get_settings.cache_clear()


def test_waiver_needs_an_actor_is_stored_once_and_passes_the_gate(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, shas = repo
    s = _settings(tmp_path / "home")
    with pytest.raises(DataError, match="who waives"):
        gate(GateRequest(repo=root, fail_above=0.1, waive="hotfix for the outage"), s)
    req = GateRequest(repo=root, fail_above=0.1, waive="hotfix for the outage", service="billing",
                      environ={"GITHUB_ACTOR": "octocat"})  # fmt: skip
    first = gate(req, s)
    assert first.decision == "waived" and first.exit_code == 0
    assert first.waiver is not None and first.waiver["actor"] == "octocat"
    assert first.waiver["stored"] == "new"
    second = gate(req, s)
    assert second.waiver is not None and second.waiver["stored"] == "already stored"
    with Store.from_settings(s, read_only=True) as store:
        stored = store.read_events(kinds=["gate.waived"])
    assert len(stored) == 1 and stored["sha"].iloc[0] == shas["big"]
    assert stored["service"].iloc[0] == "billing"
    attrs = json.loads(stored["attrs"].iloc[0])
    assert attrs["actor"] == "octocat" and attrs["reason"] == "hotfix for the outage"
    passing = gate(GateRequest(repo=root, fail_above=1.0, waive="not needed", actor="ana"), s)
    assert passing.decision == "pass" and passing.waiver is None  # nothing to waive


def test_the_gate_path_without_a_store_imports_no_pandas(repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    root, _ = repo
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from vsmml.config import Settings\n"
        "from vsmml.pipeline.gate import GateRequest, gate\n"
        "r = gate(GateRequest(repo=Path(sys.argv[1])), Settings(home=Path(sys.argv[2])))\n"
        "print(r.decision, r.mining.how)\n"
        "heavy = ('pandas', 'lightgbm', 'sklearn', 'mlflow', 'duckdb', 'statsmodels', 'scipy')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    args = [sys.executable, "-c", code, str(root), str(tmp_path / "h")]
    cold = subprocess.run(args, capture_output=True, text=True)
    assert "HEAVY []" in cold.stdout and "mined" in cold.stdout, cold.stdout + cold.stderr
    write(root, "svc/mod0/next.py", 7, "next")
    commit(root, "Add next", 12)
    warm = subprocess.run(args, capture_output=True, text=True)
    assert "HEAVY []" in warm.stdout and "incremental" in warm.stdout, warm.stdout + warm.stderr


def test_delivery_context_from_a_store_for_a_known_change(tmp_path) -> None:
    from vsmml.pipeline.gate_context import delivery_context
    from vsmml.synth import SynthConfig, generate

    org = generate(SynthConfig.preset("tiny"))
    s = _settings(tmp_path / "home")
    with Store.from_settings(s) as store:
        store.write_events(org.events)
    ch = org.truth.changes
    row = ch.loc[ch["production_started_at"].notna()].iloc[len(ch) // 2]
    now = pd.Timestamp(row["production_deployed_at"]) + pd.Timedelta(minutes=1)
    ctx = delivery_context(s, str(row["sha"]), now)
    assert ctx.source == "store" and ctx.service == row["service"]
    assert ctx.values["review_rounds"] == row["review_rounds"]
    assert ctx.values["n_reviewers"] == row["n_reviewers"]
    assert ctx.values["deploy_batch_size"] == row["deploy_batch_size"]
    assert ctx.values["pipeline_flakiness"] is not None and ctx.fixed_flakiness is not None
    early = delivery_context(
        s, str(row["sha"]), pd.Timestamp(row["merged_at"]) + pd.Timedelta(minutes=1)
    )
    assert early.values["deploy_batch_size"] is not None and early.values["deploy_batch_size"] >= 1
    assert any("not deployed yet" in n for n in early.notes)
    lost = delivery_context(s, "0" * 40, now)
    assert lost.source.startswith("the store knows neither") and lost.values["n_reviewers"] is None
    by_service = delivery_context(s, "0" * 40, now, service=str(row["service"]))
    assert by_service.values["hours_since_last_deploy"] is not None
    assert by_service.values["review_rounds"] is None
