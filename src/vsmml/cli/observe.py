"""`vsmml anomalies` and `vsmml slo status`: score metric/SLI series and report SLO burn.

Input is a CSV file (`--file`) or, without one, the `slo.sample` events in the store under
VSMML_HOME (read-only). For `anomalies` the store series is each service's error ratio per
sample (1 - good / total).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vsmml.cli.app import app
from vsmml.cli.output import heading, table
from vsmml.errors import VsmmlError

if TYPE_CHECKING:
    import pandas as pd

slo_app = typer.Typer(help="Service-level objectives: error budget, burn rates, alerts.")
app.add_typer(slo_app, name="slo")

FileOpt = Annotated[
    Path | None, typer.Option("--file", help="CSV input instead of the store.", exists=True)
]
ServiceOpt = Annotated[
    list[str] | None, typer.Option("--service", help="Only these services (repeatable).")
]


def _store_samples(services: list[str] | None) -> pd.DataFrame:
    """slo.sample events from the store as (timestamp, service, good, total)."""
    from vsmml.pipeline.queries.reads import slo_samples

    return slo_samples(services=services)


def read_series_csv(path: Path) -> pd.DataFrame:
    """A (TimeStamp|timestamp, Value|value[, Label]) CSV as timestamp/value columns."""
    import pandas as pd

    raw = pd.read_csv(path)
    cols = {c.lower(): c for c in raw.columns}
    if "timestamp" not in cols or "value" not in cols:
        raise typer.BadParameter(
            f"{path}: need TimeStamp and Value columns, got {list(raw.columns)}"
        )
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw[cols["timestamp"]], utc=True, format="mixed"),
            "value": pd.to_numeric(raw[cols["value"]], errors="coerce"),
        }
    )


@app.command()
def anomalies(
    file: FileOpt = None,
    service: ServiceOpt = None,
    detector: Annotated[str, typer.Option(help="Registered detector name.")] = "default",
    threshold: Annotated[float, typer.Option(help="Report rows scoring at least this.")] = 0.43,
    top: Annotated[int, typer.Option(help="Rows to show per series (highest scores).")] = 20,
) -> None:
    """Score a metric series (or each service's SLI error ratio) and list the anomalous rows."""
    import pandas as pd

    from vsmml.anomaly import get_detector

    try:
        det = get_detector(detector)
        if file is not None:
            series = {file.stem: read_series_csv(file)}
        else:
            samples = _store_samples(service)
            series = {
                str(name): pd.DataFrame(
                    {"timestamp": g["timestamp"], "value": 1.0 - g["good"] / g["total"]}
                )
                for name, g in samples.groupby("service", sort=True)
            }
    except VsmmlError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not series:
        typer.echo("no series: pass --file or ingest slo.sample events")
        raise typer.Exit(1)
    for name, frame in series.items():
        scored = frame.assign(score=det.score(frame).round(3))
        above = scored[scored["score"] >= threshold]
        hits = above.nlargest(top, "score").sort_values("timestamp")
        heading(f"{name}: {len(above)} of {len(scored)} rows score >= {threshold}")
        table(hits)


@slo_app.command("status")
def slo_status(
    file: FileOpt = None,
    service: ServiceOpt = None,
    objective: Annotated[float, typer.Option(help="Target share of good events.")] = 0.999,
    window_days: Annotated[int, typer.Option(help="Compliance period (28 or 30 days).")] = 30,
) -> None:
    """Error budget left, burn rates, page/ticket alerts and exhaustion forecast per service.

    Exit code 3 when any service's page alert is firing (usable as a pipeline gate).
    """
    import pandas as pd

    from vsmml.slo import SLO, status

    try:
        if file is not None:
            samples = pd.read_csv(file)
            if "service" not in samples.columns:
                samples["service"] = file.stem
            if service:
                samples = samples[samples["service"].isin(service)]
        else:
            samples = _store_samples(service)
        rows = [
            status(g, SLO(str(name), objective, window_days))
            for name, g in samples.groupby("service", sort=True)
        ]
    except VsmmlError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not rows:
        typer.echo("no slo.sample data: pass --file or ingest slo.sample events")
        raise typer.Exit(1)
    frame = pd.DataFrame(rows).drop(columns=["objective", "window_days"])
    heading(f"SLO status (objective {objective:.3%}, {window_days}-day window)")
    numeric = frame.select_dtypes("number").columns
    table(frame.round(dict.fromkeys(numeric, 3)))
    if frame["page"].any():
        raise typer.Exit(3)
