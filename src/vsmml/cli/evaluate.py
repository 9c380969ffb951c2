"""`vsmml evaluate risk`: our change-risk model against LR-JIT and LApredict on a published split.

Thin: `vsmml.pipeline.evaluation.evaluate_risk` does the work. Other evaluations can register on
`evaluate_app` (``@evaluate_app.command("name")``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from vsmml.cli.app import app

evaluate_app = typer.Typer(help="Evaluate models on public datasets with published protocols.")
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command("risk")
def risk(
    data: list[Path] = typer.Option(  # noqa: B008
        ..., "--data", exists=True, dir_okay=False, help="Dataset file; repeat for several."
    ),
    fmt: str = typer.Option("issta21", "--format", help="issta21 | kamei | vsmml"),
    protocol: str = typer.Option("wp", help="wp | cp | timewise | drift"),
    train_fraction: float | None = typer.Option(
        None, help="Share of each project (by date) that trains (default 0.8; drift: 0.5)."
    ),
    baselines_only: bool = typer.Option(False, help="Skip our model (fast baseline check)."),
    seed: int = typer.Option(0, min=0, help="Seed of our model."),
) -> None:
    """Print AUC, PR-AUC, Brier, F1, recall@20% effort, Popt and ECE for our model and the
    baselines LR-JIT and LApredict, computed in the same run on the same split.

    wp: first 80 % by date trains, last 20 % tests. cp: all rows of the other files train,
    the same last 20 % tests. timewise: 5 chronological chunks, expanding window. drift: train
    on the first half, AUC per quarter after it, with a retraining recommendation.
    """
    import pandas as pd

    from vsmml.pipeline.evaluation import EvaluationRequest, evaluate_risk

    request = EvaluationRequest(data, fmt, protocol, train_fraction, baselines_only, seed)
    result = evaluate_risk(request)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        typer.echo(result.table.round(4).to_string(index=False))
        if result.mean is not None:
            typer.echo("\nmean over projects")
            typer.echo(result.mean.round(4).to_string())
            return
        for who, quarter in result.retrain_from.items():
            typer.echo(f"{who}: AUC fell > 0.05 below its first half-year from {quarter}")
        if not result.retrain_from:
            typer.echo("no quarter fell > 0.05 AUC below the first half-year after training")
