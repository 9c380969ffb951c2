"""`vsmml anomalies` and `vsmml slo status`: score metric/SLI series and report SLO burn.

Input is a CSV file or, without one, the `slo.sample` events in the store (read-only). For
anomalies the store series is each service's error ratio per sample (1 - good / total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.anomaly import DEFAULT_THRESHOLD, Detector, get_detector
from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.pipeline.queries.reads import slo_samples
from vsmml.slo import SLO, status

__all__ = [
    "DEFAULT_THRESHOLD",
    "AnomalyQuery",
    "AnomalySeries",
    "SloQuery",
    "anomalies",
    "budgets_by_service",
    "read_series_csv",
    "slo_status",
]


@dataclass(frozen=True)
class AnomalyQuery:
    """A CSV series (or the store's services), the detector, the alert threshold, rows shown."""

    file: Path | None = None
    services: Sequence[str] | None = None
    detector: str = "default"
    threshold: float = DEFAULT_THRESHOLD
    top: int = 20


@dataclass(frozen=True)
class AnomalySeries:
    """One scored series: its name, every row with its score, and the top rows above threshold."""

    name: str
    scored: pd.DataFrame
    above: int
    hits: pd.DataFrame


def read_series_csv(path: Path) -> pd.DataFrame:
    """A (TimeStamp|timestamp, Value|value[, Label]) CSV as timestamp/value columns."""
    raw = _read_csv(path)
    cols = {c.lower(): c for c in raw.columns}
    if "timestamp" not in cols or "value" not in cols:
        raise DataError(f"{path}: need TimeStamp and Value columns, got {list(raw.columns)}")
    try:
        stamps = pd.to_datetime(raw[cols["timestamp"]], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column {cols['timestamp']!r} is not a timestamp ({exc})") from exc
    return pd.DataFrame(
        {"timestamp": stamps, "value": pd.to_numeric(raw[cols["value"]], errors="coerce")}
    )


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from exc


def anomalies(query: AnomalyQuery, settings: Settings | None = None) -> list[AnomalySeries]:
    """Score each series causally and keep the `top` rows at or above the threshold."""
    det = get_detector(query.detector)
    if query.file is not None:
        series = {query.file.stem: read_series_csv(query.file)}
    else:
        samples = slo_samples(settings, services=query.services)
        series = {
            str(name): pd.DataFrame(
                {"timestamp": g["timestamp"], "value": 1.0 - g["good"] / g["total"]}
            )
            for name, g in samples.groupby("service", sort=True)
        }
    return score_series(series, det, query.threshold, query.top)


def score_series(
    series: Mapping[str, pd.DataFrame], det: Detector, threshold: float, top: int
) -> list[AnomalySeries]:
    """Score each (timestamp, value) series causally with `det`; keep the `top` rows at or
    above `threshold` (the weekly report scores its own hourly series through this too)."""
    out = []
    for name, frame in series.items():
        scored = frame.assign(score=det.score(frame).round(3))
        above = scored[scored["score"] >= threshold]
        hits = above.nlargest(top, "score").sort_values("timestamp")
        out.append(AnomalySeries(name, scored, len(above), hits))
    return out


@dataclass(frozen=True)
class SloQuery:
    """A CSV of samples (or the store's), services kept, objective and compliance period."""

    file: Path | None = None
    services: Sequence[str] | None = None
    objective: float = 0.999
    window_days: int = 30


def slo_status(query: SloQuery, settings: Settings | None = None) -> pd.DataFrame:
    """Budget left, burn rates, page/ticket alerts and exhaustion forecast, one row a service."""
    if query.file is not None:
        samples = _read_csv(query.file)
        if "service" not in samples.columns:
            samples["service"] = query.file.stem
        if query.services:
            samples = samples[samples["service"].isin(query.services)]
    else:
        samples = slo_samples(settings, services=query.services)
    return budgets_by_service(samples, query.objective, query.window_days)


def budgets_by_service(samples: pd.DataFrame, objective: float, window_days: int) -> pd.DataFrame:
    """`vsmml.slo.status` of each service's samples, one row a service (empty: no samples)."""
    rows = [
        status(g, SLO(str(name), objective, window_days))
        for name, g in samples.groupby("service", sort=True)
    ]
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).drop(columns=["objective", "window_days"])
