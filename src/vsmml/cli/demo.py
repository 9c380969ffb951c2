"""`vsmml demo`: generate the synthetic organisation, ingest it and print a tour."""

from __future__ import annotations

import typer

from vsmml.cli.app import app


@app.command()
def demo(
    seed: int = typer.Option(42, help="Seed of the synthetic organisation."),
    days: int = typer.Option(180, help="Days of history to generate."),
) -> None:
    """Generate the default organisation into the store under VSMML_HOME and summarise it."""
    typer.echo(f"demo: seed={seed} days={days} (not built yet)")
