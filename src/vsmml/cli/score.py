"""`vsmml score`: gate a pipeline on a change's calibrated failure risk (exit 0 pass, 1 fail).

Two ways in: `--repo PATH [--sha SHA]` gates a real commit (`vsmml.pipeline.gate.gate`: the
commit's metrics mined from its repository, the delivery context from the store, a waiver with
`--waive`), or the change's metrics as options / JSON (`vsmml.pipeline.scoring.score_changes`).
Thin: the options come from the change-metric table (`--la`, `--nf` ... with their help); this
module only formats (`vsmml.cli.gate_format` for the commit gate). Exit codes: 0 pass (or
waived), 1 a change scores at or above the threshold, 2 the input (or the model) is unusable.
The path imports no pandas, lightgbm or mlflow, so the command starts quickly.
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
from vsmml.pipeline.scoring import (
    JIT_METRICS,
    BadChangeError,
    ScoreReport,
    ScoreRequest,
    score_changes,
)


class Format(enum.StrEnum):
    """Output formats: text for people, json for scripts, github for Actions annotations."""

    text = "text"
    json = "json"
    github = "github"


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


def _as_github(report: ScoreReport) -> list[str]:
    lines = []
    for i, c in enumerate(report.changes):
        level = "error" if c.failed else "notice"
        why = "; ".join(x.text for x in c.reasons[:3])
        text = f"change {i}: failure risk {c.probability:.1%} (gate {report.threshold:.0%})"
        text += f": {c.decision}" + (f" - {why}" if why else "")
        lines.append(f"::{level} title=vsmml release gate::{safe(text).replace('%', '%25')}")
    return lines


def _gate(options: dict[str, Any], fmt: Format) -> None:
    """`--repo`: gate a real commit."""
    import os

    from vsmml.cli import gate_format
    from vsmml.pipeline.gate import GateRequest, gate

    given = [m.name for m in JIT_METRICS if options.get(m.name) is not None]
    if given or options["change"] is not None or options["extra"]:
        raise BadChangeError(
            "--repo mines the commit's metrics itself: drop --change/--set/--" + "/--".join(given)
            if given
            else "--repo mines the commit's metrics itself: drop --change/--set"
        )
    threshold = options["fail_above"] if options["fail_above"] is not None else options["threshold"]
    report = gate(
        GateRequest(
            repo=options["repo"],
            sha=options["sha"],
            fail_above=threshold,
            top=options["top"],
            model=options["model"],
            service=options["service"],
            waive=options["waive"],
            actor=options["actor"],
            environ=dict(os.environ),
        )
    )
    if fmt is Format.json:
        typer.echo(gate_format.as_json(report))
    elif fmt is Format.github:
        typer.echo("\n".join(gate_format.as_github(report)))
    else:
        typer.echo("\n".join(gate_format.as_text(report)))
    raise typer.Exit(report.exit_code)


def score(**options: Any) -> None:
    """Score a change's failure risk, give the top reasons, and pass or fail it by exit code.

    `--repo PATH [--sha SHA]` gates a commit of a local repository (metrics mined from its
    history, context from the store); otherwise give the change's metrics as options or JSON.
    """
    fmt: Format = options.pop("fmt")
    if options["repo"] is not None:
        _gate(options, fmt)
    for name in ("sha", "service", "waive", "actor"):
        if options[name] not in (None, "HEAD"):
            raise BadChangeError(f"--{name} needs --repo (it gates a commit)")
    values = {m.name: options.pop(m.name) for m in JIT_METRICS}
    threshold = options["fail_above"] if options["fail_above"] is not None else options["threshold"]
    request = ScoreRequest(
        change=options["change"],
        values=values,
        pairs=tuple(options["extra"]),
        threshold=threshold,
        top=options["top"],
        model=options["model"],
    )
    report = score_changes(request, read_stdin=sys.stdin.read)
    if fmt is Format.json:
        typer.echo(_as_json(report))
    elif fmt is Format.github:
        typer.echo("\n".join(_as_github(report)))
    else:
        typer.echo("\n".join(_as_text(report)))
    raise typer.Exit(report.exit_code)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


_PARAMETERS = [
    _parameter(
        "repo",
        Annotated[
            Path | None,
            typer.Option(help="Gate a commit of this local git repository (mines its metrics)."),
        ],
        None,
    ),
    _parameter(
        "sha",
        Annotated[str, typer.Option(help="The commit to gate with --repo (default HEAD).")],
        "HEAD",
    ),
    _parameter(
        "service",
        Annotated[
            str | None,
            typer.Option(help="The commit's service, when the store does not know it (--repo)."),
        ],
        None,
    ),
    _parameter(
        "fail_above",
        Annotated[
            float | None,
            typer.Option(
                "--fail-above", help="Fail at or above this probability (same as --threshold)."
            ),
        ],
        None,
    ),
    _parameter(
        "waive",
        Annotated[
            str | None,
            typer.Option(help="Pass a failed gate: the reason, stored as a gate.waived event."),
        ],
        None,
    ),
    _parameter(
        "actor",
        Annotated[
            str | None,
            typer.Option(help="Who waives (default: GITHUB_ACTOR or GITLAB_USER_LOGIN)."),
        ],
        None,
    ),
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
        Annotated[Format, typer.Option("--format", help="Output: text, json or github.")],
        Format.text,
    ),
]
score.__signature__ = inspect.Signature(_PARAMETERS)  # type: ignore[attr-defined]
score.__annotations__ = {p.name: p.annotation for p in _PARAMETERS} | {"return": None}
app.command()(score)
