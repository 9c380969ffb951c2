"""The Recommendations section: the top ranked records with evidence and expected effect."""

from __future__ import annotations

from typing import Final

from vsmml.recommend.engine import RecommendationSet
from vsmml.recommend.format import describe_effect, describe_target
from vsmml.recommend.records import Evidence, Recommendation
from vsmml.report.model import Card, Section, Table

SHOWN_IDS: Final[int] = 5


def _evidence(e: Evidence) -> str:
    span = ""
    if e.since is not None and e.until is not None:
        span = f" ({e.since.date()} .. {e.until.date()})"
    ids = ", ".join(e.event_ids[:SHOWN_IDS])
    more = e.n_events - min(len(e.event_ids), SHOWN_IDS)
    tail = f" and {more} more" if more > 0 else ""
    return f"{e.summary}{span}" + (f"; events: {ids}{tail}" if ids else "")


def _card(r: Recommendation) -> Card:
    e = r.expected_effect
    return Card(
        f"{r.rank}. {r.action_text}",
        f"{r.category} · {describe_target(r.target)} · confidence {r.confidence:.2f}",
        (
            ("Finding", r.finding),
            (
                "Expected effect",
                f"{describe_effect(e)} ({e.method})" if e.method else describe_effect(e),
            ),
            ("Why", r.why),
        ),
        tuple(_evidence(x) for x in r.evidence),
        "Evidence",
    )


def recommendations_section(result: RecommendationSet | None, note: str = "") -> Section:
    """Build the section from the recommender's ranked records (already cut to the top)."""
    if result is None:
        return Section("recommendations", "Recommendations", (note or "Not computed.",))
    recs = result.recommendations
    window = f"{result.since.date()} .. {result.until.date()}"
    if not recs:
        summary: tuple[str, ...] = (f"Nothing found with evidence over {window}.",)
    else:
        first = recs[0]
        summary = (
            f"Do first: {first.action_text} ({describe_target(first.target)}); expected "
            f"{describe_effect(first.expected_effect)}.",
            f"{len(recs)} recommendation(s) from the four weeks {window}, ranked by expected "
            "benefit × confidence.",
        )
    table = Table(
        "Recommendations, ranked",
        ("#", "category", "target", "action", "expected effect", "confidence"),
        tuple(
            (
                str(r.rank),
                r.category,
                describe_target(r.target),
                r.action_text,
                describe_effect(r.expected_effect),
                f"{r.confidence:.2f}",
            )
            for r in recs
        ),
        tuple(
            (
                r.rank,
                r.category,
                describe_target(r.target),
                r.action,
                r.expected_effect.value,
                r.confidence,
            )
            for r in recs
        ),
    )
    notes = []
    if result.skipped:
        notes.append(
            "rules not run: " + "; ".join(f"{k}: {v}" for k, v in sorted(result.skipped.items()))
        )
    if result.unnamed:
        notes.append(f"{result.unnamed} finding(s) dropped: their evidence named no event")
    if note:
        notes.append(note)
    facts = {
        "since": result.since.isoformat(),
        "until": result.until.isoformat(),
        "records": result.to_list(),
    }
    return Section(
        "recommendations",
        "Recommendations",
        summary,
        facts,
        (table,) if recs else (),
        (),
        tuple(notes),
        tuple(_card(r) for r in recs),
    )
