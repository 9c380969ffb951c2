"""The files of a saved model folder, named once for the estimators, the tracker and the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

MODEL_TEXT: Final[str] = "model.txt"
"""LightGBM model text (`Booster.model_to_string()`)."""
MODEL_STATE: Final[str] = "model.json"
"""The estimator's own state (format, parameters, calibrator, linear part ...)."""
METADATA_FILE: Final[str] = "metadata.json"
"""Provenance written beside a saved model (data hash, features, metrics, threshold)."""
CHAMPION_FILE: Final[str] = "champion.json"
"""In a model name's folder: which numbered version is the champion."""


def read_metadata(path: Path) -> dict[str, Any]:
    """A model folder's ``metadata.json`` (empty when absent)."""
    meta = path / METADATA_FILE
    if not meta.is_file():
        return {}
    data: dict[str, Any] = json.loads(meta.read_text("utf-8"))
    return data
