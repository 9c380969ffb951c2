"""`vsmml bottlenecks` and `vsmml whatif`: the constraint and re-timing of the stored flow.

Both read the delivery events (every kind but `slo.sample`), correlate them into change records
and hand frames to the pure `vsmml.graph` functions; the value-stream graph can be written as
JSON or GraphML and drawn to a PNG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from vsmml.config import Settings
from vsmml.graph.build import graph_for
from vsmml.graph.constraint import constraints, graph_constraint
from vsmml.graph.export import to_graphml, to_json
from vsmml.graph.flow import FlowData
from vsmml.graph.whatif import WhatIfResult, what_if
from vsmml.metrics.stages import STAGE_EVENTS
from vsmml.pipeline.queries.reads import delivery_flow

__all__ = [
    "GROUPINGS",
    "BottleneckQuery",
    "BottleneckReport",
    "WhatIfResult",
    "bottleneck_report",
    "bottlenecks",
    "value_stream",
    "whatif",
]

GROUPINGS: Final[dict[str, tuple[str | None, str | None]]] = {
    "service": ("service", None),
    "week": ("service", "W"),
    "team": ("team", None),
    "org": (None, None),
}
"""`--by` of `vsmml bottlenecks` → (grouping column, period) of `constraints`."""


@dataclass(frozen=True)
class BottleneckQuery:
    """One service or all, the grouping (a `GROUPINGS` key), and files to write the graph to."""

    service: str | None = None
    by: str = "service"
    export: Path | None = None
    figure: Path | None = None


@dataclass(frozen=True)
class BottleneckReport:
    """The constraint per group, and what the data lacks to see one (None when nothing).

    `no_stages` is true when no stage before production has any time: the table then says
    nothing about a bottleneck (git history alone gives commits and releases only).
    """

    found: pd.DataFrame
    note: str | None = None
    no_stages: bool = False


def bottlenecks(query: BottleneckQuery, settings: Settings | None = None) -> pd.DataFrame:
    """The constraint (highest wait share) per group; writes the graph and figure when asked."""
    return bottleneck_report(query, settings).found


def bottleneck_report(query: BottleneckQuery, settings: Settings | None = None) -> BottleneckReport:
    """`bottlenecks`, with a note naming the events that would give the stages it lacks."""
    group, freq = GROUPINGS[query.by]
    flow = delivery_flow(settings, service=query.service)
    found = constraints(flow, by=group, freq=freq)
    if query.export is not None or query.figure is not None:
        _save_graph(flow, query.service or "organisation", query.export, query.figure)
    missing = _stages_without_times(flow)
    before_production = [s for s in flow.stage_order if s != "production"]
    no_stages = bool(before_production) and set(before_production) <= set(missing)
    return BottleneckReport(found, _stage_note(missing, no_stages), no_stages)


_GRAPH_STAGE_EVENTS: Final = {**STAGE_EVENTS, "ci": STAGE_EVENTS["build"]}


def _stages_without_times(flow: FlowData) -> list[str]:
    stages = flow.stages
    timed = stages.loc[stages["wait_h"].notna() | stages["active_h"].notna(), "stage"]
    seen = set(timed.astype(str))
    return [s for s in flow.stage_order if s not in seen]


def _stage_note(missing: list[str], no_stages: bool) -> str | None:
    if not missing:
        return None
    needs = "; ".join(
        f"{s}: {_GRAPH_STAGE_EVENTS.get(s, 'stage.finished of that CI stage')}" for s in missing
    )
    if no_stages:
        return (
            "no stage times before production: the events hold no pull requests, reviews, CI "
            f"runs or staging deployments, so no bottleneck can be seen. Needed: {needs}"
        )
    return f"no times for {', '.join(missing)} (left out of the comparison). Needed: {needs}"


def value_stream(service: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """The value-stream graph of the stored flow as JSON-ready data (what `--export` writes)."""
    g = graph_for(delivery_flow(settings, service=service))
    g.graph["name"] = service or "organisation"
    return to_json(g)


def _save_graph(flow: FlowData, name: str, export: Path | None, figure: Path | None) -> None:
    g = graph_for(flow)
    g.graph["name"] = name
    if export is not None:
        if export.suffix.lower() == ".graphml":
            export.write_text(to_graphml(g), encoding="utf-8")
        else:
            export.write_text(json.dumps(to_json(g), indent=2) + "\n", encoding="utf-8")
    if figure is not None:
        from vsmml.graph.draw import draw_value_stream

        draw_value_stream(g, constraint=graph_constraint(g)).savefig(figure, dpi=120)


def whatif(
    scenario: str,
    *,
    service: str | None = None,
    confidence: float = 0.9,
    seed: int = 0,
    settings: Settings | None = None,
) -> WhatIfResult:
    """Re-time every observed change under `scenario`: the expected change of median lead time."""
    return what_if(
        delivery_flow(settings, service=service), scenario, confidence=confidence, seed=seed
    )
