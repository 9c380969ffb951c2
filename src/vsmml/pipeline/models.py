"""Find the model files to score with: the champion trained here, else the shipped default.

The champion export under ``$VSMML_HOME/models/<name>/`` (named by ``champion.json``, written by
`vsmml.tracking`) wins. Without one, the default model shipped with vsmml is used, so a fresh
install scores before anyone trains: ``VSMML_DEFAULT_MODELS`` when set, else the package data of
an installed wheel (``vsmml/default_models/``, built from the repository's top-level ``models/``),
else that top-level ``models/`` of a source checkout. Nothing here imports lightgbm or mlflow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vsmml.config import Settings, get_settings
from vsmml.models.artifacts import CHAMPION_FILE, MODEL_STATE, MODEL_TEXT, read_metadata
from vsmml.models.risk_scoring import ModelNotFoundError, RiskScorer

__all__ = ["ModelLocation", "ModelNotFoundError", "default_models_dir", "load_risk_scorer"]

PACKAGED_MODELS: Final[str] = "default_models"
"""Folder inside the installed package that holds the default models (see pyproject.toml)."""
_VERSION: Final = re.compile(r"^[0-9]{1,9}$")


@dataclass(frozen=True)
class ModelLocation:
    """Where a model's files are: ``source`` is ``home`` (trained here), ``default``
    (shipped with vsmml) or ``path`` (given explicitly)."""

    name: str
    version: str
    path: Path
    source: str


def default_models_dir(settings: Settings | None = None) -> Path | None:
    """``VSMML_DEFAULT_MODELS``, else the installed package data, else a checkout's ``models/``."""
    s = settings or get_settings()
    if s.default_models is not None:
        return s.default_models
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / PACKAGED_MODELS, package.parents[1] / "models"):
        if candidate.is_dir():
            return candidate
    return None


def _is_model_dir(path: Path) -> bool:
    return (path / MODEL_TEXT).is_file() or (path / MODEL_STATE).is_file()


def _champion_version(folder: Path) -> str | None:
    """The version ``champion.json`` names, refused unless it is a plain version number (the
    pointer becomes a path: ``../..`` or an absolute path must never be followed)."""
    pointer = folder / CHAMPION_FILE
    if not pointer.is_file():
        return None
    try:
        version = str(json.loads(pointer.read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelNotFoundError(f"{pointer}: not a champion pointer ({exc})") from exc
    if not _VERSION.match(version):
        raise ModelNotFoundError(f"{pointer}: version must be a number, got {version!r}")
    return version


def _versioned(folder: Path) -> tuple[str, Path] | None:
    """The version a model folder points at: ``champion.json``, else the highest number."""
    version = _champion_version(folder)
    if version is not None and _is_model_dir(folder / version):
        return version, folder / version
    numbered = [p for p in folder.glob("*") if _VERSION.match(p.name) and _is_model_dir(p)]
    if numbered:
        best = max(numbered, key=lambda p: int(p.name))
        return best.name, best
    return None


def _in_default(name: str, root: Path) -> ModelLocation | None:
    folder = root / name
    if _is_model_dir(folder):
        meta = read_metadata(folder)
        return ModelLocation(name, str(meta.get("version", "default")), folder, "default")
    found = _versioned(folder) if folder.is_dir() else None
    return ModelLocation(name, found[0], found[1], "default") if found else None


def locate(
    name: str,
    *,
    settings: Settings | None = None,
    default_dir: Path | None = None,
) -> ModelLocation:
    """The champion export of `name` under the home folder, else the shipped default."""
    s = settings or get_settings()
    home = s.models_dir / name
    searched = [str(home)]
    if home.is_dir() and (found := _versioned(home)) is not None:
        return ModelLocation(name, found[0], found[1], "home")
    root = default_dir or default_models_dir(s)
    if root is not None:
        searched.append(str(root / name))
        if (loc := _in_default(name, root)) is not None:
            return loc
    raise ModelNotFoundError(
        f"no '{name}' model found (searched {', '.join(searched)}); train one with "
        f"`vsmml train {name}` or set VSMML_DEFAULT_MODELS"
    )


def load_risk_scorer(
    *, path: Path | None = None, settings: Settings | None = None, native: bool = False
) -> tuple[RiskScorer, ModelLocation]:
    """The scorer of the folder `path`, else of the located ``risk`` champion or default
    (``native``: trees evaluated by LightGBM, for the server; see `RiskScorer.from_dir`)."""
    if path is not None:
        meta = read_metadata(path) if path.is_dir() else {}
        loc = ModelLocation("risk", str(meta.get("version", "?")), path, "path")
    else:
        loc = locate("risk", settings=settings)
    return RiskScorer.from_dir(loc.path, native=native), loc
