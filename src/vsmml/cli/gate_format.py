"""Formats of the release gate's answer: text for people, JSON for scripts, GitHub workflow
commands (``::error``/``::warning``/``::notice`` lines) for Actions annotations."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from vsmml.cli.text import safe

if TYPE_CHECKING:
    from vsmml.pipeline.gate import GateReport


def _num(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def as_dict(r: GateReport) -> dict[str, Any]:
    """Every field of the answer as plain JSON values (`inputs`: null where unknown)."""
    loc = r.location
    return {
        "sha": r.sha,
        "repository": str(r.repo),
        "model": {
            "name": loc.name,
            "version": loc.version,
            "source": loc.source,
            "path": str(loc.path),
        },
        "threshold": r.threshold,
        "probability": r.probability,
        "band": r.band,
        "decision": r.decision,
        "reasons": [
            {"feature": x.feature, "value": x.value, "contribution": x.contribution, "text": x.text}
            for x in r.reasons
        ],
        "what_would_lower": [c.to_dict() for c in r.lowering],
        "unknown": r.unknown,
        "inputs": {k: _num(v) for k, v in r.inputs.items()},
        "context": {
            "source": r.context.source,
            "service": r.context.service,
            "change_id": r.context.change_id,
            "values": {k: _num(v) for k, v in r.context.values.items()},
            "notes": list(r.context.notes),
        },
        "mining": {
            "how": r.mining.how,
            "commits_read": r.mining.commits_read,
            "seconds": round(r.mining.seconds, 4),
        },
        "waiver": r.waiver,
    }


def as_json(r: GateReport) -> str:
    """The JSON document of the answer."""
    return json.dumps(as_dict(r), indent=2)


def _lowering(r: GateReport) -> list[str]:
    out = []
    for c in r.lowering:
        extra = f" per piece ({c.any_piece:.2f} that any piece fails)" if c.any_piece else ""
        out.append(f"{c.description}: {c.probability:.2f} -> {c.new_probability:.2f}{extra}")
    return out


def as_text(r: GateReport) -> list[str]:
    """Lines for a terminal."""
    verdict = {"pass": "PASS", "fail": "FAIL", "waived": "WAIVED"}[r.decision]
    loc = r.location
    lines = [
        f"release gate {r.sha[:12]} ({safe(r.repo)}): {verdict}",
        f"failure risk {r.probability:.1%} ({r.band}; the gate fails at {r.threshold:.0%})",
    ]
    if r.reasons:
        lines.append("top reasons (log-odds push):")
    for x in r.reasons:
        direction = "raises" if x.contribution > 0 else "lowers"
        lines.append(f"  {x.contribution:+.2f}  {direction} risk: {safe(x.text)}")
    if r.lowering:
        lines.append("what would lower the risk:")
        lines += [f"  {safe(t)}" for t in _lowering(r)]
    if r.unknown:
        lines.append(f"unknown (not used as reasons): {', '.join(r.unknown)}")
    ctx = r.context
    known = {k: v for k, v in ctx.values.items() if v is not None}
    shown = ", ".join(f"{k} {v:.3g}" for k, v in known.items()) or "none known"
    lines.append(
        f"delivery context ({safe(ctx.source)}; service {safe(ctx.service or '?')}): {shown}"
    )
    lines += [f"  note: {safe(n)}" for n in ctx.notes]
    if r.waiver:
        w = r.waiver
        lines.append(
            f"waived by {safe(w['actor'])}: {safe(w['reason'])} ({w['stored']}, {w['event_id']})"
        )
    m = r.mining
    lines.append(f"metrics: {m.how} ({m.commits_read:,} commits read, {m.seconds:.2f} s)")
    lines.append(f"model: {loc.name} v{safe(loc.version)} ({loc.source}, {safe(loc.path)})")
    return lines


def _escape(text: str) -> str:
    """GitHub workflow-command data escaping (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def as_github(r: GateReport) -> list[str]:
    """``::error`` for a failed gate, ``::warning`` for a waived one or a medium band,
    ``::notice`` otherwise; one ``::notice`` each for the reasons and what would lower it."""
    level = {"fail": "error", "waived": "warning"}.get(r.decision)
    level = level or ("warning" if r.band == "medium" else "notice")
    why = "; ".join(x.text for x in r.reasons[:3])
    head = (
        f"failure risk {r.probability:.1%} for {r.sha[:12]} ({r.band}, gate {r.threshold:.0%}): "
        f"{r.decision}" + (f" - {why}" if why else "")
    )
    lines = [f"::{level} title=vsmml release gate::{_escape(safe(head))}"]
    if r.lowering:
        text = _escape(safe("; ".join(_lowering(r))))
        lines.append(f"::notice title=vsmml: what would lower the risk::{text}")
    if r.unknown:
        lines.append(f"::notice title=vsmml: unknown inputs::{_escape(', '.join(r.unknown))}")
    if r.waiver:
        w = r.waiver
        lines.append(
            f"::warning title=vsmml: gate waived::{_escape(safe(w['actor'] + ': ' + w['reason']))}"
        )
    return lines
