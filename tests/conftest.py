"""Shared fixtures: an isolated VSMML_HOME per test, and access to ../shared/data when present."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "data" / "fixtures"
SHARED_DATA = Path(os.environ.get("VSMML_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def vsmml_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point VSMML_HOME at a fresh folder and rebuild the cached settings around the test."""
    from vsmml.config import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("VSMML_HOME", str(home))
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only development datasets; skips the test when they are not beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared development data not found at {SHARED_DATA} (set VSMML_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Small committed copies of real data that tests need (data/fixtures)."""
    return FIXTURES
