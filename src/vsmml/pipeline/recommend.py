"""`vsmml recommend`: gather the recommender's inputs from the store and rank recommendations.

Reads (read-only): the delivery events and gate waivers (one read of every kind but
`slo.sample`), the `slo.sample` events of the window (their ids are evidence), and the open
quarantine; scores with the champion (or shipped default) risk model. Everything else is the
pure `vsmml.recommend`. The formatting functions are re-exported for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline.models import ModelNotFoundError, load_risk_scorer
from vsmml.pipeline.service_store import open_for_reading
from vsmml.recommend.engine import RecommendationSet, recommend
from vsmml.recommend.format import describe_effect, describe_target, to_markdown, to_table
from vsmml.recommend.gather import gather, latest_work
from vsmml.recommend.inputs import window_of

__all__ = [
    "RecommendRequest",
    "RecommendationSet",
    "describe_effect",
    "describe_target",
    "recommendations",
    "to_markdown",
    "to_table",
]

SLO_LEAD = pd.Timedelta(hours=6)
"""SLO samples read before the window: the longest page window needs them."""


@dataclass(frozen=True)
class RecommendRequest:
    """Filters and window of `vsmml recommend` (since/until are ISO-8601 with an offset)."""

    service: str | None = None
    team: str | None = None
    since: str | None = None
    until: str | None = None
    weeks: int = 4
    top: int | None = None
    category: str | None = None
    objective: float = 0.999


def _known(values: pd.Series, name: str, given: str | None) -> None:
    known = sorted({str(v) for v in values.dropna()})
    if given is not None and given not in known:
        raise DataError(f"--{name}: {given!r} is not in the store; known: {known}")


def recommendations(
    request: RecommendRequest, settings: Settings | None = None
) -> RecommendationSet:
    """Ranked recommendations for the stored events (see the module docstring)."""
    if request.service is not None and request.team is not None:
        raise DataError("give --service or --team, not both")
    s = settings or get_settings()
    with open_for_reading(s) as store:  # the served cursor inside `vsmml serve`
        events = store.read_events(kinds=DELIVERY_KINDS)
        if events.empty:
            raise DataError("store: no events; run `vsmml demo` or `vsmml ingest` first")
        _known(events["service"], "service", request.service)
        _known(events["team"], "team", request.team)
        since, until = window_of(latest_work(events), request.since, request.until, request.weeks)
        slo = store.read_events(kinds=["slo.sample"], since=since - SLO_LEAD, until=until)
        quarantine = store.read_quarantine()
    try:
        scorer, location = load_risk_scorer(settings=s)
        name = f"risk v{location.version}"
    except ModelNotFoundError:
        scorer, name = None, "risk"
    frames = pd.concat([events, slo], ignore_index=True) if len(slo) else events
    inputs = gather(
        frames,
        since=since,
        until=until,
        quarantine=quarantine,
        scorer=scorer,
        model_name=name,
        default_objective=request.objective,
    )
    return recommend(
        inputs,
        service=request.service,
        team=request.team,
        top=request.top,
        category=request.category,
    )
