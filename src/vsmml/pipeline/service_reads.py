"""The read routes' use cases: the CLI's queries, answered as JSON-ready data and cached.

Each function calls the pipeline query `vsmml metrics`, `vsmml bottlenecks`, `vsmml slo status`
... call, and turns its frames into records (ISO-8601 UTC times, null for missing values).
Answers are remembered until the next write (`Service.cached`), so dashboards polling the same
view do not recompute it; a store without events answers with empty lists, not an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pandas as pd

from vsmml.errors import DataError
from vsmml.pipeline.models import locate
from vsmml.pipeline.queries.flow import BottleneckQuery, bottleneck_report, value_stream
from vsmml.pipeline.queries.metrics import MetricsQuery, metrics_report
from vsmml.pipeline.queries.observe import AnomalyQuery, SloQuery, anomalies, slo_status
from vsmml.pipeline.recommend import RecommendRequest, recommendations
from vsmml.pipeline.service_errors import QueryError
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.service_store import open_for_reading

__all__ = [
    "FAMILIES",
    "MetricsFilter",
    "anomaly_view",
    "bottleneck_view",
    "graph_view",
    "metrics_view",
    "models_view",
    "quarantine_view",
    "recommendations_view",
    "slo_view",
]

FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "dora": (
        "deployment",
        "lead_time",
        "change_failure_rate",
        "recovery_time",
        "time_to_restore",
        "rework_rate",
    ),
    "flow": ("flow_",),
    "stages": ("stage_",),
}
"""Metric-name prefixes of each family served under ``/v1/metrics/<family>``."""
MODEL_NAMES: Final[tuple[str, ...]] = ("risk", "burn", "bottleneck")
_EARLIEST: Final = pd.Timestamp("1677-09-22", tz="UTC")
_LATEST: Final = pd.Timestamp("2262-04-11", tz="UTC")
"""The times a query may name (what a nanosecond timestamp holds)."""
RECORD_SHOWN: Final[int] = 4096
"""Characters of each quarantined record a listing shows (``record_chars`` gives the size)."""


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: ISO-8601 UTC times, null for NaN and NaT."""
    if frame.empty:
        return []
    naive = [c for c in frame.columns if pd.api.types.is_datetime64_dtype(frame[c])]
    if naive:  # the store keeps UTC without an offset: say so
        frame = frame.assign(**{c: frame[c].dt.tz_localize("UTC") for c in naive})
    out: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", date_unit="s", double_precision=10)
    )
    return out


def _has_events(service: Service) -> bool:
    def count() -> bool:
        with open_for_reading(service.settings) as store:
            return store.counts()["events"] > 0

    return service.cached("has-events", count)


@dataclass(frozen=True)
class MetricsFilter:
    """The query of a metrics route: grouping, one service or team, window, period, profile."""

    by: str | None = None
    service: str | None = None
    team: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    freq: str | None = "W"
    profile: str = "vsmml"

    def grouping(self) -> str | None:
        """The grouping column: `by`, else the one the service or team filter needs."""
        by = self.by or ("team" if self.team and not self.service else "service")
        if self.service is not None and by != "service":
            raise DataError(f"service: filtering by service needs by=service, got by={by}")
        if self.team is not None and by != "team":
            raise DataError(f"team: filtering by team needs by=team, got by={by}")
        return None if by == "all" else by


def metrics_view(service: Service, family: str, query: MetricsFilter) -> dict[str, Any]:
    """A family of metrics (``dora``, ``flow``, ``stages``) as tidy rows, filtered.

    The three families of one window share one computation (a dashboard asks for all three).
    """
    by = query.grouping()
    return service.cached(
        f"metrics:{family}:{query!r}", lambda: _metrics(service, family, by, query)
    )


def _metrics(service: Service, family: str, by: str | None, query: MetricsFilter) -> dict[str, Any]:
    prefixes = FAMILIES[family]
    answer: dict[str, Any] = {
        "profile": query.profile,
        "by": by or "all",
        "freq": query.freq or "all",
        "metrics": [],
    }
    if family == "dora":
        answer["summary"] = []
    if not _has_events(service):
        return answer
    since, until = _utc(query.since, "since"), _utc(query.until, "until")
    window = (by, query.freq, query.profile, since, until)
    report = service.cached(
        f"metrics-report:{window}", lambda: metrics_report(MetricsQuery(*window), service.settings)
    )
    value = query.service or query.team
    tidy = report.tidy[report.tidy["metric"].str.startswith(prefixes)]
    answer["profile"] = report.profile
    answer["metrics"] = records(_only(tidy, by, value))
    if family == "dora":
        answer["summary"] = records(_only(report.dora, by, value))
    return answer


def _utc(when: datetime | None, name: str) -> pd.Timestamp | None:
    """`when` in UTC (no offset: UTC); a time outside pandas' range is refused naming it."""
    if when is None:
        return None
    try:
        ts = pd.Timestamp(when)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        ts = None
    if ts is None or not _EARLIEST <= ts <= _LATEST:
        raise QueryError(f"{name}: {when.isoformat()} is outside 1677-09-22..2262-04-11", name)
    return ts


def _only(frame: pd.DataFrame, by: str | None, value: str | None) -> pd.DataFrame:
    if value is None or by is None or by not in frame.columns:
        return frame
    return frame[frame[by] == value].reset_index(drop=True)


def graph_view(service: Service, name: str | None = None) -> dict[str, Any]:
    """The value-stream graph (nodes: stages with times; links: hand-offs)."""
    if not _has_events(service):
        return {"name": name or "organisation", "directed": True, "nodes": [], "links": []}
    return service.cached(f"graph:{name}", lambda: value_stream(name, service.settings))


def bottleneck_view(service: Service, name: str | None = None, by: str = "service") -> Any:
    """The constraint (highest wait share) per service, week, team or the organisation, and a
    note naming the events that would time the stages it lacks."""
    if not _has_events(service):
        return {"by": by, "constraints": [], "note": "no events in the store"}

    def compute() -> dict[str, Any]:
        report = bottleneck_report(BottleneckQuery(name, by), service.settings)
        return {"by": by, "constraints": records(report.found), "note": report.note}

    return service.cached(f"bottlenecks:{name}:{by}", compute)


def slo_view(
    service: Service, names: Sequence[str] | None, objective: float, window_days: int
) -> dict[str, Any]:
    """Error budget left, burn rates and alerts per service."""
    query = SloQuery(None, list(names) if names else None, objective, window_days)
    key = f"slo:{names}:{objective}:{window_days}"
    return service.cached(
        key,
        lambda: {
            "objective": objective,
            "window_days": window_days,
            "services": records(slo_status(query, service.settings)),
        },
    )


def anomaly_view(
    service: Service,
    names: Sequence[str] | None,
    detector: str,
    threshold: float | None,
    top: int,
) -> dict[str, Any]:
    """Each service's SLI error-ratio series scored; the top anomalous rows of each (at the
    detector's alert threshold unless one is given)."""
    if threshold is None:
        threshold = AnomalyQuery().threshold
    query = AnomalyQuery(None, list(names) if names else None, detector, threshold, top)

    def compute() -> dict[str, Any]:
        found = anomalies(query, service.settings)
        return {
            "detector": detector,
            "threshold": threshold,
            "series": [
                {"name": s.name, "rows": len(s.scored), "above": s.above, "hits": records(s.hits)}
                for s in found
            ],
        }

    return service.cached(f"anomalies:{names}:{detector}:{threshold}:{top}", compute)


def quarantine_view(
    service: Service, source: str | None, include_resolved: bool, limit: int, offset: int
) -> dict[str, Any]:
    """Quarantined records with where and why, newest last, one page of them."""
    from vsmml.pipeline.ingest.registry import stored_source

    def compute() -> dict[str, Any]:
        with open_for_reading(service.settings) as store:
            q = store.read_quarantine(
                source=stored_source(source), include_resolved=include_resolved
            )
        page = q.iloc[offset : offset + limit].copy()
        text = page["record"].fillna("").astype(str)
        page["record_chars"] = text.str.len()
        page["record"] = text.str.slice(0, RECORD_SHOWN)  # a record may be megabytes
        return {"total": len(q), "offset": offset, "records": records(page)}

    return service.cached(f"quarantine:{source}:{include_resolved}:{limit}:{offset}", compute)


def recommendations_view(
    service: Service,
    name: str | None = None,
    team: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    weeks: int = 4,
    top: int | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """`vsmml recommend` as JSON: the window, the ranked records (finding, evidence, action,
    expected effect) and the rules that could not run; an empty store has none."""
    start, end = _utc(since, "since"), _utc(until, "until")
    request = RecommendRequest(
        name, team, None if start is None else start.isoformat(),
        None if end is None else end.isoformat(), weeks, top, category,
    )  # fmt: skip
    if not _has_events(service):
        return {"since": None, "until": None, "recommendations": [], "skipped": {}, "unnamed": 0}

    def compute() -> dict[str, Any]:
        try:
            found = recommendations(request, service.settings)
        except DataError as exc:  # the pipeline words it for the CLI's --service, --team ...
            text = str(exc)
            field = next((f for f in ("service", "team", "since", "until") if f in text), None)
            raise QueryError(text.replace("--", ""), field) from exc
        return {
            "since": found.since.isoformat(),
            "until": found.until.isoformat(),
            "recommendations": found.to_list(),
            "skipped": dict(found.skipped),
            "unnamed": found.unnamed,
        }

    return service.cached(f"recommendations:{request!r}", compute)


def models_view(service: Service) -> dict[str, Any]:
    """The risk model in use and the other models found under ``VSMML_HOME`` or shipped."""
    loaded = service.model
    loc, scorer = loaded.location, loaded.scorer
    risk = {
        "name": loc.name,
        "version": loc.version,
        "source": loc.source,
        "in_use": True,
        "threshold": scorer.threshold,
        "inputs": list(scorer.input_columns),
        "training_period": [str(t) for t in scorer.training_period],
        "loaded_at": pd.Timestamp(loaded.loaded_at, unit="s", tz="UTC").isoformat(),
    }
    models = [risk]
    for name in MODEL_NAMES[1:]:
        try:
            other = locate(name, settings=service.settings)
        except FileNotFoundError:
            continue
        models.append(
            {"name": name, "version": other.version, "source": other.source, "in_use": False}
        )
    return {"models": models}
