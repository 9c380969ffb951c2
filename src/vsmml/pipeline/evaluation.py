"""`vsmml evaluate risk`: our change-risk model against LR-JIT and LApredict on a published split.

Reads JIT dataset files (`vsmml.pipeline.datasets.jit`), runs one protocol of
`vsmml.models.evaluation` on all of them in the same run, and returns the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vsmml.errors import ConfigError
from vsmml.models import evaluation as ev
from vsmml.models.baselines import lapredict, lr_jit
from vsmml.pipeline.datasets.jit import CHANGE_METRICS, load_jit, project_name

PROTOCOLS: Final[tuple[str, ...]] = ("wp", "cp", "timewise", "drift")
FORMATS: Final[tuple[str, ...]] = ("issta21", "kamei", "vsmml")
METRICS: Final[list[str]] = ["auc", "pr_auc", "brier", "f1", "recall@20%", "popt", "ece"]


@dataclass(frozen=True)
class EvaluationRequest:
    """Dataset files and their format, the protocol, the training share, and our model's seed."""

    data: Sequence[Path]
    fmt: str = "issta21"
    protocol: str = "wp"
    train_fraction: float | None = None
    baselines_only: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Evaluation:
    """The per-project table; the mean over projects (wp/cp/timewise) or, for drift, the first
    quarter each model fell more than 0.05 AUC below its first half-year."""

    protocol: str
    table: pd.DataFrame
    mean: pd.DataFrame | None
    retrain_from: dict[str, str]


def evaluate_risk(request: EvaluationRequest) -> Evaluation:
    """Run the protocol on every file with our model (unless `baselines_only`) and the baselines."""
    from vsmml.models.risk import ChangeRiskModel

    if request.protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol must be one of {list(PROTOCOLS)}, got {request.protocol!r}")
    if request.fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {list(FORMATS)}, got {request.fmt!r}")
    default = 0.5 if request.protocol == "drift" else 0.8
    fraction = default if request.train_fraction is None else request.train_fraction
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"--train-fraction must be between 0 and 1 (exclusive), got {fraction}")
    columns = [*CHANGE_METRICS, "committed_at"]

    def ours(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = ChangeRiskModel(random_state=request.seed).fit(train[columns], train["bug"])
        return model.predict_proba(test[columns])[:, 1]

    scorers: dict[str, ev.Scorer] = {} if request.baselines_only else {"vsmml": ours}
    scorers.update({"lr_jit": lr_jit, "lapredict": lapredict})
    frames = {project_name(p): load_jit(p, request.fmt) for p in request.data}
    if request.protocol == "wp":
        table = ev.within_project(frames, scorers, fraction)
    elif request.protocol == "cp":
        table = ev.cross_project(frames, scorers, fraction)
    elif request.protocol == "timewise":
        table = ev.timewise(frames, scorers)
    else:
        table = ev.drift(frames, scorers, fraction)
    if request.protocol != "drift":
        mean = table.groupby("model", sort=False)[METRICS].mean()
        return Evaluation(request.protocol, table, mean, {})
    late = table[table["retrain"]].groupby(["project", "model"])["quarter"].min()
    retrain = {
        "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key): str(quarter)
        for key, quarter in late.items()
    }
    return Evaluation(request.protocol, table, None, retrain)
