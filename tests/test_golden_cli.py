"""Golden outputs of every `vsmml` command on a small demo store and on the connector fixtures.

Each case runs one command through the real Typer app (in-process, to keep the suite fast) and
compares its exit code, standard output and standard error (timings, temporary paths, MLflow run
ids and wall-clock ingest latency masked, runs of spaces folded) with `tests/golden/<case>.txt`.
A refactoring must leave every file unchanged; a change that alters an output on purpose
regenerates them with

    VSMML_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden_cli.py

and the diff of `tests/golden/` is reviewed like code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VSMML_UPDATE_GOLDEN") == "1"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Case:
    """One command: its name (the golden file), arguments and which store it runs against.

    `store` is "demo" (the shared demo store, read-only use) or "fresh" (an empty home);
    `before` are commands run first in the same home, recorded in the same file. In arguments,
    `{git}` is a small git repository with fixed dates, `{slo}` an SLO sample CSV, `{bad}` a
    JSON Lines file with good and bad records, `{tmp}` the test's temporary folder.
    """

    name: str
    args: tuple[str, ...]
    store: str = "demo"
    stdin: str | None = None
    before: tuple[tuple[str, ...], ...] = ()


def _c(
    name: str,
    *args: str,
    store: str = "demo",
    stdin: str | None = None,
    before: tuple[tuple[str, ...], ...] = (),
) -> Case:
    return Case(name, args, store, stdin, before)


F = str(FIXTURES)
CASES: tuple[Case, ...] = (
    # reads of the demo store
    _c("metrics_table", "metrics"),
    _c("metrics_csv", "metrics", "--format", "csv"),
    _c("metrics_json_team_month", "metrics", "--by", "team", "--freq", "M", "--format", "json"),
    _c("metrics_all_devlake", "metrics", "--by", "all", "--freq", "all", "--profile", "devlake"),
    _c(
        "metrics_fourkeys_csv", "metrics", "--by", "all", "--profile", "fourkeys", "--format", "csv"
    ),
    _c(
        "metrics_gitlab_window",
        "metrics",
        "--by",
        "all",
        "--profile",
        "gitlab",
        "--freq",
        "D",
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-08",
        "--format",
        "csv",
    ),
    _c("metrics_bad_profile", "metrics", "--profile", "nope"),
    _c("metrics_bad_since", "metrics", "--since", "yesterday-ish"),
    _c("bottlenecks_table", "bottlenecks"),
    _c("bottlenecks_week_csv", "bottlenecks", "--by", "week", "--format", "csv"),
    _c("bottlenecks_team_json", "bottlenecks", "--by", "team", "--format", "json"),
    _c("bottlenecks_org", "bottlenecks", "--by", "org"),
    _c("bottlenecks_service", "bottlenecks", "--service", "checkout"),
    _c("bottlenecks_unknown_service", "bottlenecks", "--service", "nope"),
    _c("whatif_table", "whatif", "review wait -30%", "--service", "checkout"),
    _c(
        "whatif_json",
        "whatif",
        "integration tests in parallel; deploy batch size 1",
        "--format",
        "json",
    ),
    _c("whatif_bad", "whatif", "make it faster"),
    _c("slo_status", "slo", "status"),
    _c(
        "slo_status_service",
        "slo",
        "status",
        "--service",
        "search",
        "--objective",
        "0.99",
        "--window-days",
        "28",
    ),
    _c("slo_status_file", "slo", "status", "--file", "{slo}", store="fresh"),
    _c("anomalies_store", "anomalies", "--top", "3"),
    _c(
        "anomalies_file",
        "anomalies",
        "--file",
        f"{F}/msft_cloud_monitoring/application-crash-rate-1/app1-09.csv",
        "--top",
        "5",
    ),
    _c("score_flags", "score", "--la", "400", "--ld", "20", "--nf", "6"),
    _c(
        "score_context_json",
        "score",
        "--la",
        "40",
        "--nf",
        "2",
        "--set",
        "deploy_batch_size=3",
        "--format",
        "json",
        "--top",
        "3",
    ),
    _c(
        "score_stdin_list",
        "score",
        "--change",
        "-",
        "--threshold",
        "0.9",
        stdin='[{"la": 10, "nf": 1}, {"la": 5000, "nf": 80, "ndev": 12}]',
    ),
    _c("score_bad", "score", "--set", "la=many"),
    _c("score_default_model", "score", "--la", "400", "--ld", "20", "--nf", "6", store="fresh"),
    _c("report_weekly", "report", "weekly", "--out", "{tmp}/reports"),
    _c(
        "report_weekly_service_week",
        "report",
        "weekly",
        "--service",
        "checkout",
        "--week",
        "2026-W05",
        "--out",
        "{tmp}/reports",
    ),
    _c("report_weekly_bad_week", "report", "weekly", "--week", "2026-W99", "--out", "{tmp}"),
    _c("report_weekly_empty_week", "report", "weekly", "--week", "2024-W01", "--out", "{tmp}"),
    _c(
        "report_weekly_both_scopes",
        "report",
        "weekly",
        "--service",
        "a",
        "--team",
        "b",
        "--out",
        "{tmp}",
    ),
    _c("quarantine_list", "quarantine", "list"),
    _c("quarantine_show", "quarantine", "show", "2"),
    _c("quarantine_show_missing", "quarantine", "show", "999"),
    # commands on an empty home
    _c("metrics_empty_store", "metrics", store="fresh"),
    _c("report_weekly_no_store", "report", "weekly", "--out", "{tmp}", store="fresh"),
    _c(
        "ingest_jsonl_stdin",
        "ingest",
        "jsonl",
        "-",
        store="fresh",
        stdin='{"event_id": "a", "kind": "commit", "ts": "2026-01-02T03:04:05+02:00", '
        '"source": "ci", "sha": "abc"}\n{"event_id": "b", "kind": "nope", '
        '"ts": "2026-01-02T03:04:05Z"}\nnot json\n',
    ),
    _c("store_check", "store", "check", store="fresh", before=(("ingest", "jsonl", "{bad}"),)),
    _c(
        "store_backup",
        "store",
        "backup",
        "{tmp}/backup.duckdb",
        store="fresh",
        before=(("ingest", "jsonl", "{bad}"),),
    ),
    _c("store_restore_missing", "store", "restore", "{tmp}/none.duckdb", store="fresh"),
    _c("ingest_cdevents", "ingest", "cdevents", f"{F}/cdevents/conformance", store="fresh"),
    _c("ingest_github", "ingest", "github", f"{F}/github", store="fresh"),
    _c("ingest_gitlab", "ingest", "gitlab", f"{F}/gitlab", store="fresh"),
    _c("ingest_jenkins", "ingest", "jenkins", f"{F}/jenkins/raw_tables", store="fresh"),
    _c("ingest_pagerduty", "ingest", "pagerduty", f"{F}/pagerduty", store="fresh"),
    _c("ingest_devlake", "ingest", "devlake", f"{F}/devlake_tables", store="fresh"),
    _c("ingest_csv_profile", "ingest", "csv", f"{F}/profiles/gitlab/events.csv", store="fresh"),
    _c(
        "ingest_catalog",
        "ingest",
        "github",
        f"{F}/github",
        "--catalog",
        f"{F}/catalog/services.yaml",
        store="fresh",
    ),
    _c("ingest_missing_path", "ingest", "jsonl", "/nonexistent/*.jsonl", store="fresh"),
    _c("ingest_unknown_source", "ingest", "nope", "x", store="fresh"),
    _c(
        "compat_deployment_commits",
        "compat",
        "devlake",
        "deployment-commits",
        "--tables",
        f"{F}/devlake_dora/deployment_generator",
        "--out",
        "-",
        store="fresh",
    ),
    _c(
        "evaluate_baselines",
        "evaluate",
        "risk",
        "--data",
        f"{F}/jit/jdt_head_k_feature.csv",
        "--baselines-only",
        store="fresh",
    ),
    _c("train_bad_model", "train", "nope", store="fresh"),
    _c(
        "replay",
        "replay",
        store="fresh",
        before=(
            ("ingest", "pagerduty", f"{F}/pagerduty"),
            ("ingest", "jsonl", "{bad}"),
            ("quarantine", "list"),
        ),
    ),
    _c(
        "quarantine_retry",
        "quarantine",
        "retry",
        store="fresh",
        before=(("ingest", "jsonl", "{bad}", "--rules", "{rules}"), ("quarantine", "list")),
    ),
    _c("recommend_table", "recommend", "--top", "6"),
    _c(
        "recommend_service_json",
        "recommend",
        "--service",
        "checkout",
        "--top",
        "2",
        "--format",
        "json",
    ),
    _c(
        "recommend_team_markdown",
        "recommend",
        "--team",
        "atlas",
        "--top",
        "2",
        "--format",
        "markdown",
    ),
    _c("recommend_unknown_service", "recommend", "--service", "nope"),
    _c("recommend_empty_store", "recommend", store="fresh"),
    _c("score_repo", "score", "--repo", "{git}", store="fresh"),
    _c(
        "score_repo_github",
        "score",
        "--repo",
        "{git}",
        "--format",
        "github",
        "--fail-above",
        "0.1",
        store="fresh",
    ),
    _c(
        "score_repo_json_sha",
        "score",
        "--repo",
        "{git}",
        "--sha",
        "HEAD~3",
        "--format",
        "json",
        store="fresh",
    ),
    _c("score_repo_bad_sha", "score", "--repo", "{git}", "--sha", "0123456", store="fresh"),
    # the HTTP service's tokens (ids and secrets masked) and the server's options
    _c("token_list_empty", "token", "list", store="fresh"),
    _c(
        "token_create_revoke",
        "token",
        "revoke",
        "ci",
        store="fresh",
        before=(("token", "create", "--scopes", "read,ingest", "--name", "ci"),),
    ),
    _c("token_bad_scope", "token", "create", "--scopes", "root", store="fresh"),
    _c("token_revoke_unknown", "token", "revoke", "nobody", store="fresh"),
    _c(
        "token_server_without_token",
        "token",
        "list",
        "--server",
        "http://127.0.0.1:9",
        store="fresh",
    ),
    _c("serve_bad_port", "serve", "--port", "0", store="fresh"),
    # the Parquet lake and the Dask engine (#17): csv equal to metrics_csv's, byte for byte
    _c("lake_export", "lake", "export", "--to", "{tmp}/lake"),
    _c(
        "lake_status",
        "lake",
        "status",
        "--path",
        "{tmp}/lake",
        before=(("lake", "export", "--to", "{tmp}/lake"),),
    ),
    _c(
        "lake_import_again",
        "lake",
        "import",
        "{tmp}/lake",
        before=(("lake", "export", "--to", "{tmp}/lake"),),
    ),
    _c("lake_import_missing", "lake", "import", "{tmp}/nowhere"),
    _c("metrics_dask_csv", "metrics", "--engine", "dask", "--format", "csv"),
    _c("risk_top", "risk", "--top", "3"),
    _c(
        "risk_window_csv",
        "risk",
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-03",
        "--format",
        "csv",
    ),
    _c("git_metrics", "git-metrics", "{git}", "--szz", "--out", "{tmp}/jit.csv", store="fresh"),
    _c("ingest_git", "ingest", "git", "{git}", store="fresh"),
    _c(
        "git_then_metrics",
        "metrics",
        "--by",
        "repo",
        "--freq",
        "all",
        store="fresh",
        before=(("ingest", "git", "{git}"),),
    ),
)

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b\d+(?:\.\d+)? ?s\b(?=[ ,;)]|$)", re.M), "<t> s"),
    (re.compile(r"\bpeak [\d,]+ MiB\b"), "peak <n> MiB"),  # a --engine dask run's memory
    (re.compile(r"\b[0-9a-f]{32}\b"), "<run-id>"),
    (re.compile(r'("seconds": )[0-9.e-]+'), r"\1<t>"),
    (re.compile(r"\bvsmml_[0-9a-f]{12}_[A-Za-z0-9_-]+"), "<token>"),
    (re.compile(r"\btoken [0-9a-f]{12}\b"), "token <token-id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\.\d+"), "<now>"),
    # ingest latency is received_at (wall clock) minus ts: it grows while the golden files rest
    (re.compile(r'("metric":"ingest_latency[a-z0-9_]*","value":)[-+.e0-9]+'), r"\1<latency>"),
    (re.compile(r"^(.*ingest_latency.*?[ ,])[-+.e0-9 ,]+$", re.M), r"\1<latency>"),
)

# Floats printed with 10 or more decimals keep 12 significant digits: a model trained on
# another CPU (BLAS kernels, SIMD widths) differs in the last bits of its coefficients (seen:
# 0.09941076074693644 on one machine, ...622 on another); twelve digits still catch every real
# change of a number. Numbers a table prints to fewer decimals stay as they are.
_LONG_FLOAT = re.compile(r"(?<![\d:.])-?\d+\.\d{10,}(?:e[-+]?\d+)?(?![\d.])")


def mask(text: str, paths: dict[str, str]) -> str:
    """Hide what changes from run to run: temporary folders, timings, run ids, wall-clock now."""
    for path, name in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    text = _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.12g}", text)
    # Runs of spaces fold to one: a masked value (ingest latency) still sets a table's column
    # widths, which would otherwise drift as the wall clock moves. The content stays compared.
    return "\n".join(re.sub(r" {2,}", " ", line).rstrip() for line in text.split("\n"))


_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "COLUMNS": "200",
    "TERM": "dumb",
    "NO_COLOR": "1",
}


def run(args: tuple[str, ...], home: Path, cwd: Path, stdin: str | None = None) -> str:
    """Run `vsmml ARGS` in this process (the real Typer app, as a user's shell would, minus the
    interpreter start) and return the masked record of exit code, stdout and stderr."""
    from typer.testing import CliRunner

    from vsmml.cli import app
    from vsmml.config import get_settings

    saved = {k: os.environ.get(k) for k in (*_ENV, "VSMML_HOME")}
    vsmml_vars = {k: v for k, v in os.environ.items() if k.startswith("VSMML_")}
    here = Path.cwd()
    try:
        for k in vsmml_vars:
            del os.environ[k]
        os.environ.update(_ENV, VSMML_HOME=str(home))
        get_settings.cache_clear()
        os.chdir(cwd)
        result = CliRunner().invoke(app, list(args), input=stdin)
    finally:
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.environ.update(vsmml_vars)
        get_settings.cache_clear()
    crash = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = f"[uncaught {type(result.exception).__name__}: {result.exception}]\n"
    paths = {str(home): "<home>", str(cwd): "<cwd>", str(REPO): "<repo>"}
    return mask(
        f"$ vsmml {' '.join(args)}\n[exit {result.exit_code}]\n{crash}--- stdout\n"
        f"{result.stdout}--- stderr\n{result.stderr}",
        paths,
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small demo store (4 services, 6 weeks, risk model trained), built once per module."""
    home = tmp_path_factory.mktemp("golden") / "home"
    out = run(("demo", "--days", "42", "--services", "4"), home, home.parent)
    check("demo_small", out)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def check(name: str, got: str) -> None:
    """Compare with (or, in update mode, write) the golden file of `name`."""
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}; run with VSMML_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    assert got == want, f"output of {name!r} differs from {path} (see the diff above)"


def _git(repo: Path, *args: str, when: str, who: str = "alice") -> None:
    env = {
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who}@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
    }
    subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, check=True)


@pytest.fixture(scope="module")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with fixed authors and dates: features, a fix, release tags, a revert."""
    root = tmp_path_factory.mktemp("golden-git") / "shop"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main", when="2025-01-01T00:00:00Z")
    for day in range(1, 13):
        when = f"2025-01-{day:02d}T10:00:00Z"
        (root / f"mod{day % 3}.py").write_text("".join(f"x{i} = {day}\n" for i in range(day * 3)))
        _git(root, "add", ".", when=when)
        message = f"Fix bug in mod{day % 3}" if day % 4 == 0 else f"Add feature {day}"
        _git(root, "commit", "-qm", message, when=when, who="bob" if day % 2 else "alice")
        if day % 3 == 0:
            _git(root, "tag", "-a", f"v1.{day // 3}.0", "-m", "release", when=when)
    _git(root, "revert", "--no-edit", "HEAD", when="2025-01-13T10:00:00Z")
    _git(root, "tag", "v1.5.0", when="2025-01-14T10:00:00Z")
    return root


@pytest.fixture(scope="module")
def slo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three hours of per-minute SLI samples of one service, burning in the last hour."""
    import numpy as np
    import pandas as pd

    ts = pd.date_range("2024-05-01 00:01", "2024-05-01 03:00", freq="min", tz="UTC")
    bad = np.where(ts > pd.Timestamp("2024-05-01 02:00", tz="UTC"), 20.0, 0.0)
    path = tmp_path_factory.mktemp("golden-slo") / "checkout.csv"
    pd.DataFrame({"timestamp": ts, "good": 1000 - bad, "total": 1000.0}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def bad_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Canonical JSON Lines with good records, a naive timestamp, an unknown kind and junk."""
    folder = tmp_path_factory.mktemp("golden-jsonl")
    lines = [
        '{"event_id": "e1", "kind": "commit", "ts": "2026-01-02T03:04:05Z", "sha": "a1"}',
        '{"event_id": "e2", "kind": "commit", "ts": "2026-01-02 03:04:05", "sha": "a2"}',
        '{"event_id": "e3", "kind": "deploy.completed", "ts": "2026-01-02T03:04:05Z"}',
        "{not json",
        '{"event_id": "e4", "kind": "deploy.finished", "ts": "2026-01-03T00:00:00+01:00",'
        ' "deploy_id": "d1", "env": "prod", "status": "success", "service": "api"}',
    ]
    path = folder / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "rules.yaml").write_text("jsonl:\n  strict: true\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_command_output_is_unchanged(
    case: Case,
    demo_home: Path,
    git_repo: Path,
    slo_csv: Path,
    bad_jsonl: Path,
    tmp_path: Path,
) -> None:
    home = demo_home if case.store == "demo" else tmp_path / "home"
    names = {
        "{git}": str(git_repo),
        "{slo}": str(slo_csv),
        "{bad}": str(bad_jsonl),
        "{rules}": str(bad_jsonl.parent / "rules.yaml"),
        "{tmp}": str(tmp_path),
    }

    def expand(args: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for arg in args:
            for key, value in names.items():
                arg = arg.replace(key, value)
            out.append(arg)
        return tuple(out)

    records = [run(expand(args), home, tmp_path) for args in case.before]
    records.append(run(expand(case.args), home, tmp_path, case.stdin))
    text = "\n".join(records)
    for path, name in ((git_repo, "<git>"), (slo_csv, "<slo>"), (bad_jsonl.parent, "<inputs>")):
        text = text.replace(str(path), name)
    check(case.name, text)


def test_every_command_has_a_golden_case() -> None:
    """A new command needs a golden case (so a refactoring cannot change it unnoticed)."""
    from vsmml.cli import app

    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    } | {g.name or "" for g in app.registered_groups}
    covered = {c.args[0] for c in CASES} | {"demo"}
    assert len(commands) > 10, commands
    assert commands <= covered, sorted(commands - covered)
