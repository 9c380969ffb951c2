"""Run the rules, merge duplicates (one per target and action), rank and filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pandas as pd

from vsmml.errors import DataError
from vsmml.recommend.context import Context
from vsmml.recommend.inputs import Inputs
from vsmml.recommend.records import CATEGORIES, Note, Recommendation
from vsmml.recommend.rules import DEFAULT_RULES
from vsmml.recommend.rules.base import Rule

MAX_MERGED_EVIDENCE: Final[int] = 8
"""A merged record keeps at most this many evidence items (the best record's first)."""


@dataclass
class RecommendationSet:
    """The ranked records, the window they describe and the rules that could not run."""

    recommendations: list[Recommendation]
    since: pd.Timestamp
    until: pd.Timestamp
    skipped: dict[str, str] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    unnamed: int = 0
    """Records dropped because no evidence item names an event (no generic advice)."""

    def __len__(self) -> int:
        return len(self.recommendations)

    def to_list(self) -> list[dict[str, Any]]:
        """The records as plain JSON values (what ``--format json`` prints)."""
        return [r.to_dict() for r in self.recommendations]


def merge(recs: Sequence[Recommendation]) -> list[Recommendation]:
    """One record per (target, action): the highest-priority one, with the others' evidence,
    reasons and effects added (evidence items with the same summary appear once)."""
    groups: dict[tuple[tuple[str, ...], str], list[Recommendation]] = {}
    for r in recs:
        groups.setdefault(r.key(), []).append(r)
    out = []
    for group in groups.values():
        group = sorted(group, key=lambda r: -r.priority)
        best = group[0]
        if len(group) == 1:
            out.append(best)
            continue
        seen = {e.summary for e in best.evidence}
        evidence = list(best.evidence)
        for other in group[1:]:
            for e in other.evidence:
                if e.summary not in seen:
                    seen.add(e.summary)
                    evidence.append(e)
        rules = list(dict.fromkeys(r.rule for r in group))
        whys = list(dict.fromkeys(r.why for r in group))
        out.append(
            replace(
                best,
                evidence=tuple(evidence[:MAX_MERGED_EVIDENCE]),
                rule="+".join(rules),
                why="; ".join(whys),
                extra_effects=(
                    *best.extra_effects,
                    *[o.expected_effect for o in group[1:]],
                ),
            )
        )
    return out


def attach(recs: Sequence[Recommendation], notes: Sequence[Note]) -> list[Recommendation]:
    """Add each note's evidence to the record with its target and action (notes without one
    are dropped: a note is not a recommendation)."""
    by_key: dict[tuple[tuple[str, ...], str], list[Note]] = {}
    for n in notes:
        by_key.setdefault(n.key(), []).append(n)
    out = []
    for r in recs:
        mine = by_key.get(r.key(), [])
        if not mine:
            out.append(r)
            continue
        seen = {e.summary for e in r.evidence}
        extra = [n.evidence for n in mine if n.evidence.summary not in seen]
        rules = list(dict.fromkeys([*r.rule.split("+"), *(n.rule for n in mine)]))
        evidence = (*r.evidence, *extra)[: max(MAX_MERGED_EVIDENCE, len(r.evidence))]
        out.append(replace(r, evidence=evidence, rule="+".join(rules)))
    return out


def _order_key(r: Recommendation) -> tuple[float, int, tuple[str, ...], str]:
    return (-r.priority, CATEGORIES.index(r.category), r.target.key(), r.action)


def rank(recs: Sequence[Recommendation]) -> list[Recommendation]:
    """Order by priority (expected benefit × confidence), then category, target and action;
    ranks start at 1."""
    ordered = sorted(recs, key=_order_key)
    return [r.with_rank(i) for i, r in enumerate(ordered, start=1)]


def _keep(r: Recommendation, service: str | None, team: str | None) -> bool:
    if service is not None and r.target.service != service:
        return False
    return team is None or r.target.team == team


def recommend(
    inputs: Inputs,
    *,
    rules: Sequence[Rule] | None = None,
    service: str | None = None,
    team: str | None = None,
    top: int | None = None,
    category: str | None = None,
    seed: int = 0,
) -> RecommendationSet:
    """Ranked recommendations for the window of `inputs`.

    A record whose evidence names no event is dropped and counted (`unnamed`): a finding that
    cannot point at what happened is not emitted.

    Args:
        inputs: the window and whatever frames and results are available.
        rules: the rules to run (default `DEFAULT_RULES`).
        service, team: keep only recommendations about this service / team (not both).
        top: keep the first `top` after ranking.
        category: keep only one category.
        seed: seeds every bootstrap (same inputs and seed, same records).
    """
    if service is not None and team is not None:
        raise DataError("give --service or --team, not both")
    if top is not None and top < 1:
        raise DataError(f"top: must be >= 1, got {top}")
    if category is not None and category not in CATEGORIES:
        raise DataError(f"category: {category!r} is not one of {list(CATEGORIES)}")
    ctx = Context(inputs, seed=seed)
    found: list[Recommendation] = []
    notes: list[Note] = []
    skipped: dict[str, str] = {}
    fired: dict[str, int] = {}
    for rule in DEFAULT_RULES if rules is None else rules:
        reason = rule.missing(ctx)
        if reason is not None:
            skipped[rule.name] = reason
            continue
        recs = rule.run(ctx)
        fired[rule.name] = len(recs)
        found.extend(recs)
        notes.extend(rule.notes(ctx))
    named = [r for r in found if any(e.event_ids for e in r.evidence)]
    kept = [
        r
        for r in attach(merge(named), notes)
        if _keep(r, service, team) and (category is None or r.category == category)
    ]
    ranked = rank(kept)
    if top is not None:
        ranked = ranked[:top]
    return RecommendationSet(
        ranked, inputs.since, inputs.until, skipped, fired, len(found) - len(named)
    )
