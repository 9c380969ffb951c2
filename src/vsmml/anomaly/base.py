"""Detector contract: a (timestamp, value) frame in, one causal score in [0, 1] per row out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from vsmml.errors import DataError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class DetectorConfig:
    """Settings shared by every detector.

    Attributes:
        refractory: rows after a score during which only a higher score passes undamped; this
            turns a burst of high scores into one alert (each row above the alert threshold
            outside a labelled window is a false positive).
        damping: factor applied to scores that do not exceed the recent maximum.
    """

    refractory: int = 0
    damping: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (the inverse of building the config from keyword arguments)."""
        return dataclasses.asdict(self)


def prepare_series(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Validate a (timestamp, value) frame and return float seconds (UTC) and float values.

    Causal repairs only: a missing timestamp takes the previous one, and timestamps are made
    non-decreasing with a running maximum, so row t never depends on later rows. Values that are
    not numbers or are infinite become NaN (detectors skip them).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"score(frame): expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("timestamp", "value") if c not in frame.columns]
    if missing:
        raise DataError(
            f"score(frame): missing column(s) {missing}; got columns {list(frame.columns)}"
        )
    n = len(frame)
    ts = frame["timestamp"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(ts):
        ts = pd.to_datetime(ts, errors="coerce", utc=True, format="mixed")
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = ts.to_numpy(dtype="datetime64[ns]")
    secs = np.where(np.isnat(nanos), np.nan, nanos.astype("int64") / 1e9)
    secs = pd.Series(secs).ffill().to_numpy(dtype=np.float64)
    if n and np.isnan(secs).all():
        secs = np.arange(n, dtype=np.float64)
    else:
        first = np.flatnonzero(~np.isnan(secs))
        if first.size and first[0] > 0:
            secs[: first[0]] = secs[first[0]]
    secs = np.asarray(np.fmax.accumulate(secs) if n else secs, dtype=np.float64)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    return secs, values


def suppress_repeats(scores: FloatArray, rows: int, damping: float) -> FloatArray:
    """Damp scores that do not exceed the maximum of the previous `rows` scores (causal)."""
    if rows <= 0 or scores.size == 0:
        return scores
    prev_max = pd.Series(scores).rolling(rows, min_periods=1).max().shift(1).fillna(0.0).to_numpy()
    return np.where(scores > prev_max, scores, scores * damping)


class Detector:
    """Base class: `score` does the shared checks, subclasses implement `_score` (the maths).

    Subclasses set `config_class` and `name`; `__init__` only stores the config.
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type[DetectorConfig]] = DetectorConfig

    def __init__(self, config: DetectorConfig | None = None, **overrides: Any) -> None:
        base = config if config is not None else self.config_class()
        self.config = dataclasses.replace(base, **overrides) if overrides else base

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def score(self, frame: pd.DataFrame) -> FloatArray:
        """Anomaly scores in [0, 1], one per row of `frame`; row t uses rows <= t only."""
        secs, values = prepare_series(frame)
        return self.score_arrays(secs, values)

    def score_arrays(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        """Score prepared arrays (non-decreasing seconds, float values with NaN for gaps)."""
        if values.size == 0:
            return np.zeros(0, dtype=np.float64)
        raw = np.asarray(self._score(secs, values), dtype=np.float64)
        raw = np.where(np.isfinite(raw), raw, 0.0)
        raw[np.isnan(values)] = 0.0
        out = suppress_repeats(np.clip(raw, 0.0, 1.0), self.config.refractory, self.config.damping)
        return np.clip(out, 0.0, 1.0)

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        raise NotImplementedError
