"""The built wheel is a working install: in a fresh virtualenv, from another folder, with an
empty VSMML_HOME, `vsmml score` scores a change with the default model shipped inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    base = Path(sys.base_prefix) / "bin" / "python3"
    probe = subprocess.run([str(base), "-m", "uv", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [str(base), "-m", "uv"]
    pytest.skip("uv is not available to create a fresh virtualenv (make install puts it there)")


def test_wheel_installed_in_a_fresh_venv_scores_with_its_default_model(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)]
    subprocess.run(build, cwd=REPO, check=True, capture_output=True)
    (wheel,) = dist.glob("vsmml-*.whl")
    venv = tmp_path / "venv"
    uv = _uv()
    subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSMML_", "VIRTUAL_ENV"))}
    install = [*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)]
    subprocess.run(install, check=True, env=env, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["VSMML_HOME"] = str(tmp_path / "empty-home")
    run = [str(venv / "bin" / "vsmml"), "score", "--la", "400", "--nf", "3", "--format", "json"]
    out = subprocess.run(run, cwd=elsewhere, env=env, capture_output=True, text=True, check=False)
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    assert doc["model"]["source"] == "default"
    assert "site-packages/vsmml/default_models/risk" in doc["model"]["path"]
    assert 0.0 < doc["changes"][0]["probability"] < 1.0
    assert not (tmp_path / "empty-home").exists() or not any((tmp_path / "empty-home").iterdir())
