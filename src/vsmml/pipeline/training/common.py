"""What every training job shares: the time-ordered split, the data hash, synthetic data."""

from __future__ import annotations

import hashlib
from typing import Any, Final

import pandas as pd

TRAIN_FRACTION: Final[float] = 0.8
"""Share of the data (earliest first) that trains; the rest is the held-out evaluation."""


def data_hash(frame: pd.DataFrame) -> str:
    """sha256 of the frame's values (column names and row order included)."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def span(ts: pd.Series) -> list[str]:
    """First and last instant of a time column as ISO text (for model metadata)."""
    return [pd.Timestamp(ts.min()).isoformat(), pd.Timestamp(ts.max()).isoformat()]


def describe_synthetic(seed: int, settings: dict[str, Any]) -> str:
    """How a model's training data was generated, for its metadata and messages."""
    shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    return f"synthetic organisation (seed {seed}, {shown})"


def synthetic_org(seed: int, settings: dict[str, Any]) -> tuple[Any, Any]:
    """(config, organisation) of a preset with keyword overrides."""
    from vsmml.synth import SynthConfig, generate

    overrides = {k: v for k, v in settings.items() if k != "preset"}
    config = SynthConfig.preset(str(settings.get("preset", "demo")), seed=seed, **overrides)
    return config, generate(config)
