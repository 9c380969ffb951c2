"""Notebook experiments in MLflow: log a run beside `vsmml train`'s, read every run back.

A data scientist's experiment lands in the model's experiment under `$VSMML_HOME` (the same
sqlite backend as `vsmml.tracking`), but nothing is registered, exported or promoted, so trying
an idea never moves the `champion` alias. Pipeline layer: writes through `vsmml.tracking`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vsmml.config import Settings, get_settings
from vsmml.tracking import Table, TrainedModel, client, log_run, registered_name


def log_experiment(
    name: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tables: Mapping[str, Table] | None = None,
    save: Callable[[Path], None] | None = None,
    run_name: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Log one experiment (params, metrics, tables, optionally model files) as an MLflow run.

    For notebooks: the run lands in model `name`'s experiment beside `vsmml train`'s runs,
    but nothing is registered, exported or promoted. Returns the run id.
    """
    s = settings or get_settings()
    model = TrainedModel(
        name=name,
        save=save or (lambda _folder: None),
        params=params,
        metrics=metrics,
        primary_metric="",
        tables=tables or {},
    )
    with tempfile.TemporaryDirectory(prefix="vsmml-experiment-") as tmp:
        staging = Path(tmp)
        (staging / "model").mkdir()
        model.save(staging / "model")
        run_id, _ = log_run(client(s), model, staging, s, run_name or f"{name}-experiment")
    return run_id


def runs_table(name: str, settings: Settings | None = None) -> Any:
    """Every run of model `name`'s experiment as a pandas frame (newest first): run id, run
    name, start time (UTC), params and metrics; empty when nothing was logged yet."""
    import pandas as pd

    c = client(settings)
    exp = c.get_experiment_by_name(registered_name(name))
    if exp is None:
        return pd.DataFrame(columns=["run_id", "run_name", "start_time"])
    rows = []
    for run in c.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"]):
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "start_time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
                **{f"params.{k}": v for k, v in run.data.params.items()},
                **{f"metrics.{k}": v for k, v in run.data.metrics.items()},
            }
        )
    return pd.DataFrame(rows)
