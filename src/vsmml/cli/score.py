"""`vsmml score`: gate a pipeline on a change's calibrated failure risk (exit 0 pass, 1 fail).

Thin: the options come from the change-metric table (`--la`, `--nf` ... with their help), the
work is `vsmml.pipeline.scoring.score_changes`, and this module only formats. Exit codes: 0
every change passes, 1 a change scores at or above the threshold, 2 the input (or the model) is
unusable. The path imports no pandas, lightgbm or mlflow, so the command starts quickly.
"""

from __future__ import annotations

import enum
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vsmml.cli.app import app
from vsmml.cli.text import safe
from vsmml.pipeline.scoring import JIT_METRICS, ScoreReport, ScoreRequest, score_changes


class Format(enum.StrEnum):
    """Output formats: text for people, json for scripts."""

    text = "text"
    json = "json"


def _json_float(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _as_json(report: ScoreReport) -> str:
    loc = report.location
    doc = {
        "model": {
            "name": loc.name,
            "version": loc.version,
            "source": loc.source,
            "path": str(loc.path),
        },
        "threshold": report.threshold,
        "decision": "fail" if report.failed else "pass",
        "ignored_fields": report.ignored_fields,
        "changes": [
            {
                "probability": c.probability,
                "raw_score": c.raw_score,
                "decision": c.decision,
                "reasons": [
                    {
                        "feature": x.feature,
                        "value": _json_float(x.value),
                        "contribution": x.contribution,
                        "text": x.text,
                    }
                    for x in c.reasons
                ],
            }
            for c in report.changes
        ],
    }
    return json.dumps(doc, indent=2)


def _as_text(report: ScoreReport) -> list[str]:
    lines = []
    many = len(report.changes) > 1
    for i, c in enumerate(report.changes):
        label = f"change {i}: " if many else ""
        verdict = "FAIL" if c.failed else "PASS"
        limit = f"threshold {report.threshold:.0%}"
        lines.append(f"{label}failure risk {c.probability:.1%} ({limit}) -> {verdict}")
        if c.reasons:
            lines.append("top reasons (log-odds push):")
        for x in c.reasons:
            direction = "raises" if x.contribution > 0 else "lowers"
            lines.append(f"  {x.contribution:+.2f}  {direction} risk: {safe(x.text)}")
    loc = report.location
    lines.append(f"model: {loc.name} v{safe(loc.version)} ({loc.source}, {safe(loc.path)})")
    if report.ignored_fields:
        lines.append(f"ignored fields (not model inputs): {safe(', '.join(report.ignored_fields))}")
    return lines


def score(**options: Any) -> None:
    """Score a change's failure risk, give the top reasons, and pass or fail it by exit code."""
    values = {m.name: options.pop(m.name) for m in JIT_METRICS}
    fmt: Format = options.pop("fmt")
    request = ScoreRequest(
        change=options["change"],
        values=values,
        pairs=tuple(options["extra"]),
        threshold=options["threshold"],
        top=options["top"],
        model=options["model"],
    )
    report = score_changes(request, read_stdin=sys.stdin.read)
    if fmt is Format.json:
        typer.echo(_as_json(report))
    else:
        typer.echo("\n".join(_as_text(report)))
    raise typer.Exit(report.exit_code)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


_PARAMETERS = [
    _parameter(
        "change",
        Annotated[
            str | None,
            typer.Option(
                "--change", help="JSON file describing the change (object or list), '-' = stdin."
            ),
        ],
        None,
    ),
    *[
        _parameter(
            m.name,
            Annotated[
                float | None, typer.Option(help=f"{m.help[0].upper()}{m.help[1:]} ({m.unit}).")
            ],
            None,
        )
        for m in JIT_METRICS
    ],
    _parameter(
        "extra",
        Annotated[
            list[str],
            typer.Option(
                "--set", help="Any other model input (delivery context) as NAME=VALUE; repeatable."
            ),
        ],
        [],
    ),
    _parameter(
        "threshold",
        Annotated[
            float | None,
            typer.Option(
                help="Fail at or above this probability (default: the model's, else 0.5)."
            ),
        ],
        None,
    ),
    _parameter(
        "top", Annotated[int, typer.Option(min=0, max=50, help="How many reasons to show.")], 5
    ),
    _parameter(
        "model",
        Annotated[Path | None, typer.Option(help="Score with this model folder instead.")],
        None,
    ),
    _parameter(
        "fmt",
        Annotated[Format, typer.Option("--format", help="Output: text or json.")],
        Format.text,
    ),
]
score.__signature__ = inspect.Signature(_PARAMETERS)  # type: ignore[attr-defined]
score.__annotations__ = {p.name: p.annotation for p in _PARAMETERS} | {"return": None}
app.command()(score)
