"""The README's GitHub Actions and GitLab CI gate jobs, run as they are written (their shell
commands, taken from the README) in a real temporary git repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gate_repo import make_repo

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]
README = Path(__file__).resolve().parents[1] / "README.md"


def _block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\n```yaml\n(.*?)```\n<!-- /{name} -->", text, re.S)
    assert match, f"README has no {name} block"
    return match.group(1)


def github_command() -> str:
    """The `run:` line of the gate step."""
    [line] = [ln for ln in _block("gate-github").splitlines() if "run: vsmml score" in ln]
    return line.split("run: ", 1)[1]


def gitlab_script() -> list[str]:
    """The job's script lines, without the install."""
    lines = _block("gate-gitlab").splitlines()
    start = lines.index("  script:") + 1
    script = []
    for ln in lines[start:]:
        if not ln.startswith("    - "):
            break
        script.append(ln[len("    - ") :])
    return [s for s in script if not s.startswith("pip install")]


def _env(**extra: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # where the `vsmml` entry point is installed
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
            "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", **extra}  # fmt: skip


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True)  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "shop"
    shas = make_repo(root)
    return root, shas["big"]


def test_github_actions_job_fails_the_risky_commit_and_a_waiver_passes_it(repo) -> None:  # type: ignore[no-untyped-def]
    root, sha = repo
    cmd = github_command()
    assert "--format github" in cmd and "--fail-above 0.6" in cmd
    env = _env(VSMML_HOME=".vsmml", GITHUB_SHA=sha, WAIVE="", GITHUB_ACTOR="octocat")
    failed = _bash(cmd, root, env)
    assert failed.returncode == 1, failed.stderr
    first = failed.stdout.splitlines()[0]
    assert first.startswith("::error title=vsmml release gate::failure risk") and sha[:12] in first
    assert "::notice title=vsmml: what would lower the risk::split into" in failed.stdout
    assert (root / ".vsmml" / "cache" / "git").is_dir()  # what actions/cache keeps
    again = _bash(cmd, root, env)
    assert again.returncode == 1 and again.stdout == failed.stdout
    waived = _bash(cmd, root, env | {"WAIVE": "hotfix approved by on-call"})
    assert waived.returncode == 0, waived.stdout + waived.stderr
    assert (
        "::warning title=vsmml: gate waived::octocat: hotfix approved by on-call" in waived.stdout
    )


def test_gitlab_ci_job_writes_the_json_and_exits_like_the_gate(repo) -> None:  # type: ignore[no-untyped-def]
    root, sha = repo
    script = "\n".join(gitlab_script())
    env = _env(VSMML_HOME=".vsmml", CI_COMMIT_SHA=sha, GITLAB_USER_LOGIN="maria")
    failed = _bash(script, root, env)
    assert failed.returncode == 1, failed.stderr
    doc = json.loads((root / "gate.json").read_text())
    assert doc["sha"] == sha and doc["decision"] == "fail" and doc["threshold"] == 0.6
    assert doc["inputs"]["la"] == 2000.0 and doc["context"]["source"].startswith("unknown")
    assert json.loads(failed.stdout)["probability"] == doc["probability"]  # `cat gate.json`
    waived = _bash(script, root, env | {"VSMML_WAIVE": "release freeze exception"})
    assert waived.returncode == 0, waived.stderr
    doc = json.loads((root / "gate.json").read_text())
    assert doc["decision"] == "waived" and doc["waiver"]["actor"] == "maria"
    bad = _bash(script, root, env | {"CI_COMMIT_SHA": "f" * 40})
    assert bad.returncode == 2 and "no such commit" in bad.stderr
