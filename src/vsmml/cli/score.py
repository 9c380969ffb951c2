"""`vsmml score`: gate a pipeline on a change's calibrated failure risk (exit 0 pass, 1 fail).

Scores through `vsmml.pipeline.models` (the champion export, else the committed default model)
with the numpy tree evaluator: no mlflow, no lightgbm, so the command starts quickly.
Exit codes: 0 every change passes, 1 a change scores at or above the threshold, 2 the input
(or the model) is unusable.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from vsmml.cli.app import app

JIT_OPTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("ns", "subsystems touched"),
    ("nd", "directories touched"),
    ("nf", "files touched"),
    ("entropy", "spread of the edits over the files"),
    ("la", "lines added"),
    ("ld", "lines deleted"),
    ("lt", "lines in the touched files before the change"),
    ("fix", "1 if the change fixes a bug"),
    ("ndev", "developers who changed the touched files before"),
    ("age", "mean days since the touched files last changed"),
    ("nuc", "earlier changes to the touched files"),
    ("exp", "author's earlier changes"),
    ("rexp", "author's recent experience"),
    ("sexp", "author's earlier changes in these subsystems"),
)
EXIT_PASS: Final[int] = 0
EXIT_FAIL: Final[int] = 1
EXIT_BAD_INPUT: Final[int] = 2


class BadInputError(ValueError):
    """The change description cannot be scored; the message names the field and record."""


def _number(value: Any, field: str, record: int) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise BadInputError(
        f"change {record}: '{field}' must be a number, true/false or null, got {value!r}"
    )


def _records(text: str, source: str) -> list[dict[str, Any]]:
    """One dict per change from JSON: an object, a list of objects or {"changes": [...]}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{source}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("changes"), list):
        data = data["changes"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) for i in items):
        raise BadInputError(f"{source}: expected a JSON object or a non-empty list of objects")
    return items


def _pairs(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise BadInputError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            out[key.strip()] = float(raw)
        except ValueError as exc:
            raise BadInputError(f"--set {key}: value must be a number, got {raw!r}") from exc
    return out


def read_changes(
    change: str | None, flags: dict[str, float | None], extra: list[str]
) -> list[dict[str, Any]]:
    """The changes to score: from the file (or stdin for ``-``), overridden by flags."""
    records: list[dict[str, Any]] = [{}]
    if change == "-":
        records = _records(sys.stdin.read(), "stdin")
    elif change is not None:
        path = Path(change)
        if not path.is_file():
            raise BadInputError(f"--change: no such file {change!r}")
        records = _records(path.read_text(encoding="utf-8"), change)
    overrides = {k: v for k, v in flags.items() if v is not None} | _pairs(extra)
    return [r | overrides for r in records]


def _columns(
    records: list[dict[str, Any]], inputs: list[str]
) -> tuple[dict[str, list[float]], list[str]]:
    """Model input columns from the records, and the record keys the model does not use."""
    known = set(inputs)
    ignored = sorted({k for r in records for k in r if k not in known})
    if not any(k in known for r in records for k in r):
        raise BadInputError(
            f"no model input given; the model reads {inputs} (e.g. --la 120 --ld 30 --nf 4)"
        )
    cols = {c: [_number(r.get(c), c, i) for i, r in enumerate(records)] for c in inputs}
    return cols, ignored


def _fail(message: str) -> typer.Exit:
    typer.echo(f"vsmml score: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _json_float(v: float) -> float | None:
    return v if math.isfinite(v) else None


@app.command()
def score(
    change: str | None = typer.Option(
        None, "--change", help="JSON file describing the change (object or list), '-' = stdin."
    ),
    ns: float | None = typer.Option(None, help="Subsystems touched."),
    nd: float | None = typer.Option(None, help="Directories touched."),
    nf: float | None = typer.Option(None, help="Files touched."),
    entropy: float | None = typer.Option(None, help="Spread of the edits over the files."),
    la: float | None = typer.Option(None, help="Lines added."),
    ld: float | None = typer.Option(None, help="Lines deleted."),
    lt: float | None = typer.Option(None, help="Lines in the touched files before the change."),
    fix: float | None = typer.Option(None, help="1 if the change fixes a bug, else 0."),
    ndev: float | None = typer.Option(None, help="Developers who changed these files before."),
    age: float | None = typer.Option(None, help="Mean days since the files last changed."),
    nuc: float | None = typer.Option(None, help="Earlier changes to the touched files."),
    exp: float | None = typer.Option(None, help="Author's earlier changes."),
    rexp: float | None = typer.Option(None, help="Author's recent experience."),
    sexp: float | None = typer.Option(None, help="Author's earlier changes in these subsystems."),
    extra: list[str] = typer.Option(  # noqa: B008
        [], "--set", help="Any other model input (delivery context) as NAME=VALUE; repeatable."
    ),
    threshold: float | None = typer.Option(
        None, help="Fail at or above this probability (default: the model's, else 0.5)."
    ),
    top: int = typer.Option(5, min=0, help="How many reasons to show."),
    model: Annotated[
        Path | None, typer.Option(help="Score with this model folder instead.")
    ] = None,
    fmt: str = typer.Option("text", "--format", help="Output: text or json."),
) -> None:
    """Score a change's failure risk, give the top reasons, and pass or fail it by exit code."""
    from vsmml.errors import VsmmlError
    from vsmml.pipeline.models import load_risk_scorer

    if fmt not in {"text", "json"}:
        raise _fail(f"--format must be 'text' or 'json', got {fmt!r}")
    flags = dict(
        zip(
            [n for n, _ in JIT_OPTIONS],
            [ns, nd, nf, entropy, la, ld, lt, fix, ndev, age, nuc, exp, rexp, sexp],
            strict=True,
        )
    )
    try:
        records = read_changes(change, flags, extra)
        scorer, loc = load_risk_scorer(path=model)
        cols, ignored = _columns(records, scorer.input_columns)
        results = scorer.score(cols, top=top)
    except (BadInputError, VsmmlError, OSError) as exc:
        raise _fail(str(exc)) from exc
    limit = scorer.threshold if threshold is None else threshold
    failed = [r.probability >= limit for r in results]
    if fmt == "json":
        doc = {
            "model": {
                "name": loc.name,
                "version": loc.version,
                "source": loc.source,
                "path": str(loc.path),
            },
            "threshold": limit,
            "decision": "fail" if any(failed) else "pass",
            "ignored_fields": ignored,
            "changes": [
                {
                    "probability": r.probability,
                    "raw_score": r.raw_score,
                    "decision": "fail" if f else "pass",
                    "reasons": [
                        {
                            "feature": x.feature,
                            "value": _json_float(x.value),
                            "contribution": x.contribution,
                            "text": x.text,
                        }
                        for x in r.reasons
                    ],
                }
                for r, f in zip(results, failed, strict=True)
            ],
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        for i, (r, f) in enumerate(zip(results, failed, strict=True)):
            label = f"change {i}: " if len(results) > 1 else ""
            verdict = "FAIL" if f else "PASS"
            typer.echo(
                f"{label}failure risk {r.probability:.1%} (threshold {limit:.0%}) -> {verdict}"
            )
            if r.reasons:
                typer.echo("top reasons (log-odds push):")
            for x in r.reasons:
                direction = "raises" if x.contribution > 0 else "lowers"
                typer.echo(f"  {x.contribution:+.2f}  {direction} risk: {x.text}")
        typer.echo(f"model: {loc.name} v{loc.version} ({loc.source}, {loc.path})")
        if ignored:
            typer.echo(f"ignored fields (not model inputs): {', '.join(ignored)}")
    raise typer.Exit(EXIT_FAIL if any(failed) else EXIT_PASS)
