"""Plain-text rendering of command results for the terminal (no colours: logs stay readable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import typer

if TYPE_CHECKING:
    from vsmml.pipeline import DemoResult


def heading(title: str) -> None:
    """Print a section title underlined to its width."""
    typer.echo(f"\n{title}\n{'─' * len(title)}")


def table(frame: pd.DataFrame, *, index: bool = False) -> None:
    """Print a frame as an aligned text table."""
    if frame.empty:
        typer.echo("(none)")
        return
    typer.echo(frame.to_string(index=index))


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
        typer.echo(f"#{row['quarantine_id']:<4} {row['reason']}")


def _utc(value: object) -> str:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.strftime("%Y-%m-%d %H:%M")
