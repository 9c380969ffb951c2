"""`vsmml bottlenecks` and `vsmml whatif`: the value-stream constraint and what-if from the store.

Thin: `vsmml.pipeline.queries.flow` reads, correlates and computes; this module formats.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.params import finite

if TYPE_CHECKING:
    import pandas as pd


class By(enum.StrEnum):
    """Grouping of `vsmml bottlenecks`."""

    service = "service"
    week = "week"
    team = "team"
    org = "org"


class Format(enum.StrEnum):
    """Output formats: a readable table, or data only for scripts."""

    table = "table"
    csv = "csv"
    json = "json"


def _emit(frame: pd.DataFrame, fmt: Format) -> None:
    out = frame.copy()
    if "week_start" in out:
        out["week_start"] = out["week_start"].dt.strftime("%Y-%m-%d")
    if fmt is Format.csv:
        sys.stdout.write(out.to_csv(index=False, float_format="%.6g", lineterminator="\n"))
    else:
        sys.stdout.write(out.to_json(orient="records", double_precision=6) + "\n")


@app.command()
def bottlenecks(
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    by: Annotated[
        By, typer.Option(help="service (whole range), week (per service-week), team, or org.")
    ] = By.service,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    export: Annotated[
        Path | None, typer.Option(help="Write the value-stream graph (.json or .graphml).")
    ] = None,
    figure: Annotated[Path | None, typer.Option(help="Draw the value stream to a PNG.")] = None,
) -> None:
    """The constraint of the value stream: the stage with the highest share of waiting."""
    from vsmml.pipeline.queries.flow import BottleneckQuery, bottleneck_report

    report = bottleneck_report(
        BottleneckQuery(service=service, by=by.value, export=export, figure=figure)
    )
    found = report.found
    if report.note is not None:
        from vsmml.cli.text import one_line

        typer.echo(f"note: {one_line(report.note)}", err=True)
    if fmt is not Format.table:
        _emit(found, fmt)
        return
    from vsmml.cli.output import heading, table

    if report.no_stages:
        return
    scope = service or "all services"
    heading(f"Constraint per {by.value} ({scope}): highest wait share; longest stage beside it")
    cols = [
        c
        for c in (
            "service",
            "team",
            "week_start",
            "constraint",
            "wait_share",
            "utilisation",
            "runner_up",
            "margin",
            "longest_stage",
            "lead_mean_h",
            "n_changes",
        )
        if c in found.columns
    ]
    shown = found[cols].copy()
    if "week_start" in shown:
        shown["week_start"] = shown["week_start"].dt.strftime("%Y-%m-%d")
    table(shown.round(3))


@app.command()
def whatif(
    scenario: Annotated[
        str,
        typer.Argument(
            help="e.g. 'review wait -30%', 'integration tests in parallel', "
            "'deploy batch size 1'; join several with ';'."
        ),
    ],
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    confidence: Annotated[
        float,
        typer.Option(min=0.5, max=0.999, help="Level of the bootstrap interval.", callback=finite),
    ] = 0.9,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the bootstrap.")] = 0,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Re-time every observed change under a scenario: expected change of the median lead time."""
    from vsmml.pipeline.queries.flow import whatif as retime

    result = retime(scenario, service=service, confidence=confidence, seed=seed)
    if fmt is not Format.table:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return
    r = result
    typer.echo(f"scenario      {r.scenario}  ({service or 'all services'}, {r.n_changes} changes)")
    typer.echo(f"median lead   {r.baseline_median_h:.1f} h → {r.new_median_h:.1f} h")
    typer.echo(
        f"change        {r.delta_h:+.1f} h ({r.delta_pct:+.1f} %), {r.confidence:.0%} interval "
        f"[{r.delta_pct_low:+.1f} %, {r.delta_pct_high:+.1f} %]"
    )
    typer.echo(f"mean change   {r.mean_delta_h:+.2f} h per change")
