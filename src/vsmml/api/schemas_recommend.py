"""The OpenAPI shapes of ``GET /v1/recommendations``: `vsmml recommend --format json`'s records.

Documentation only, like `vsmml.api.schemas`: the records come from `vsmml.pipeline.recommend`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Target(BaseModel):
    """What a recommendation is about (the fields that do not apply are null)."""

    service: str | None
    team: str | None
    stage: str | None
    change: str | None
    source: str | None


class Evidence(BaseModel):
    """One fact behind a finding: a sentence, its numbers, its time range and event ids."""

    summary: str
    numbers: dict[str, float | int | None]
    since: str | None
    until: str | None
    event_ids: list[str] = Field(description="At most 20; n_events says how many in all.")
    n_events: int


class Effect(BaseModel):
    """What the action is expected to change, with an interval computed from the data."""

    metric: str
    value: float | None
    low: float | None
    high: float | None
    unit: str
    horizon: str
    baseline: float | None
    method: str
    better: str = Field(description="lower or higher: which direction is an improvement.")


class Recommendation(BaseModel):
    """One ranked recommendation (`vsmml recommend --format json`'s record)."""

    rank: int
    category: str = Field(description="flow, quality, reliability, risk or data.")
    target: Target
    finding: str
    evidence: list[Evidence]
    action: str
    action_text: str
    expected_effect: Effect
    other_effects: list[Effect]
    confidence: float
    priority: float
    why: str
    rule: str


class Recommendations(BaseModel):
    """The analysis window [since, until), the ranked records, and the rules that could not
    run with why (``skipped``); ``unnamed`` records were dropped for naming no event."""

    since: str | None
    until: str | None
    recommendations: list[Recommendation]
    skipped: dict[str, str]
    unnamed: int
