"""`vsmml evaluate risk`: our change-risk model against LR-JIT and LApredict on a published split.

Other evaluations can register on `evaluate_app` (``@evaluate_app.command("name")``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from vsmml.cli.app import app

evaluate_app = typer.Typer(help="Evaluate models on public datasets with published protocols.")
app.add_typer(evaluate_app, name="evaluate")

_PROTOCOLS = ("wp", "cp", "timewise", "drift")
_FORMATS = ("issta21", "kamei", "vsmml")


@evaluate_app.command("risk")
def risk(
    data: list[Path] = typer.Option(  # noqa: B008
        ..., "--data", exists=True, dir_okay=False, help="Dataset file; repeat for several."
    ),
    fmt: str = typer.Option("issta21", "--format", help="issta21 | kamei | vsmml"),
    protocol: str = typer.Option("wp", help="wp | cp | timewise | drift"),
    train_fraction: float = typer.Option(
        0.8, help="Share of each project (by date) that trains (drift: default 0.5)."
    ),
    baselines_only: bool = typer.Option(False, help="Skip our model (fast baseline check)."),
    seed: int = typer.Option(0, help="Seed of our model."),
) -> None:
    """Print AUC, PR-AUC, Brier, F1, recall@20% effort, Popt and ECE for our model and the
    baselines LR-JIT and LApredict, computed in the same run on the same split.

    wp: first 80 % by date trains, last 20 % tests. cp: all rows of the other files train,
    the same last 20 % tests. timewise: 5 chronological chunks, expanding window. drift: train
    on the first half, AUC per quarter after it, with a retraining recommendation.
    """
    if protocol not in _PROTOCOLS:
        raise typer.BadParameter(f"must be one of {list(_PROTOCOLS)}", param_hint="--protocol")
    if fmt not in _FORMATS:
        raise typer.BadParameter(f"must be one of {list(_FORMATS)}", param_hint="--format")
    import numpy as np
    import pandas as pd

    from vsmml.models import evaluation as ev
    from vsmml.models.baselines import lapredict, lr_jit
    from vsmml.models.risk import ChangeRiskModel
    from vsmml.pipeline.datasets.jit import CHANGE_METRICS, load_jit, project_name

    columns = [*CHANGE_METRICS, "committed_at"]

    def ours(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = ChangeRiskModel(random_state=seed).fit(train[columns], train["bug"])
        return model.predict_proba(test[columns])[:, 1]

    scorers: dict[str, ev.Scorer] = {} if baselines_only else {"vsmml": ours}
    scorers.update({"lr_jit": lr_jit, "lapredict": lapredict})
    frames = {project_name(p): load_jit(p, fmt) for p in data}
    if protocol == "wp":
        table = ev.within_project(frames, scorers, train_fraction)
    elif protocol == "cp":
        table = ev.cross_project(frames, scorers, train_fraction)
    elif protocol == "timewise":
        table = ev.timewise(frames, scorers)
    else:
        frac = 0.5 if train_fraction == 0.8 else train_fraction
        table = ev.drift(frames, scorers, frac)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        typer.echo(table.round(4).to_string(index=False))
        if protocol == "drift":
            late = table[table["retrain"]].groupby(["project", "model"])["quarter"].min()
            for key, quarter in late.items():
                who = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
                typer.echo(f"{who}: AUC fell > 0.05 below its first half-year from {quarter}")
            if late.empty:
                typer.echo("no quarter fell > 0.05 AUC below the first half-year after training")
        else:
            metrics = ["auc", "pr_auc", "brier", "f1", "recall@20%", "popt", "ece"]
            typer.echo("\nmean over projects")
            typer.echo(table.groupby("model", sort=False)[metrics].mean().round(4).to_string())
