"""Render recommendations as a plain-text table or Markdown (pure: records in, text out)."""

from __future__ import annotations

from typing import Final

from vsmml.recommend.engine import RecommendationSet
from vsmml.recommend.records import ExpectedEffect, Recommendation, Target

SHOWN_IDS: Final[int] = 5


def _num(v: float, unit: str) -> str:
    if unit == "%":
        return f"{v:+.1f}%"
    if unit in ("probability", "share"):
        return f"{100 * v:+.1f} pp"
    if unit == "share of budget":
        return f"{100 * v:+.0f}% of budget"
    if unit == "h":
        return f"{v:+.1f} h"
    return f"{v:+,.1f} {unit}"


def describe_effect(e: ExpectedEffect) -> str:
    """One line: ``median lead time -12.0% [-15.1%, -8.3%], next 4 weeks`` (probabilities and
    shares in percentage points)."""
    interval = f"[{_num(e.low, e.unit)}, {_num(e.high, e.unit)}]"
    return f"{e.metric} {_num(e.value, e.unit)} {interval}, {e.horizon}"


def effect_first(e: ExpectedEffect) -> str:
    """The numbers first: ``-12.0% [-15.1%, -8.3%] median lead time, next 4 weeks``."""
    interval = f"[{_num(e.low, e.unit)}, {_num(e.high, e.unit)}]"
    return f"{_num(e.value, e.unit)} {interval} {e.metric}, {e.horizon}"


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


def to_table(result: RecommendationSet) -> str:
    """Two lines per recommendation: rank, category, target and the action; then the expected
    effect (numbers first) and the confidence."""
    pad = " " * 46
    lines = [
        f"recommendations for {result.since.date()} .. {result.until.date()} ({len(result)} shown)",
        f"{'#':>3}  {'category':<11} {'target':<28} action",
        f"{pad}expected effect · confidence",
        "-" * 100,
    ]
    for r in result.recommendations:
        lines.append(
            f"{r.rank:>3}  {r.category:<11} {_cell(describe_target(r.target), 28):<28} "
            f"{r.action_text}"
        )
        lines.append(f"{pad}{effect_first(r.expected_effect)} · {r.confidence:.2f}")
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
