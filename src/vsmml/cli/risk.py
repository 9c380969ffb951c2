"""`vsmml risk`: batch scoring of every stored change with the champion risk model.

Thin: `vsmml.pipeline.batch_scoring.score_stored` (or its Dask twin) does the work; this module
parses options and prints the riskiest changes, or writes every score (csv/json) for scripts.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.engine import ENGINE_HELP, SCHEDULER_HELP, Engine, check_engine, say_run
from vsmml.cli.params import utc_instant

if TYPE_CHECKING:
    import pandas as pd


class Format(enum.StrEnum):
    """The riskiest changes as a table, or every scored change as data (csv/json)."""

    table = "table"
    csv = "csv"
    json = "json"


def render(frame: pd.DataFrame, fmt: Format) -> str:
    """Deterministic csv/json of the scores (ISO UTC times, 10 significant digits)."""
    out = frame.copy()
    for col in ("merged_at", "production_deploy_started_at"):
        out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if fmt is Format.csv:
        return str(out.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    return str(out.to_json(orient="records", double_precision=10)) + "\n"


@app.command()
def risk(
    since: Annotated[str | None, typer.Option(help="Changes merged at or after (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Changes merged before (UTC).")] = None,
    service: Annotated[str | None, typer.Option(help="One service's changes.")] = None,
    top: Annotated[int, typer.Option(min=0, max=1000, help="Riskiest changes shown.")] = 10,
    model: Annotated[Path | None, typer.Option(help="Score with this model folder.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    engine: Annotated[Engine, typer.Option(help=ENGINE_HELP)] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
) -> None:
    """Score every stored change's failure risk with the champion model (batch scoring)."""
    from vsmml.pipeline.batch_scoring import RiskQuery, score_stored

    check_engine(engine, scheduler)
    query = RiskQuery(
        utc_instant(since, "--since"), utc_instant(until, "--until"), service, model, top
    )
    if engine is Engine.dask:
        from vsmml.pipeline.distributed.scoring import score_stored_dask

        done = score_stored_dask(query, scheduler=scheduler)
        report = done.report
        say_run(done.run.describe())
    else:
        report = score_stored(query)
    if fmt is not Format.table:
        sys.stdout.write(render(report.scored, fmt))
        return
    from vsmml.cli.output import heading, table

    scored = report.scored
    failing = int((scored["gate"] == "fail").sum())
    heading(f"Change-failure risk, model {report.model}")
    typer.echo(
        f"{len(scored):,} changes scored; {failing:,} at or above the threshold "
        f"{report.threshold:.2f} (would fail the gate)"
    )
    heading(f"The {len(report.riskiest)} riskiest")
    table(report.riskiest)
