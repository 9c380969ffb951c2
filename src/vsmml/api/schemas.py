"""The shapes the OpenAPI document describes: request bodies read by hand, and every answer.

Routes that ingest or score read their bodies themselves (a bad record must be quarantined, not
refuse its whole batch, and scoring must not pay for model validation), so their request schemas
are given here as JSON Schema; the answers are pydantic models used for the document only.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from vsmml.pipeline.scoring import JIT_METRICS

_TEXT: Final = {"type": ["string", "null"]}
EVENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "A canonical event (DESIGN.md §2); unknown keys go into `attrs`.",
    "properties": {
        "event_id": _TEXT,
        "kind": {"type": "string", "examples": ["deploy.finished"]},
        "ts": {"type": "string", "examples": ["2026-01-02T03:04:05Z"]},
        "source": _TEXT,
        "service": _TEXT,
        "team": _TEXT,
        "repo": _TEXT,
        "sha": _TEXT,
        "change_id": _TEXT,
        "deploy_id": _TEXT,
        "env": _TEXT,
        "status": _TEXT,
        "attrs": {"type": ["object", "null"]},
    },
    "required": ["kind", "ts"],
}
EVENTS_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"type": "array", "items": EVENT_SCHEMA},
                    {
                        "type": "object",
                        "properties": {"events": {"type": "array", "items": EVENT_SCHEMA}},
                        "required": ["events"],
                    },
                ]
            }
        }
    },
}
JSON_OBJECT_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}}},
}
CDEVENTS_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        kind: {"schema": {"anyOf": [{"type": "object"}, {"type": "array", "items": {}}]}}
        for kind in (
            "application/json",
            "application/cloudevents+json",
            "application/cloudevents-batch+json",
        )
    },
}
UNITS_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "units": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "location": {"type": "string"},
                                "payload": {"type": "string"},
                            },
                            "required": ["location", "payload"],
                        },
                    },
                    "rules": {"type": ["object", "null"]},
                    "rejects": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["units"],
            }
        }
    },
}
RULES_BODY: Final[dict[str, Any]] = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_NUMBER: Final = {"type": ["number", "boolean", "null"], "minimum": 0}
CHANGE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "A change's just-in-time fields (any delivery-context field optional), "
    'or {"sha": ..., "repo": ...} for a change the store knows.',
    "properties": {
        **dict.fromkeys((m.name for m in JIT_METRICS), _NUMBER),
        "sha": {"type": "string"},
        "repo": {"type": "string"},
    },
}
MAX_TOP: Final[int] = 50
"""Most reasons a score request may ask for per change (``top``, from 1): the route's bound and
the score lane's (api/score_lane.py), which hands anything outside it to the route."""

SCORE_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [CHANGE_SCHEMA, {"type": "array", "items": CHANGE_SCHEMA, "minItems": 1}]
            },
            "examples": {
                "one": {"value": {"la": 400, "ld": 20, "nf": 6}},
                "known": {"value": {"sha": "36f2485", "repo": "payments-repo"}},
            },
        }
    },
}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, one line for people, the field it is about."""

    code: str
    message: str
    field: str | None = None


class ErrorAnswer(BaseModel):
    """Every refusal."""

    error: ErrorDetail


class IngestAnswer(BaseModel):
    """What one request did with each record it carried."""

    request_id: str
    source: str
    payloads: int
    accepted: int
    duplicates: int
    quarantined: int
    skipped: int
    skipped_by_type: dict[str, int]
    messages: list[str]


class Reason(BaseModel):
    """One reason behind a score: the feature, its value, its log-odds push, the wording."""

    feature: str
    value: float | None
    contribution: float
    text: str


class ModelRef(BaseModel):
    """Which model answered."""

    name: str
    version: str
    source: str


class Lowering(BaseModel):
    """What would lower a change's risk: the change to the change, re-scored by the model."""

    action: str = Field(description="split_change, wait_for_flaky_fix, ship_alone ...")
    description: str
    probability: float = Field(ge=0, le=1, description="The change's probability as it is.")
    new_probability: float = Field(ge=0, le=1, description="After it (per piece for a split).")
    any_piece: float | None = Field(description="Split: that at least one piece fails.")
    changed: dict[str, list[float]] = Field(description="Input: [value now, value after].")


class ScoreAnswer(BaseModel):
    """A change's calibrated failure probability, band, decision, reasons, and what would
    lower it (largest drop first; empty when nothing the developer controls would)."""

    probability: float = Field(ge=0, le=1)
    band: str = Field(description="low, medium or high (at or above the threshold)")
    decision: str = Field(description="pass or fail at the threshold")
    threshold: float
    raw_score: float
    reasons: list[Reason]
    recommendations: list[Lowering]
    model: ModelRef
    ignored_fields: list[str]


class TokenFields(BaseModel):
    """A token as shown: never its secret."""

    token_id: str
    name: str
    scopes: list[str]
    state: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class TokenCreated(TokenFields):
    """A new token: its fields and, this once, the secret."""

    token: str


class TokenList(BaseModel):
    """Every token."""

    tokens: list[TokenFields]


class TokenCreate(BaseModel):
    """What to create: scopes (``ingest,read``), a name, a lifetime (``90d``)."""

    model_config = ConfigDict(extra="forbid")

    scopes: str | list[str] = Field(examples=["ingest,read"])
    name: str | None = Field(default=None, max_length=64)
    expires: str | None = Field(default=None, max_length=16, examples=["90d"])


class ReplayRequest(BaseModel):
    """What to replay or retry: one source (or all), per-source rule sections, quarantine ids."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, max_length=40)
    rules: dict[str, dict[str, Any]] | None = None
    ids: list[int] | None = Field(default=None, max_length=100_000)
    after: int = Field(default=0, ge=0, description="Retry only ids above this (paging).")


class ReplayAnswer(BaseModel):
    """Payloads re-converted per source, events accepted/duplicate, new rejects, resolved."""

    payloads: dict[str, int]
    accepted: int
    duplicates: int
    quarantined: int
    resolved: int
    still_failing: int = Field(default=0, description="Retried records refused again (kept).")
    skipped: list[str]
    messages: list[str]
    summary: str
    next_after: int | None = Field(description="Retry again with after=this; None: done.")


class TrainBody(BaseModel):
    """What `vsmml train` trains on the server: a model (or ``all``), on the served store's
    changes (``store``, risk only) or the synthetic organisation (``seed``, ``days``)."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["risk", "burn", "bottleneck", "all"]
    store: bool = False
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    days: int | None = Field(default=None, ge=7, le=3650)


class TrainResult(BaseModel):
    """The registry's answer: the new version, whether it became champion and why."""

    version: int
    run_id: str
    metric: float | None
    promoted: bool
    previous_version: int | None
    previous_metric: float | None
    export_dir: str
    reason: str


class TrainTable(BaseModel):
    """The evaluation table on the later 20 % by time (the model against its baselines)."""

    columns: list[str]
    rows: list[list[Any]]


class TrainOutcome(BaseModel):
    """One model's training: its result and table, or why it could not train."""

    name: str
    error: str | None
    result: TrainResult | None
    table: TrainTable | None


class ModelSwap(BaseModel):
    """The risk model before and after a promotion (loaded at once)."""

    before: ModelRef
    after: ModelRef


class TrainAnswer(BaseModel):
    """What the training announced, each model's outcome, and the reload it caused (if any)."""

    log: list[str]
    outcomes: list[TrainOutcome]
    reloaded: ModelSwap | None


class Health(BaseModel):
    """The process is up."""

    status: str


class Ready(_Open):
    """The store is open and a model loaded."""

    status: str


class Reloaded(BaseModel):
    """The model before and after a reload."""

    before: ModelRef
    after: ModelRef
    changed: bool


class Listing(_Open):
    """A read answer (see the route for its fields)."""


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route."""
    text = {
        400: "Malformed body (not JSON, not UTF-8, nested too deep).",
        401: "Missing, invalid, revoked or expired token (or bad signature).",
        403: "Valid token without the scope (or webhook not configured).",
        404: "Not found.",
        409: "A training already runs on this server.",
        413: "Body or batch too large.",
        415: "Unsupported content type.",
        422: "Invalid parameter or input.",
        503: "Store unavailable.",
    }
    return {c: {"model": ErrorAnswer, "description": text[c]} for c in codes}
