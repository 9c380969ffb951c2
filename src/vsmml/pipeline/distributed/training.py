"""`vsmml train risk --engine dask`: features per partition, trees by LightGBM's Dask training.

1. Each partition of the lake (whole services: `plan_partitions`) builds its training rows on a
   worker with `risk_data_events`, the function `vsmml train risk --store` calls on the whole
   store; the rows stay on the workers.
2. The time-ordered split is the local one (the earliest 80 % by ``committed_at`` train; the cut
   is found from the gathered timestamps alone).
3. The latest training rows, at most `ChangeRiskModel.max_tune_rows` (the slice the local fit
   tunes on anyway), come to this process: tree size and rounds are chosen, probabilities
   calibrated and the log-linear part fitted there (`ChangeRiskModel.fit_trees_elsewhere`).
4. The final trees train on every training row with `lightgbm.dask.DaskLGBMClassifier` (the same
   LightGBM parameters), each worker on the rows it holds.
5. The later 20 % is gathered and evaluated against the LR-JIT and LApredict baselines (fitted on
   the slice of step 3), then logged, registered and maybe promoted like a local model.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.models.baselines import lapredict, lr_jit
from vsmml.models.evaluation import score_all
from vsmml.models.risk import ChangeRiskModel
from vsmml.models.risk_features import build_matrix, column_arrays, feature_names, input_columns
from vsmml.pipeline.distributed.engine import EngineRun, absolute, lake_job, run_record
from vsmml.pipeline.lake import ScopeFilter, read_files
from vsmml.pipeline.training.common import TRAIN_FRACTION, data_hash
from vsmml.pipeline.training.risk import (
    CONTEXT_COLUMNS,
    JIT_COLUMNS,
    MODEL_NAME,
    TrainSide,
    register_risk,
    risk_data_events,
)
from vsmml.tracking import TrackResult

FEATURES: tuple[str, ...] = (*JIT_COLUMNS, *CONTEXT_COLUMNS)


@dataclass(frozen=True)
class FeatureTask:
    """One partition's files, the rows to keep and DuckDB's memory limit."""

    files: tuple[Path, ...]
    where: ScopeFilter
    memory_limit: str


def _features(task: FeatureTask) -> pd.DataFrame:
    """The partition's training rows (features, ``committed_at``, ``bug``), as locally."""
    events = read_files(
        task.files, where=task.where, kinds=DELIVERY_KINDS, memory_limit=task.memory_limit
    )
    return risk_data_events(events, "partition").frame


def _stamps(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(frame["committed_at"]).asi8, dtype=np.int64)


def _between(frame: pd.DataFrame, lo: int | None, hi: int | None) -> pd.DataFrame:
    """Rows with lo <= committed_at < hi (microseconds; None: unbounded)."""
    t = _stamps(frame)
    keep = np.ones(len(frame), dtype=bool)
    if lo is not None:
        keep &= t >= lo
    if hi is not None:
        keep &= t < hi
    return frame.loc[keep].reset_index(drop=True)


def _matrix(frame: pd.DataFrame, hi: int, columns: list[str], names: list[str]) -> pd.DataFrame:
    """The training rows before `hi` as the model's feature matrix plus the label."""
    rows = _between(frame, None, hi)
    m = build_matrix(column_arrays(rows, columns), names)
    out = pd.DataFrame(m, columns=names)
    out["bug"] = rows["bug"].to_numpy(np.int64)
    return out


def _digest(frame: pd.DataFrame) -> str:
    return data_hash(frame)


def _split(stamps: np.ndarray, max_tune_rows: int) -> tuple[int, int, int]:
    """(cut, recent_from, n_train): rows before `cut` train (the earliest 80 %, as
    `time_ordered_split` counts them), rows from `recent_from` on are the tuning slice."""
    order = np.sort(stamps, kind="stable")
    k = int(len(order) * TRAIN_FRACTION)
    if k == 0 or k == len(order):
        raise DataError(f"a time-ordered split of {len(order)} rows leaves a part empty")
    cut = int(order[k])
    n_train = int(np.searchsorted(order, cut, side="left"))
    recent_from = int(order[max(0, n_train - max_tune_rows)])
    return cut, recent_from, n_train


def _row(name: str, prob: np.ndarray, test: pd.DataFrame, train: TrainSide) -> dict[str, Any]:
    """One evaluation-table row, as `vsmml.models.evaluation.within_project` writes it."""
    y = test["bug"].to_numpy(np.float64)
    effort = test["la"].to_numpy(np.float64) + test["ld"].to_numpy(np.float64)
    row: dict[str, Any] = {"project": MODEL_NAME, "model": name}
    row.update(score_all(y, prob, effort))
    row.update(
        n_train=train.rows,
        n_test=len(test),
        rate_train=train.failure_rate,
        rate_test=float(test["bug"].mean()),
    )
    return row


@dataclass(frozen=True)
class DaskTraining:
    """The registry's answer, the evaluation table, the data's description and the run."""

    result: TrackResult
    table: pd.DataFrame
    source: str
    rows: int
    run: EngineRun


def train_risk_dask(
    settings: Settings | None = None,
    *,
    scheduler: str | None = None,
    model: ChangeRiskModel | None = None,
) -> DaskTraining:
    """Train, evaluate, register and maybe promote the risk model on the store's changes, with
    features built per partition and trees trained on a Dask cluster."""
    s = settings or get_settings()
    estimator = model or ChangeRiskModel()
    started = time.perf_counter()
    with lake_job(s, scheduler, by="service") as (executor, plan, _manifest, lake):
        client = executor.client
        tasks = [
            FeatureTask(absolute(p.files), p.where, s.duckdb_memory_limit) for p in plan.partitions
        ]
        parts = client.map(_features, tasks, pure=False)
        stamps = executor.gather(client.map(_stamps, parts))
        all_stamps = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
        labels = executor.gather(client.map(lambda f: f["bug"].to_numpy(np.int64), parts))
        n, positives = len(all_stamps), int(sum(int(y.sum()) for y in labels))
        source = (
            f"the store {s.store_path} through the lake ({len(plan.partitions)} partitions on "
            f"Dask), {n:,} changes that reached production"
        )
        if n < 50 or positives in (0, n):
            raise DataError(
                f"{source}: need at least 50 changes with both outcomes, got {n} rows "
                f"and {positives} failures"
            )
        cut, recent_from, n_train = _split(all_stamps, estimator.max_tune_rows)
        test = pd.concat(executor.gather(client.map(_between, parts, lo=cut, hi=None)))
        recent = pd.concat(executor.gather(client.map(_between, parts, lo=recent_from, hi=cut)))
        test = test.sort_values("committed_at", kind="stable").reset_index(drop=True)
        recent = recent.sort_values("committed_at", kind="stable").reset_index(drop=True)
        columns = input_columns(recent[[*FEATURES, "committed_at"]])
        names = feature_names(columns, estimator.copy_history)
        matrices = client.map(_matrix, parts, hi=cut, columns=columns, names=names)
        train_y = np.concatenate([y[t < cut] for y, t in zip(labels, stamps, strict=True)])
        train_t = all_stamps[all_stamps < cut]
        train = TrainSide(
            [_iso(train_t.min()), _iso(train_t.max())], n_train, float(train_y.mean())
        )
        trainer = _dask_trees(client, matrices, names)
        estimator.fit_trees_elsewhere(
            recent[[*FEATURES, "committed_at"]],
            recent["bug"],
            trainer,
            training_period=(
                str(pd.Timestamp(train_t.min(), unit="us", tz="UTC")),
                str(pd.Timestamp(train_t.max(), unit="us", tz="UTC")),
            ),
            base_rate=train.failure_rate,
        )
        digests = executor.gather(client.map(_digest, parts))
        digest = hashlib.sha256(",".join(digests).encode()).hexdigest()
        run = run_record(executor, plan, lake, started)
    proba = estimator.predict_proba(test[[*FEATURES, "committed_at"]])[:, 1]
    table = pd.DataFrame(
        [
            _row("vsmml-risk", np.asarray(proba, np.float64), test, train),
            _row("lr_jit", lr_jit(recent, test), test, train),
            _row("lapredict", lapredict(recent, test), test, train),
        ]
    )
    result = register_risk(
        estimator,
        table,
        test,
        data_source=source,
        features=FEATURES,
        digest=digest,
        train=train,
        settings=s,
        extra_metadata={
            "engine": "dask",
            "tuned_on_rows": len(recent),
            "partitions": len(plan.partitions),
        },
    )
    return DaskTraining(result, table, source, n, run)


def _iso(us: int) -> str:
    return pd.Timestamp(int(us), unit="us", tz="UTC").isoformat()


def _dask_trees(client: Any, matrices: list[Any], names: list[str]) -> Any:
    """A `TreeTrainer` fitting `DaskLGBMClassifier` on the training matrices held by workers."""
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    _quiet_lightgbm()
    client.run(_quiet_lightgbm)

    meta = pd.DataFrame(
        {**{c: pd.Series(dtype=np.float64) for c in names}, "bug": pd.Series(dtype=np.int64)}
    )
    frame = dd.from_delayed(matrices, meta=meta, verify_meta=False)
    x, y = frame[names], frame["bug"]

    def train(params: dict[str, Any], rounds: int) -> Any:
        kwargs = {k: v for k, v in params.items() if k not in ("objective", "num_threads")}
        with warnings.catch_warnings():  # "n_jobs will be ignored": the workers set threads
            warnings.simplefilter("ignore", UserWarning)
            fitted = DaskLGBMClassifier(
                client=client, objective=params["objective"], n_estimators=rounds, **kwargs
            ).fit(x, y)
        return fitted.to_local().booster_

    return train


def _quiet_lightgbm() -> None:
    """LightGBM's Python-side messages go to logging with info dropped (here and, through
    `client.run`, on each worker; the C++ network set-up still prints a few lines)."""
    import lightgbm as lgb

    logger = logging.getLogger("vsmml.lightgbm")
    logger.setLevel(logging.WARNING)
    lgb.register_logger(logger)
