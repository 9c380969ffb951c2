"""`vsmml train risk|burn|bottleneck|all`: train, evaluate, log to MLflow, register, promote.

risk trains on the synthetic organisation, a JIT dataset (`--data`) or the changes in the store
(`--store`); burn and bottleneck train on the synthetic organisation (`vsmml.pipeline.training`).
Exit codes: 0 trained (promoted or not), 2 a requested model is not available, its data is
unusable, or `--data`/`--store` was given for a model that cannot read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from vsmml.cli.app import app

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.tracking import TrackResult

MODELS: Final[tuple[str, ...]] = ("risk", "burn", "bottleneck")
SYNTHETIC_ONLY: Final[tuple[str, ...]] = ("burn", "bottleneck")
EXIT_UNAVAILABLE: Final[int] = 2


def _train_risk(
    data: Path | None, fmt: str, seed: int | None, days: int | None, store: bool = False
) -> None:
    from vsmml.config import get_settings
    from vsmml.pipeline.training.risk import risk_data_file, risk_data_synthetic, train_risk

    settings = get_settings()
    if store:
        from vsmml.events.schema import DELIVERY_KINDS
        from vsmml.pipeline.queries.reads import read_events
        from vsmml.pipeline.training.risk import risk_data_events

        events = read_events(settings, kinds=DELIVERY_KINDS)
        frame = risk_data_events(events, f"the store {settings.store_path}")
    elif data is not None:
        frame = risk_data_file(data, fmt)
    else:
        overrides = {} if days is None else {"days": days}
        frame = risk_data_synthetic(settings.seed if seed is None else seed, **overrides)
    typer.echo(f"risk: training on {frame.source}, {len(frame.frame):,} changes")
    result, table = train_risk(frame, settings=settings)
    shown = ["model", "auc", "pr_auc", "brier", "ece", "f1", "recall@20%", "popt"]
    typer.echo(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(
        f"risk: registered vsmml-risk v{result.version} (run {result.run_id}); "
        f"{'promoted to champion' if result.promoted else 'champion unchanged'}: {result.reason}"
    )
    typer.echo(f"risk: exported to {result.export_dir}")


def _report(name: str, result: TrackResult, table: pd.DataFrame) -> None:
    """Print the evaluation table and what the registry did with the new version."""
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(
        f"{name}: registered vsmml-{name} v{result.version} (run {result.run_id}); "
        f"{'promoted to champion' if result.promoted else 'champion unchanged'}: {result.reason}"
    )
    typer.echo(f"{name}: exported to {result.export_dir}")


def _train_burn(seed: int | None, days: int | None) -> None:
    from vsmml.config import get_settings
    from vsmml.pipeline.training.burn import burn_data_synthetic, train_burn

    settings = get_settings()
    overrides = {} if days is None else {"days": days}
    data = burn_data_synthetic(settings.seed if seed is None else seed, **overrides)
    typer.echo(
        f"burn: training on {data.source}, {len(data.features):,} grid rows, "
        f"{len(data.events)} burn events"
    )
    result, table = train_burn(data, settings=settings)
    _report("burn", result, table)


def _train_bottleneck(seed: int | None, days: int | None) -> None:
    from vsmml.config import get_settings
    from vsmml.pipeline.training.bottleneck import bottleneck_data_synthetic, train_bottleneck

    settings = get_settings()
    overrides = {} if days is None else {"days": days}
    data = bottleneck_data_synthetic(settings.seed if seed is None else seed, **overrides)
    typer.echo(f"bottleneck: training on {data.source}, {len(data.frame):,} service-weeks")
    result, table = train_bottleneck(data, settings=settings)
    _report("bottleneck", result, table)


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
        int | None, typer.Option(help="Seed of the synthetic organisation (VSMML_SEED).")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            help="Days of synthetic history (default: risk 180, burn 180, bottleneck 365)."
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
) -> None:
    """Train a model, evaluate it on the later 20 % by time, log it to MLflow, register it,
    and make it champion only if it beats the current champion there."""
    from vsmml.errors import VsmmlError

    if model not in (*MODELS, "all"):
        typer.echo(f"train: model must be one of {[*MODELS, 'all']}, got {model!r}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE)
    if (data is not None or store) and model in SYNTHETIC_ONLY:
        flag = "--data" if data is not None else "--store"
        typer.echo(f"train: {flag} trains risk only; {model} trains on the synthetic org", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE)
    if data is not None and store:
        typer.echo("train: give --data or --store, not both", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE)
    names = list(MODELS) if model == "all" else [model]
    failed = []
    for name in names:
        try:
            if name == "risk":
                _train_risk(data, fmt, seed, days, store)
            elif name == "burn":
                _train_burn(seed, days)
            else:
                _train_bottleneck(seed, days)
        except VsmmlError as exc:
            typer.echo(f"train: {name}: {exc}", err=True)
            failed.append(name)
    if failed:
        raise typer.Exit(EXIT_UNAVAILABLE)
