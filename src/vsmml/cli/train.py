"""`vsmml train risk|burn|bottleneck|all`: train, evaluate, log to MLflow, register, promote.

Thin: `vsmml.pipeline.training.jobs.train_models` does the work; with ``--server URL`` (and an
``admin`` token in ``VSMML_TOKEN``) the running server does it on the store it owns
(`vsmml.pipeline.service_client.train_through`) and prints the same. Exit codes: 0 trained (promoted
or not), 2 a requested model is not available, its data is unusable, or `--data`/`--store` was
given for a model that cannot read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

from vsmml.cli.app import app
from vsmml.cli.engine import SCHEDULER_HELP, Engine

EXIT_UNAVAILABLE: Final[int] = 2
_SHOWN: Final[dict[str, list[str]]] = {
    "risk": ["model", "auc", "pr_auc", "brier", "ece", "f1", "recall@20%", "popt"],
}


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="risk, burn, bottleneck or all.")],
    data: Annotated[
        Path | None, typer.Option(help="Train risk on this JIT dataset instead of synthetic.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Format of --data: issta21, kamei or vsmml.")
    ] = "issta21",
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of the synthetic organisation (VSMML_SEED).")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=7,
            max=3650,
            help="Days of synthetic history (default: risk 180, burn 180, bottleneck 365).",
        ),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Train risk on the changes in the store under VSMML_HOME (correlated from "
            "its events, the features `vsmml demo`'s tour scores with).",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            help="local, or dask: risk trains on the store's changes (as --store) with "
            "features per lake partition and LightGBM's Dask training."
        ),
    ] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Train in the server at this URL, on the store it owns and its VSMML_HOME "
            "(the admin token comes from VSMML_TOKEN); a promoted risk model is used at once.",
        ),
    ] = None,
) -> None:
    """Train a model, evaluate it on the later 20 % by time, log it to MLflow, register it,
    and make it champion only if it beats the current champion there."""
    from vsmml.pipeline.training.jobs import TrainRequest, train_models

    request = TrainRequest(model, data, fmt, store, seed, days, engine.value, scheduler)
    swapped = None
    if server is None:
        outcomes = train_models(request, announce=typer.echo)
    else:
        from vsmml.pipeline.service_client import train_through

        log, outcomes, swapped = train_through(server, request)
        for line in log:
            typer.echo(line)
    failed = False
    for outcome in outcomes:
        name = outcome.name
        if outcome.error is not None or outcome.result is None or outcome.table is None:
            typer.echo(f"train: {name}: {outcome.error}", err=True)
            failed = True
            continue
        table, result = outcome.table, outcome.result
        shown = table[_SHOWN[name]] if name in _SHOWN else table
        typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        verdict = "promoted to champion" if result.promoted else "champion unchanged"
        typer.echo(
            f"{name}: registered vsmml-{name} v{result.version} (run {result.run_id}); "
            f"{verdict}: {result.reason}"
        )
        typer.echo(f"{name}: exported to {result.export_dir}")
    if server is not None and swapped is not None:
        b, a = swapped["before"], swapped["after"]
        typer.echo(
            f"server: now scoring with {a['name']} {a['version']} ({a['source']}), "
            f"was {b['version']} ({b['source']})"
        )
    if failed:
        raise typer.Exit(EXIT_UNAVAILABLE)
