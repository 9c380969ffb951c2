"""Plain-text rendering of command results for the terminal (no colours: logs stay readable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from vsmml.cli.text import one_line, safe

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.pipeline.demo import DemoResult
    from vsmml.pipeline.tour import Tour


def heading(title: str) -> None:
    """Print a section title underlined to its width (control characters escaped)."""
    title = one_line(title)
    typer.echo(f"\n{title}\n{'─' * len(title)}")


def table(frame: pd.DataFrame, *, index: bool = False) -> None:
    """Print a frame as an aligned text table; text from data has its control characters
    escaped (`vsmml.cli.text.safe`), so a stored name cannot drive the terminal."""
    if frame.empty:
        typer.echo("(none)")
        return
    typer.echo(safe(frame.to_string(index=index)))


def print_demo(result: DemoResult) -> None:
    """The demo tour: what was ingested, where it lives, and what was quarantined and why."""
    r = result.report
    span = result.summary["range"].iloc[0]
    heading("Ingested the synthetic organisation")
    typer.echo(f"store        {result.store_path}")
    typer.echo(f"events       {int(span['events']):,} stored in {result.seconds:.1f} s")
    typer.echo(f"time range   {_utc(span['first'])} → {_utc(span['last'])} (UTC)")
    typer.echo(
        f"this run     {r.accepted:,} accepted, {r.duplicates:,} duplicates, "
        f"{r.quarantined:,} quarantined"
    )
    heading("Events by kind")
    table(result.summary["by_kind"])
    heading("Events by service")
    table(result.summary["by_service"])
    heading("Quarantine (refused records, with the reason)")
    q = result.quarantine
    if q.empty:
        typer.echo("(empty)")
    for _, row in q.head(10).iterrows():
        typer.echo(f"#{row['quarantine_id']:<4} {one_line(row['reason'])}")
    if result.training is not None:
        t = result.training
        verdict = "promoted to champion" if t.promoted else "not promoted"
        heading(f"Trained the change-risk model on this history: version {t.version}, {verdict}")
        typer.echo(f"{t.reason} ({t.seconds:.1f} s; MLflow backend under VSMML_HOME)")
        typer.echo("held-out scores on the latest 20 % of changes, with the baselines:")
        table(t.evaluation)
    if result.training_skipped:
        typer.echo(f"\n{result.training_skipped}")
    if result.tour is not None:
        print_tour(result.tour)
    if result.report_path is not None:
        heading("Weekly report (open it in a browser)")
        typer.echo(str(result.report_path))
    if result.report_skipped:
        typer.echo(f"\n{result.report_skipped}")


def print_tour(tour: Tour) -> None:
    """The metrics, bottlenecks, SLO budgets and risky changes found in the store."""
    heading("DORA keys per service, whole range, with 2023 performance bands")
    table(tour.dora)
    heading("Bottleneck (Theory of Constraints: highest wait share) per service")
    table(tour.bottlenecks)
    heading("SLO 99.9 % availability, last 30 days: budget left, 1 h burn rate, alerts")
    table(tour.slo)
    heading(f"Riskiest changes merged in the last 7 days (model: {tour.risk_model})")
    table(tour.risky_changes)
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in tour.seconds.items())
    typer.echo(f"\ntour computed in {sum(tour.seconds.values()):.1f} s ({spent})")


def _utc(value: object) -> str:
    import pandas as pd

    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.strftime("%Y-%m-%d %H:%M")
