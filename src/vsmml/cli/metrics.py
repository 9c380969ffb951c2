"""`vsmml metrics`: baseline metrics (DORA, flow, per stage, pipeline, ops) from the event store.

Thin: `vsmml.pipeline.queries.metrics.metrics_report` does the work; this module parses the
options and formats the table, or writes data only (csv/json) for scripts.
"""

from __future__ import annotations

import enum
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.engine import ENGINE_HELP, SCHEDULER_HELP, Engine, check_engine, say_run
from vsmml.cli.params import utc_instant

if TYPE_CHECKING:
    import pandas as pd


STREAM_HELP = (
    " A store above VSMML_LOCAL_STREAM_EVENTS events is read by local partition by partition"
    " (the lake's partitions, in this process)."
)


class Format(enum.StrEnum):
    """Output formats: a readable table, or data only (csv/json) for scripts."""

    table = "table"
    csv = "csv"
    json = "json"


class By(enum.StrEnum):
    """Grouping of the metrics."""

    service = "service"
    team = "team"
    repo = "repo"
    all = "all"


class Freq(enum.StrEnum):
    """Period length: day, ISO week (Monday), month, or the whole range."""

    D = "D"
    W = "W"
    M = "M"
    all = "all"


def render(frame: pd.DataFrame, fmt: Format) -> str:
    """Deterministic csv/json text of a tidy frame (ISO UTC periods, 10 significant digits)."""
    out = frame.copy()
    out["period"] = out["period"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt is Format.csv:
        return str(out.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    return str(out.to_json(orient="records", double_precision=10)) + "\n"


@app.command()
def metrics(
    by: Annotated[By, typer.Option(help="Group by service, team, repo, or all.")] = By.service,
    freq: Annotated[Freq, typer.Option(help="Period: D, W, M, or all.")] = Freq.W,
    profile: Annotated[str, typer.Option(help="vsmml, devlake, fourkeys or gitlab.")] = "vsmml",
    since: Annotated[str | None, typer.Option(help="First period start kept (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Periods starting before this (UTC).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every column of the DORA table (2021 bands too).")
    ] = False,
    engine: Annotated[Engine, typer.Option(help=ENGINE_HELP + STREAM_HELP)] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
) -> None:
    """Compute the baseline metrics from the events in the store."""
    from vsmml.pipeline.queries.metrics import MetricsQuery

    check_engine(engine, scheduler)
    query = MetricsQuery(
        by=None if by is By.all else by.value,
        freq=None if freq is Freq.all else freq.value,
        profile=profile,
        since=utc_instant(since, "--since"),
        until=utc_instant(until, "--until"),
        wide=wide,
    )
    if engine is Engine.dask:
        from vsmml.pipeline.distributed.metrics import metrics_report_dask

        done = metrics_report_dask(query, scheduler=scheduler)
        report = done.report
        say_run(done.run.describe())
    else:
        from vsmml.pipeline.distributed.metrics import metrics_report_local

        local = metrics_report_local(query)
        report = local.report
        if local.run is not None:
            say_run(local.run.describe())
    tidy = report.tidy
    if fmt is not Format.table:
        sys.stdout.write(render(tidy, fmt))
        return
    from vsmml.cli.output import heading, table

    bands = "2021/2023 bands" if wide else "2023 bands"
    heading(f"DORA ({report.profile} profile, whole range, with {bands})")
    table(report.dora_table)
    if not wide:
        typer.echo(report.band_legend)
    heading("Link coverage (share of events attached to a change, deployment or incident)")
    table(report.coverage.round(3))
    heading(f"Metrics per {by.value} and period {freq.value} (latest period)")
    table(report.latest, index=True)
