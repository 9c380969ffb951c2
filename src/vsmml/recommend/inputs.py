"""What the recommender reads: the analysis window and the frames and results of the core.

Every field but the window is optional: a rule whose inputs are missing does not run and says
so (`RecommendationSet.skipped`). `vsmml.recommend.gather.gather` fills the fields from
canonical events; callers with their own results (a burn model's outlook, anomaly scores) pass
them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from vsmml.errors import DataError
from vsmml.graph.flow import FlowData
from vsmml.recommend.counterfactual import Scorer

DEFAULT_WEEKS: Final[int] = 4
DEFAULT_OBJECTIVE: Final[float] = 0.999


def week_floor(ts: pd.Timestamp) -> pd.Timestamp:
    """Monday 00:00 UTC of the week holding `ts` (timezone-aware)."""
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        raise DataError(f"timestamps must be timezone-aware UTC, got {ts!r}")
    day = t.tz_convert("UTC").normalize()
    return day - pd.Timedelta(days=int(day.day_of_week))


def utc(ts: pd.Timestamp | str | None, name: str) -> pd.Timestamp | None:
    """`ts` as a UTC timestamp (naive input is refused: time is UTC with an offset)."""
    if ts is None:
        return None
    try:
        t = pd.Timestamp(ts)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: not a timestamp: {ts!r}") from exc
    if t.tzinfo is None:
        raise DataError(f"{name}: needs a UTC offset (e.g. 2026-06-01T00:00Z), got {ts!r}")
    return t.tz_convert("UTC")


def window_of(
    last_event: pd.Timestamp | None,
    since: pd.Timestamp | str | None = None,
    until: pd.Timestamp | str | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The analysis window [since, until).

    Default: the last `weeks` complete Monday weeks before `last_event` (the week the data ends
    in is incomplete). `gather` passes the latest commit or opened change, so deploys and
    incidents that trail the last work do not push the window past it. An explicit `until` is
    kept as given; `since` defaults to `weeks`
    weeks before it.
    """
    if weeks < 1:
        raise DataError(f"weeks: must be >= 1, got {weeks}")
    end = utc(until, "until")
    start = utc(since, "since")
    if end is None:
        if last_event is None:
            raise DataError("no events: give --until or ingest some events first")
        end = week_floor(last_event)
    if start is None:
        start = end - pd.Timedelta(weeks=weeks)
    if start >= end:
        raise DataError(f"since ({start}) must be before until ({end})")
    return start, end


@dataclass
class Inputs:
    """Everything the rules may read; see the module docstring."""

    since: pd.Timestamp
    until: pd.Timestamp
    events: pd.DataFrame | None = None
    flow: FlowData | None = None
    changes: pd.DataFrame | None = None
    deployments: pd.DataFrame | None = None
    incidents: pd.DataFrame | None = None
    pipeline_runs: pd.DataFrame | None = None
    slo_samples: pd.DataFrame | None = None
    slo_objectives: Mapping[str, float] = field(default_factory=dict)
    default_objective: float = DEFAULT_OBJECTIVE
    burn_outlook: pd.DataFrame | None = None
    anomalies: pd.DataFrame | None = None
    coverage: pd.DataFrame | None = None
    quarantine: pd.DataFrame | None = None
    change_features: pd.DataFrame | None = None
    scorer: Scorer | None = None
    model_name: str = "risk"
    waivers: pd.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Normalise the window to UTC and refuse an empty one."""
        since, until = utc(self.since, "since"), utc(self.until, "until")
        assert since is not None and until is not None
        if since >= until:
            raise DataError(f"since ({since}) must be before until ({until})")
        self.since, self.until = since, until

    @property
    def weeks(self) -> float:
        """Length of the window in weeks."""
        return float((self.until - self.since) / pd.Timedelta(weeks=1))

    @property
    def horizon(self) -> str:
        """The period an effect is measured over: as long as the window analysed."""
        w = self.weeks
        return f"next {w:.0f} weeks" if abs(w - round(w)) < 1e-9 else f"next {w:.1f} weeks"
