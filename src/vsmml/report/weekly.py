"""The weekly report: the data the pipeline gathered for one ISO week in, a `Report` out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vsmml.recommend.engine import RecommendationSet
from vsmml.report.model import Report, Section
from vsmml.report.sections.dora import dora_section
from vsmml.report.sections.flow import FlowWeek, constraint_section, lead_time_section
from vsmml.report.sections.quality import QualityWeek, quality_section
from vsmml.report.sections.recommendations import recommendations_section
from vsmml.report.sections.risk import RiskWeek, risk_section
from vsmml.report.sections.slo import SloWeek, slo_section
from vsmml.report.week import IsoWeek


@dataclass(frozen=True)
class WeeklyData:
    """Everything the weekly report shows, as frames and results of the core.

    Attributes:
        week: the ISO week reported on.
        scope: ``organisation``, ``service <name>`` or ``team <name>``.
        dora_scope, dora_services: tidy weekly DORA metrics (`vsmml.metrics.dora.dora`) of the
            scope and per service, for the report week and the weeks before it.
        flow, slo, quality: what the Lead time, Constraint, SLO and Data quality sections show.
        risk: the change-risk scores (None with `risk_note` when no model could be loaded).
        recommendations: the recommender's top records (None with `recommendations_note`).
        provenance: where the data came from (store, model, events read), for the footer.
        change_link: change id → URL of its debug page, or None (plain text).
    """

    week: IsoWeek
    scope: str
    dora_scope: pd.DataFrame
    dora_services: pd.DataFrame
    flow: FlowWeek
    slo: SloWeek
    quality: QualityWeek
    risk: RiskWeek | None = None
    risk_note: str = ""
    recommendations: RecommendationSet | None = None
    recommendations_note: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    change_link: Callable[[Any], str | None] | None = None


def scope_phrase(scope: str) -> str:
    """How the scope reads inside a sentence: "the organisation", "service checkout"."""
    return "the organisation" if scope == "organisation" else scope


def weekly_report(data: WeeklyData) -> Report:
    """Build every section, in the order an engineering lead reads them, and the highlights."""
    who = scope_phrase(data.scope)
    risk = (
        risk_section(data.risk, data.change_link)
        if data.risk is not None
        else Section("risk", "Risk", (data.risk_note or "No risk model available.",))
    )
    sections = (
        dora_section(data.dora_scope, data.dora_services, data.week.start, who),
        lead_time_section(data.flow, who),
        constraint_section(data.flow, who),
        slo_section(data.slo),
        risk,
        recommendations_section(data.recommendations, data.recommendations_note),
        quality_section(data.quality),
    )
    return Report(
        title=f"vsmml weekly report {data.week.label}: {data.scope}",
        period=data.week.label,
        span=data.week.span,
        scope=data.scope,
        since=data.week.start,
        until=data.week.end,
        sections=sections,
        highlights=highlights(sections),
        provenance=data.provenance,
    )


def highlights(sections: tuple[Section, ...]) -> tuple[str, ...]:
    """The five-minute summary: the first sentence of each section (the one that matters)."""
    order = ("dora", "constraint", "slo", "risk", "recommendations", "data_quality")
    by_key = {s.key: s for s in sections}
    out = []
    for key in order:
        s = by_key.get(key)
        if s is not None and s.summary:
            out.append(f"{s.heading}: {s.summary[0]}")
    return tuple(out)
