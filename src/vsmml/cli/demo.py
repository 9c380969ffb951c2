"""`vsmml demo`: generate the synthetic organisation, ingest it and print a tour."""

from __future__ import annotations

import typer

from vsmml.cli.app import app


@app.command()
def demo(
    seed: int | None = typer.Option(
        None, min=0, help="Seed of the synthetic organisation (VSMML_SEED)."
    ),
    days: int | None = typer.Option(None, min=7, max=3650, help="Days of history (default 180)."),
    services: int | None = typer.Option(
        None, min=1, max=500, help="Number of services (default 12)."
    ),
    train: bool = typer.Option(True, help="Train and register the change-risk model."),
) -> None:
    """Generate the default organisation into the store under VSMML_HOME and summarise it."""
    from vsmml.cli.output import print_demo
    from vsmml.pipeline.demo import run_demo

    result = run_demo(seed=seed, days=days, services=services, train=train)
    print_demo(result)
