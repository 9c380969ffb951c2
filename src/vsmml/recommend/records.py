"""The `Recommendation` record and its parts: target, evidence items and the expected effect."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pandas as pd

from vsmml.errors import DataError
from vsmml.recommend.catalogue import ACTIONS, action_text

CATEGORIES: Final[tuple[str, ...]] = ("flow", "quality", "reliability", "risk", "data")
MAX_EVENT_IDS: Final[int] = 20
"""At most this many event ids per evidence item (`n_events` says how many there were)."""
TARGET_FIELDS: Final[tuple[str, ...]] = ("service", "team", "stage", "change", "source")


@dataclass(frozen=True)
class Target:
    """What a recommendation is about; the fields that apply are set, the others are None."""

    service: str | None = None
    team: str | None = None
    stage: str | None = None
    change: str | None = None
    source: str | None = None

    def key(self) -> tuple[str, ...]:
        """A hashable identity (dedup key together with the action)."""
        return tuple("" if v is None else str(v) for v in (getattr(self, f) for f in TARGET_FIELDS))

    def to_dict(self) -> dict[str, str | None]:
        """Every target field, None where it does not apply."""
        return {f: getattr(self, f) for f in TARGET_FIELDS}


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _plain(value: float | int) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    v = float(value)
    return round(v, 6) if math.isfinite(v) else None


@dataclass(frozen=True)
class Evidence:
    """One fact behind a finding: a sentence, its numbers, the time range and the events.

    Build it with `Evidence.of`, which keeps at most `MAX_EVENT_IDS` ids (the most telling
    first, as given) and records how many events there were in all.
    """

    summary: str
    numbers: Mapping[str, float | int]
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    event_ids: tuple[str, ...] = ()
    n_events: int = 0

    def __post_init__(self) -> None:
        """Refuse more ids than the cap and a count below the ids listed."""
        if len(self.event_ids) > MAX_EVENT_IDS:
            raise DataError(
                f"evidence {self.summary!r}: {len(self.event_ids)} event_ids, at most "
                f"{MAX_EVENT_IDS} (use Evidence.of)"
            )
        if self.n_events < len(self.event_ids):
            raise DataError(f"evidence {self.summary!r}: n_events below the ids listed")

    @classmethod
    def of(
        cls,
        summary: str,
        numbers: Mapping[str, float | int],
        since: pd.Timestamp | None,
        until: pd.Timestamp | None,
        event_ids: Sequence[str] = (),
        n_events: int | None = None,
    ) -> Evidence:
        """An evidence item with the first `MAX_EVENT_IDS` of `event_ids` (deduplicated)."""
        ids = tuple(dict.fromkeys(str(i) for i in event_ids))
        total = len(ids) if n_events is None else max(int(n_events), 0)
        return cls(summary, dict(numbers), since, until, ids[:MAX_EVENT_IDS], max(total, 0))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "summary": self.summary,
            "numbers": {k: _plain(v) for k, v in self.numbers.items()},
            "since": _iso(self.since),
            "until": _iso(self.until),
            "event_ids": list(self.event_ids),
            "n_events": self.n_events,
        }


@dataclass(frozen=True)
class ExpectedEffect:
    """What the action is expected to change, with an interval, computed from the data.

    Attributes:
        metric: what changes ("median lead time", "risk per change" ...).
        value: the expected change (negative: the metric goes down).
        low, high: the interval around `value` (see docs/recommendations.md for each method).
        unit: "%" (of the baseline), "h", "probability", "changes", "events", "pp" ...
        horizon: the period the change is measured over ("next 4 weeks", "per change").
        baseline: the metric's current level in the same unit family (None when not needed).
        method: how it was computed (the what-if scenario, the model re-scored ...).
        better: "lower" or "higher": which direction of the metric is an improvement.
    """

    metric: str
    value: float
    low: float
    high: float
    unit: str
    horizon: str
    baseline: float | None = None
    method: str = ""
    better: str = "lower"

    def __post_init__(self) -> None:
        """Refuse non-finite numbers and an interval that does not hold the value."""
        nums = {"value": self.value, "low": self.low, "high": self.high}
        bad = [k for k, v in nums.items() if not math.isfinite(float(v))]
        if bad:
            raise DataError(f"expected effect {self.metric!r}: {bad} must be finite")
        if not self.low <= self.value <= self.high:
            raise DataError(
                f"expected effect {self.metric!r}: interval [{self.low}, {self.high}] does not "
                f"hold the value {self.value}"
            )
        if self.better not in ("lower", "higher"):
            raise DataError(f"expected effect {self.metric!r}: better must be lower or higher")

    def benefit(self) -> float:
        """The improvement as a share of the baseline (0 when it would make things worse).

        A "%" effect is already relative; otherwise |value| / |baseline| (1 without a
        baseline). Capped at 1 so one rule cannot swamp the ranking.
        """
        gain = -self.value if self.better == "lower" else self.value
        if gain <= 0:
            return 0.0
        if self.unit == "%":
            rel = gain / 100.0
        elif self.baseline is not None and abs(self.baseline) > 0:
            rel = gain / abs(self.baseline)
        else:
            rel = 1.0
        return float(min(rel, 1.0))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "metric": self.metric,
            "value": _plain(self.value),
            "low": _plain(self.low),
            "high": _plain(self.high),
            "unit": self.unit,
            "horizon": self.horizon,
            "baseline": None if self.baseline is None else _plain(self.baseline),
            "method": self.method,
            "better": self.better,
        }


@dataclass(frozen=True)
class Note:
    """Evidence one rule adds to another rule's record (same target and action): a finding
    that supports or qualifies a recommendation without being one itself."""

    target: Target
    action: str
    evidence: Evidence
    rule: str

    def key(self) -> tuple[tuple[str, ...], str]:
        """The key of the record it belongs to."""
        return self.target.key(), self.action


@dataclass(frozen=True)
class Recommendation:
    """One ranked recommendation: what was found, the evidence, what to do and what it gives.

    `rank` is 0 until `vsmml.recommend.rank` orders a list; `priority` is the ranking key
    (expected benefit × confidence, docs/recommendations.md).
    """

    category: str
    target: Target
    finding: str
    evidence: tuple[Evidence, ...]
    action: str
    params: Mapping[str, str | float | int]
    expected_effect: ExpectedEffect
    confidence: float
    why: str
    rule: str
    rank: int = 0
    extra_effects: tuple[ExpectedEffect, ...] = field(default=())

    def __post_init__(self) -> None:
        """Refuse an unknown category or action, no evidence, or a confidence outside [0, 1]."""
        if self.category not in CATEGORIES:
            raise DataError(f"recommendation: category {self.category!r} not in {CATEGORIES}")
        if self.action not in ACTIONS:
            raise DataError(f"recommendation: action {self.action!r} is not in the catalogue")
        if not self.evidence:
            raise DataError(f"recommendation {self.finding!r}: no evidence, not emitted")
        if not 0.0 <= self.confidence <= 1.0 or not math.isfinite(self.confidence):
            raise DataError(f"recommendation: confidence {self.confidence} not in [0, 1]")

    @property
    def action_text(self) -> str:
        """The catalogue's wording of the action, filled in for this target."""
        return action_text(self.action, {**self.target.to_dict(), **self.params})

    @property
    def priority(self) -> float:
        """Expected benefit (share of the baseline) × confidence."""
        return self.expected_effect.benefit() * self.confidence

    def key(self) -> tuple[tuple[str, ...], str]:
        """The deduplication key: one recommendation per target and action."""
        return self.target.key(), self.action

    def with_rank(self, rank: int) -> Recommendation:
        """The same record at `rank`."""
        return replace(self, rank=rank)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, in the order of the issue's record."""
        return {
            "rank": self.rank,
            "category": self.category,
            "target": self.target.to_dict(),
            "finding": self.finding,
            "evidence": [e.to_dict() for e in self.evidence],
            "action": self.action,
            "action_text": self.action_text,
            "expected_effect": self.expected_effect.to_dict(),
            "other_effects": [e.to_dict() for e in self.extra_effects],
            "confidence": round(self.confidence, 4),
            "priority": round(self.priority, 6),
            "why": self.why,
            "rule": self.rule,
        }
