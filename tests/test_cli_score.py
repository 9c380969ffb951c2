"""`vsmml score` end to end: exit codes 0/1/2, JSON output, and no mlflow/lightgbm on the path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model_fixtures import small_risk_model
from vsmml.cli import app

CLI = [sys.executable, "-c", "from vsmml.cli import app; app(prog_name='vsmml')"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, _, _ = small_risk_model()
    folder = tmp_path_factory.mktemp("risk")
    model.save(folder)
    (folder / "metadata.json").write_text(json.dumps({"version": 4, "threshold": 0.5}))
    return folder


def _run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "score", *args], input=stdin, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.integration
def test_subprocess_round_trip_pass_fail_and_json(model_dir: Path) -> None:
    from vsmml.models.risk_scoring import RiskScorer

    expected = RiskScorer.from_dir(model_dir).score({"la": 120.0, "ld": 30.0, "nf": 4.0})[0]
    args = ["--model", str(model_dir), "--la", "120", "--ld", "30", "--nf", "4"]
    low = _run([*args, "--threshold", "0.99", "--format", "json"])
    assert low.returncode == 0, low.stderr
    doc = json.loads(low.stdout)
    assert doc["decision"] == "pass"
    assert doc["model"] == {
        "name": "risk",
        "version": "4",
        "source": "path",
        "path": str(model_dir),
    }
    (change,) = doc["changes"]
    assert change["probability"] == pytest.approx(expected.probability, abs=1e-12)
    assert [r["feature"] for r in change["reasons"]] == [r.feature for r in expected.reasons]
    high = _run([*args, "--threshold", "0.01"])
    assert high.returncode == 1, high.stderr
    assert "-> FAIL" in high.stdout and "top reasons" in high.stdout
    assert "adds 120 lines (la)" in high.stdout


@pytest.mark.integration
def test_subprocess_bad_input_exits_2(model_dir: Path) -> None:
    bad = _run(["--model", str(model_dir), "--change", "-"], stdin='{"la": "many"}')
    assert bad.returncode == 2
    assert "change 0: 'la' must be a number" in bad.stderr


HEAVY = ("pandas", "lightgbm", "sklearn", "mlflow", "statsmodels", "scipy", "pydantic", "duckdb")


@pytest.mark.integration
@pytest.mark.parametrize("args", [["--la", "5"], ["--la", "5", "--format", "json"], ["--la", "-1"]])
def test_score_path_imports_no_heavy_library(model_dir: Path, args: list[str]) -> None:
    """The gate must start fast: none of the libraries that cost seconds to import."""
    code = (
        "import sys\n"
        "from vsmml.cli import app\n"
        f"sys.argv = ['vsmml', 'score', '--model', {str(model_dir)!r}, *{args!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    code_, loaded = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code_ in ("0", "1", "2")
    assert loaded == "[]"


runner = CliRunner()


def _invoke(args: list[str], stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["score", *args], input=stdin)


def test_file_input_lists_and_overrides(model_dir: Path, tmp_path: Path) -> None:
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"changes": [{"la": 1, "fix": False}, {"la": 3000, "nf": None}]}))
    r = _invoke(["--model", str(model_dir), "--change", str(change), "--format", "json"])
    doc = json.loads(r.stdout)
    probs = [c["probability"] for c in doc["changes"]]
    assert probs[0] < probs[1]
    assert r.exit_code == (1 if max(probs) >= 0.5 else 0)
    same = _invoke(
        ["--model", str(model_dir), "--change", str(change), "--la", "1", "--format", "json"]
    )
    p_same = [c["probability"] for c in json.loads(same.stdout)["changes"]]
    assert p_same[1] == pytest.approx(p_same[0], abs=0.2)  # --la overrides both records
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"la": 5, "sha": "abc123", "deploy_batch": 3}))
    ctx = _invoke(["--model", str(model_dir), "--change", str(extra), "--format", "json"])
    assert json.loads(ctx.stdout)["ignored_fields"] == ["deploy_batch", "sha"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--change", "-"], "{not json", "not valid JSON"),
        (["--change", "-"], "[]", "non-empty list"),
        (["--change", "missing.json"], None, "no such file"),
        (["--set", "la"], None, "NAME=VALUE"),
        (["--set", "la=x"], None, "must be a number"),
        ([], None, "no model input given"),
        (["--la", "3", "--format", "yaml"], None, "Invalid value for '--format'"),
        (["--la", "nan"], None, "'la' must be a finite number, got nan"),
        (["--la", "inf"], None, "'la' must be a finite number, got inf"),
        (["--la", "-5"], None, "--la: 'la' must be at least 0 (lines), got -5"),
        (["--fix", "2"], None, "'fix' must be at least 0 and at most 1"),
        (["--la", "3", "--threshold", "nan"], None, "--threshold must be within [0, 1], got nan"),
        (["--la", "3", "--threshold", "1.5"], None, "--threshold must be within [0, 1]"),
        (["--la", "3", "--threshold", "-0.1"], None, "--threshold must be within [0, 1]"),
        (["--la", "3", "--top", "-1"], None, "'--top': -1 is not in the range 0<=x<=50"),
        (["--set", "deploy_batch=3", "--la", "1"], None, "--set deploy_batch: not an input"),
        (["--set", "la=inf"], None, "--set la: 'la' must be a finite number"),
        (["--change", "-"], '{"la": NaN}', "change 0: 'la' must be a finite number"),
        (["--change", "-"], '[{"la": 1}, {"nf": -2}]', "change 1: 'nf' must be at least 0"),
        (["--change", "-"], "[" * 100_000, "not valid JSON"),
    ],
)
def test_bad_input_exit_code_2(
    model_dir: Path, args: list[str], stdin: str | None, message: str
) -> None:
    r = _invoke(["--model", str(model_dir), *args], stdin)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # one line, no traceback


def test_change_file_that_is_not_utf8_exits_2(model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "change.json"
    bad.write_bytes(b'{"la": 3, "note": "\xff\xfe"}')
    r = _invoke(["--model", str(model_dir), "--change", str(bad)])
    assert r.exit_code == 2
    assert "not UTF-8 text" in r.stderr


def test_missing_model_exits_2(
    vsmml_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VSMML_DEFAULT_MODELS", str(tmp_path / "nothing"))
    r = _invoke(["--la", "3"])
    assert r.exit_code == 2
    assert "no 'risk' model found" in r.stderr


def test_threshold_comes_from_metadata(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    strict = tmp_path / "strict"
    shutil.copytree(model_dir, strict)
    (strict / "metadata.json").write_text(json.dumps({"version": 5, "threshold": 0.0}))
    r = _invoke(["--model", str(strict), "--la", "1", "--ld", "1"])
    assert r.exit_code == 1
    assert "(threshold 0%) -> FAIL" in r.stdout
