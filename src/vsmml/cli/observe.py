"""`vsmml anomalies` and `vsmml slo status`: score metric/SLI series and report SLO burn.

Thin: `vsmml.pipeline.queries.observe` reads a CSV file (`--file`) or the store's `slo.sample`
events and scores them; this module formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.output import heading, table
from vsmml.cli.params import finite
from vsmml.cli.text import safe

slo_app = typer.Typer(help="Service-level objectives: error budget, burn rates, alerts.")
app.add_typer(slo_app, name="slo")

FileOpt = Annotated[
    Path | None, typer.Option("--file", help="CSV input instead of the store.", exists=True)
]
ServiceOpt = Annotated[
    list[str] | None, typer.Option("--service", help="Only these services (repeatable).")
]


@app.command()
def anomalies(
    file: FileOpt = None,
    service: ServiceOpt = None,
    detector: Annotated[str, typer.Option(help="Registered detector name.")] = "default",
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            callback=finite,
            help="Report rows scoring at least this (default: the detector's calibrated alert "
            "threshold; a score s is expected about (1 - s) / s times a day).",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option(min=1, max=10_000, help="Rows to show per series (highest scores).")
    ] = 20,
) -> None:
    """Score a metric series (or each service's SLI error ratio) and list the anomalous rows."""
    from vsmml.pipeline.queries.observe import DEFAULT_THRESHOLD, AnomalyQuery
    from vsmml.pipeline.queries.observe import anomalies as score_series

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    found = score_series(AnomalyQuery(file, service, detector, threshold, top))
    if not found:
        typer.echo("no series: pass --file or ingest slo.sample events")
        raise typer.Exit(1)
    for series in found:
        heading(
            f"{safe(series.name)}: {series.above} of {len(series.scored)} rows score >= {threshold}"
        )
        table(series.hits)


@slo_app.command("status")
def slo_status(
    file: FileOpt = None,
    service: ServiceOpt = None,
    objective: Annotated[
        float,
        typer.Option(min=0.5, max=0.99999, help="Target share of good events.", callback=finite),
    ] = 0.999,
    window_days: Annotated[
        int, typer.Option(min=1, max=366, help="Compliance period (e.g. 28 or 30 days).")
    ] = 30,
) -> None:
    """Error budget left, burn rates, page/ticket alerts and exhaustion forecast per service.

    Exit code 3 when any service's page alert is firing (usable as a pipeline gate).
    """
    from vsmml.pipeline.queries.observe import SloQuery
    from vsmml.pipeline.queries.observe import slo_status as budgets

    frame = budgets(SloQuery(file, service, objective, window_days))
    if frame.empty:
        typer.echo("no slo.sample data: pass --file or ingest slo.sample events")
        raise typer.Exit(1)
    heading(f"SLO status (objective {objective:.3%}, {window_days}-day window)")
    numeric = frame.select_dtypes("number").columns
    table(frame.round(dict.fromkeys(numeric, 3)))
    if frame["page"].any():
        raise typer.Exit(3)
