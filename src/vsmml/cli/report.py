"""`vsmml report weekly`: the weekly report as a self-contained HTML file and a Markdown summary.

Thin: `vsmml.pipeline.report.report_weekly` reads the store and builds the report; this module
parses the options and prints where the files went and the five-minute summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.output import heading
from vsmml.cli.params import finite
from vsmml.cli.text import one_line

report_app = typer.Typer(help="Reports for people: the weekly report (HTML and Markdown).")
app.add_typer(report_app, name="report")


@report_app.command("weekly")
def weekly(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the HTML file and Markdown summary to.")
    ],
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the latest complete week)."),
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's services.")] = None,
    objective: Annotated[
        float,
        typer.Option(
            min=0.5, max=0.99999, help="SLO: target share of good events.", callback=finite
        ),
    ] = 0.999,
    window_days: Annotated[
        int, typer.Option(min=1, max=366, help="SLO compliance period in days.")
    ] = 30,
    top: Annotated[int, typer.Option(min=1, max=50, help="Recommendations shown.")] = 5,
) -> None:
    """Write the weekly report: DORA, lead time, constraint, SLO, risk, recommendations and
    data quality for one ISO week, as `DIR/vsmml-report-<week>.html` and `.md`."""
    from vsmml.pipeline.report import ReportRequest, report_weekly

    result = report_weekly(ReportRequest(week, service, team, out, objective, window_days, top))
    r = result.report
    heading(f"Weekly report {r.period} ({r.span}), {r.scope}")
    typer.echo(f"html       {result.html}")
    typer.echo(f"markdown   {result.markdown}")
    typer.echo("")
    for line in r.highlights:
        typer.echo(f"- {one_line(line)}")
