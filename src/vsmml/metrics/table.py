"""Every baseline metric in one tidy frame: what `vsmml metrics` prints and notebooks start from."""

from __future__ import annotations

import pandas as pd

from vsmml.correlate import Correlation, correlate
from vsmml.correlate.extract import compact
from vsmml.metrics.dora import dora
from vsmml.metrics.flow import flow_metrics
from vsmml.metrics.frames import By, combine, group_columns
from vsmml.metrics.ops import ops_metrics
from vsmml.metrics.pipeline import pipeline_metrics
from vsmml.metrics.profiles import Profile, get_profile
from vsmml.metrics.stages import stage_times


def all_metrics(
    events: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
    corr: Correlation | None = None,
    latency_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """DORA, flow, per-stage, pipeline and operations metrics for `events` as one tidy frame.

    Args:
        events: canonical events.
        by: ``service``, ``team``, ``repo`` or None (whole organisation).
        freq: ``D``, ``W``, ``M`` or None (whole range).
        profile: metric profile name (default ``vsmml``).
        corr: a correlation of `events` already computed (recomputed when None).
        latency_events: the events ingest latency is measured over, when they are more than
            `events` (a store passes the delivery events as `events` and the ``ts``,
            ``received_at`` and grouping columns of every event, SLI samples included, here).
    """
    prof = get_profile(profile)
    events = compact(events)
    if corr is None:
        corr = correlate(
            events, incident_linking=prof.incident_linking, window_hours=prof.window_hours
        )
    parts = [
        dora(corr, by, freq, prof),
        stage_times(corr, by, freq, prof),
        flow_metrics(events, corr, by, freq, prof),
        pipeline_metrics(events, by, freq, prof),
        ops_metrics(events, corr, by, freq, prof, latency_events),
    ]
    return combine(parts, group_columns(by))
