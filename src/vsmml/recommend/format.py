"""Render recommendations as a plain-text table or Markdown (pure: records in, text out)."""

from __future__ import annotations

from typing import Final

from vsmml.recommend.engine import RecommendationSet
from vsmml.recommend.records import ExpectedEffect, Recommendation, Target

SHOWN_IDS: Final[int] = 5


def _num(v: float, unit: str) -> str:
    if unit == "%":
        return f"{v:+.1f}%"
    if unit in ("probability", "share", "share of budget"):
        return f"{v:+.3f}"
    return f"{v:+,.1f}"


def describe_effect(e: ExpectedEffect) -> str:
    """One line: ``-12.0% median lead time [-15.1%, -8.3%], next 4 weeks``."""
    unit = "" if e.unit in ("%",) else f" {e.unit}"
    return (
        f"{_num(e.value, e.unit)}{unit} {e.metric} "
        f"[{_num(e.low, e.unit)}, {_num(e.high, e.unit)}], {e.horizon}"
    )


def describe_target(t: Target) -> str:
    """``checkout / review``, ``change c-12 (checkout)`` or ``source jenkins``."""
    if t.change:
        return f"change {t.change}" + (f" ({t.service})" if t.service else "")
    if t.source:
        return f"source {t.source}"
    parts = [p for p in (t.service, t.stage) if p]
    return " / ".join(parts) if parts else (t.team or "organisation")


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def to_table(result: RecommendationSet, *, width: int = 60) -> str:
    """A fixed-width table, one row per recommendation, and a line naming the window."""
    head = f"{'#':>3}  {'category':<11} {'target':<26} {'action':<{width}} {'effect':<44} conf"
    lines = [
        f"recommendations for {result.since.date()} .. {result.until.date()} ({len(result)} shown)",
        head,
        "-" * len(head),
    ]
    for r in result.recommendations:
        lines.append(
            f"{r.rank:>3}  {r.category:<11} {_cell(describe_target(r.target), 26):<26} "
            f"{_cell(r.action_text, width):<{width}} "
            f"{_cell(describe_effect(r.expected_effect), 44):<44} {r.confidence:.2f}"
        )
    if not result.recommendations:
        lines.append("  (nothing found with evidence in this window)")
    lines.extend(_footer(result))
    return "\n".join(lines)


def _footer(result: RecommendationSet) -> list[str]:
    out = []
    if result.skipped:
        skipped = "; ".join(f"{k}: {v}" for k, v in sorted(result.skipped.items()))
        out.append(f"rules not run: {skipped}")
    if result.unnamed:
        out.append(f"{result.unnamed} finding(s) dropped: their evidence named no event")
    return out


def _evidence_md(r: Recommendation) -> list[str]:
    lines = []
    for e in r.evidence:
        span = f"{e.since.date() if e.since is not None else '?'} .. "
        span += f"{e.until.date() if e.until is not None else '?'}"
        ids = ", ".join(f"`{i}`" for i in e.event_ids[:SHOWN_IDS])
        more = e.n_events - min(len(e.event_ids), SHOWN_IDS)
        tail = f" and {more} more" if more > 0 else ""
        lines.append(f"  - {e.summary} ({span}){': ' + ids + tail if ids else ''}")
    return lines


def to_markdown(result: RecommendationSet) -> str:
    """A Markdown list: action, finding, effect, confidence, why and the evidence per record."""
    lines = [f"## Recommendations, {result.since.date()} .. {result.until.date()}", ""]
    for r in result.recommendations:
        lines += [
            f"### {r.rank}. {r.action_text}",
            "",
            f"*{r.category}* · {describe_target(r.target)} · confidence {r.confidence:.2f}",
            "",
            f"- **Finding:** {r.finding}",
            f"- **Expected effect:** {describe_effect(r.expected_effect)} "
            f"({r.expected_effect.method})",
            f"- **Why:** {r.why}",
            "- **Evidence:**",
            *_evidence_md(r),
            "",
        ]
    if not result.recommendations:
        lines += ["Nothing found with evidence in this window.", ""]
    lines += [f"_{line}_" for line in _footer(result)]
    return "\n".join(lines).rstrip() + "\n"
