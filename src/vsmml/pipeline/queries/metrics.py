"""`vsmml metrics`: the baseline metrics of the stored events, one profile, one window.

Every event is read (read-only), correlated with the profile's incident-linking rule, and every
metric computed; then only the periods inside [since, until) are kept. All events are read, not
only the window, so a change deployed inside the window still finds its first commit before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import correlate, link_coverage
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.metrics.bands import dora_summary
from vsmml.metrics.display import BAND_LEGEND, dora_summary_table, latest_period_table
from vsmml.metrics.frames import group_columns
from vsmml.metrics.profiles import get_profile
from vsmml.metrics.table import all_metrics
from vsmml.pipeline.queries.reads import read_events


@dataclass(frozen=True)
class MetricsQuery:
    """Grouping (service/team/repo or None for all), period (D/W/M or None), profile, window."""

    by: str | None = "service"
    freq: str | None = "W"
    profile: str = "vsmml"
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    wide: bool = False


@dataclass(frozen=True)
class MetricsReport:
    """Every metric as a tidy frame, the DORA summary with bands, and link coverage; the
    tables people read (`dora_table`: compact unless the query is `wide`, with `band_legend`;
    `latest`: the latest period)."""

    profile: str
    tidy: pd.DataFrame
    dora: pd.DataFrame
    coverage: pd.DataFrame
    dora_table: pd.DataFrame
    latest: pd.DataFrame
    band_legend: str = BAND_LEGEND


def window(
    frame: pd.DataFrame, since: pd.Timestamp | None, until: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows whose period starts in [since, until) (whole-range rows are always kept)."""
    keep = pd.Series(True, index=frame.index)
    period = frame["period"]
    if since is not None:
        keep &= period.isna() | (period >= since)
    if until is not None:
        keep &= period.isna() | (period < until)
    return frame.loc[keep.to_numpy()].reset_index(drop=True)


LATENCY_COLUMNS: Final[tuple[str, ...]] = ("ts", "received_at")
"""What ingest latency needs of every stored event (SLI samples are most of a store's rows),
besides the query's group columns."""


def metrics_report(query: MetricsQuery, settings: Settings | None = None) -> MetricsReport:
    """Correlate the stored delivery events and compute every metric of the query's profile.

    Two reads keep memory to what the metrics use: every delivery event in full, and for ingest
    latency only `LATENCY_COLUMNS` and the group columns of every event (SLI samples included),
    unsorted.
    """
    prof = get_profile(query.profile)
    events = read_events(settings, kinds=DELIVERY_KINDS)
    latency = read_events(
        settings, columns=(*LATENCY_COLUMNS, *group_columns(query.by)), ordered=False
    )
    corr = correlate(events, incident_linking=prof.incident_linking, window_hours=prof.window_hours)
    table = all_metrics(events, query.by, query.freq, prof, corr=corr, latency_events=latency)
    del latency
    tidy = window(table, query.since, query.until)
    summary = dora_summary(corr, query.by, prof)
    return MetricsReport(
        profile=prof.name,
        tidy=tidy,
        dora=summary,
        coverage=link_coverage(events, corr),
        dora_table=dora_summary_table(summary, wide=query.wide),
        latest=latest_period_table(tidy, wide=query.wide),
    )
