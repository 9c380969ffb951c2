"""Read (scope ``read``): metrics, the value stream, bottlenecks, SLOs, anomalies,
recommendations, quarantine.

Each route parses its query and calls one `pipeline.service_reads` function; answers are cached
until the next write, so they are cheap to poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from fastapi import APIRouter, Query

from vsmml.api.deps import ReadScope, ServiceDep
from vsmml.api.schemas import Listing, errors
from vsmml.api.schemas_recommend import Recommendations

if TYPE_CHECKING:
    from vsmml.pipeline import service_reads


def _reads() -> Any:
    """`vsmml.pipeline.service_reads`, imported on first use (it brings pandas and the core)."""
    import vsmml.pipeline.service_reads as module

    return module


router = APIRouter(prefix="/v1", tags=["read"])
_ANSWERS: Final = {"response_model": Listing, "responses": errors(401, 403, 422, 503)}

Name = Annotated[str | None, Query(max_length=200, description="Only this service.")]
Team = Annotated[str | None, Query(max_length=200, description="Only this team (by=team).")]
By = Annotated[Literal["service", "team", "repo", "all"] | None, Query(description="Grouping.")]
Freq = Annotated[Literal["D", "W", "M", "all"], Query(description="Period length.")]
Profile = Annotated[str, Query(max_length=40, description="vsmml, devlake, fourkeys, gitlab.")]
When = Annotated[datetime | None, Query(description="ISO-8601 (UTC if no offset).")]
Services = Annotated[list[str] | None, Query(alias="service", description="Repeatable.")]


def _filter(
    by: str | None, service: str | None, team: str | None, since: datetime | None,
    until: datetime | None, freq: str, profile: str,
) -> service_reads.MetricsFilter:  # fmt: skip
    filt: service_reads.MetricsFilter = _reads().MetricsFilter(
        by, service, team, since, until, None if freq == "all" else freq, profile
    )
    return filt


@router.get("/metrics/dora", **_ANSWERS)  # type: ignore[arg-type]
def dora(
    _: ReadScope, s: ServiceDep, by: By = None, service: Name = None, team: Team = None,
    since: When = None, until: When = None, freq: Freq = "W", profile: Profile = "vsmml",
) -> Any:  # fmt: skip
    """The DORA keys per group and period, and the whole-range summary with 2021/2023 bands."""
    return _reads().metrics_view(s, "dora", _filter(by, service, team, since, until, freq, profile))


@router.get("/metrics/flow", **_ANSWERS)  # type: ignore[arg-type]
def flow(
    _: ReadScope, s: ServiceDep, by: By = None, service: Name = None, team: Team = None,
    since: When = None, until: When = None, freq: Freq = "W", profile: Profile = "vsmml",
) -> Any:  # fmt: skip
    """Flow metrics (velocity, time, efficiency, load, distribution) per group and period."""
    return _reads().metrics_view(s, "flow", _filter(by, service, team, since, until, freq, profile))


@router.get("/metrics/stages", **_ANSWERS)  # type: ignore[arg-type]
def stages(
    _: ReadScope, s: ServiceDep, by: By = None, service: Name = None, team: Team = None,
    since: When = None, until: When = None, freq: Freq = "W", profile: Profile = "vsmml",
) -> Any:  # fmt: skip
    """Wait, active and lead time of each delivery stage per group and period."""
    return _reads().metrics_view(
        s, "stages", _filter(by, service, team, since, until, freq, profile)
    )


@router.get("/graph", **_ANSWERS)  # type: ignore[arg-type]
def graph(_: ReadScope, s: ServiceDep, service: Name = None) -> Any:
    """The value-stream graph: stages with their times, hand-offs between them."""
    return _reads().graph_view(s, service)


@router.get("/bottlenecks", **_ANSWERS)  # type: ignore[arg-type]
def bottlenecks(
    _: ReadScope, s: ServiceDep, service: Name = None,
    by: Annotated[Literal["service", "week", "team", "org"], Query()] = "service",
) -> Any:  # fmt: skip
    """The constraint (highest share of waiting) per service, week, team or organisation."""
    return _reads().bottleneck_view(s, service, by)


@router.get("/slo", **_ANSWERS)  # type: ignore[arg-type]
def slo(
    _: ReadScope, s: ServiceDep, service: Services = None,
    objective: Annotated[float, Query(gt=0, lt=1)] = 0.999,
    window_days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Any:  # fmt: skip
    """Error budget left, burn rates and page/ticket alerts per service."""
    return _reads().slo_view(s, service, objective, window_days)


@router.get("/anomalies", **_ANSWERS)  # type: ignore[arg-type]
def anomalies(
    _: ReadScope, s: ServiceDep, service: Services = None,
    detector: Annotated[str, Query(max_length=40)] = "default",
    threshold: Annotated[
        float | None, Query(ge=0, le=1, description="Default: the detector's alert threshold.")
    ] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Any:  # fmt: skip
    """Each service's SLI error ratio scored; its most anomalous rows."""
    return _reads().anomaly_view(s, service, detector, threshold, top)


@router.get(
    "/recommendations", response_model=Recommendations, responses=errors(401, 403, 422, 503)
)
def recommendations(
    _: ReadScope, s: ServiceDep, service: Name = None, team: Team = None,
    since: When = None, until: When = None,
    weeks: Annotated[int, Query(ge=1, le=52, description="Window length without since.")] = 4,
    top: Annotated[int | None, Query(ge=1, le=1000, description="The first N.")] = None,
    category: Annotated[
        Literal["flow", "quality", "reliability", "risk", "data"] | None, Query()
    ] = None,
) -> Any:  # fmt: skip
    """What to fix first (`vsmml recommend`): finding, evidence (event ids), action and expected
    effect, ranked; the window defaults to the last `weeks` full weeks of the data."""
    return _reads().recommendations_view(s, service, team, since, until, weeks, top, category)


@router.get("/quarantine", **_ANSWERS)  # type: ignore[arg-type]
def quarantine(
    _: ReadScope, s: ServiceDep,
    source: Annotated[str | None, Query(max_length=40)] = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:  # fmt: skip
    """Quarantined records with where and why they were refused."""
    return _reads().quarantine_view(s, source, include_resolved, limit, offset)
