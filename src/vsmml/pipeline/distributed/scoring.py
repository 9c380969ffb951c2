"""`vsmml risk --engine dask`: the lake's partitions scored in parallel, one task each.

Each task reads its partition's delivery events and calls `scored_changes`, the function the
single-machine path calls on the whole store, with the scorer sent to the workers (model files
are read once, here; workers need not see the model folder). Features are per service (a
service's recent failures, flakiness, last deploy), and a partition holds whole services, so
every change scores as it does locally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline.batch_scoring import (
    RiskQuery,
    RiskReport,
    describe_model,
    finish_scores,
    scored_changes,
)
from vsmml.pipeline.distributed.engine import EngineRun, absolute, lake_job, run_record
from vsmml.pipeline.lake import ScopeFilter, read_files
from vsmml.pipeline.models import load_risk_scorer


@dataclass(frozen=True)
class ScoreTask:
    """One partition to score: its files, the rows to keep, the window, DuckDB's limit."""

    files: tuple[Path, ...]
    where: ScopeFilter
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    service: str | None
    memory_limit: str


def _score_partition(task: ScoreTask, scorer: Any) -> pd.DataFrame:
    events = read_files(
        task.files,
        where=task.where,
        kinds=DELIVERY_KINDS,
        memory_limit=task.memory_limit,
        threads=1,
    )
    return scored_changes(events, scorer, task.since, task.until, task.service)


@dataclass(frozen=True)
class DaskRisk:
    """The batch scores (the same report `score_stored` gives) and where they were computed."""

    report: RiskReport
    run: EngineRun


def score_stored_dask(
    query: RiskQuery, settings: Settings | None = None, *, scheduler: str | None = None
) -> DaskRisk:
    """`score_stored` on a Dask cluster: refresh the lake, score each partition, merge."""
    s = settings or get_settings()
    scorer, location = load_risk_scorer(path=query.model, settings=s)
    started = time.perf_counter()
    with lake_job(s, scheduler, by="service") as (executor, plan, _manifest, lake):
        client = executor.client
        shared = client.scatter(scorer, broadcast=True)
        tasks = [
            ScoreTask(
                absolute(p.files),
                p.where,
                query.since,
                query.until,
                query.service,
                s.duckdb_memory_limit,
            )
            for p in plan.partitions
        ]
        futures = client.map(_score_partition, tasks, scorer=shared, pure=False)
        parts = executor.gather(futures)
        report = finish_scores(parts, scorer, query.top)
        done = RiskReport(
            report.scored, report.riskiest, describe_model(location), report.threshold
        )
        return DaskRisk(done, run_record(executor, plan, lake, started))
