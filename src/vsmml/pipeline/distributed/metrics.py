"""`vsmml metrics --engine dask`: every metric per partition of the lake, merged exactly.

Each partition task reads its files and calls the same functions as the single-machine path
(`vsmml.pipeline.queries.metrics.metrics_report`): `correlate`, `all_metrics`, `dora_summary`
and `link_coverage`. A partition holds whole linked groups (`vsmml.pipeline.distributed.plan`),
so every change, deployment, incident and metric group is computed from exactly the events the
whole-store computation uses. Three results depend on the whole organisation's time range and
are completed when the partitions are merged:

- zero-filled series (``deployments``, ``deployment_days``, ``deployment_frequency``,
  ``flow_velocity``: 0 in quiet periods; ``flow_load``: the running work in progress, which
  stays at its last value) span the first to the last period of that metric over every group;
- the DORA summary's ``days`` (first to last change or deployment day of the organisation),
  hence ``deployments_per_day``, and whether any failure could be seen at all: the bands are
  set again under the combined `SummaryContext` (`vsmml.metrics.bands.with_bands`);
- link coverage per source and kind is a sum of counts over the partitions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.correlate import correlate, link_coverage
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.metrics.bands import SummaryContext, dora_summary, with_bands
from vsmml.metrics.display import dora_summary_table, latest_period_table
from vsmml.metrics.frames import finish, group_columns
from vsmml.metrics.profiles import get_profile
from vsmml.metrics.table import all_metrics
from vsmml.pipeline.distributed.cluster import Executor
from vsmml.pipeline.distributed.engine import (
    EngineRun,
    absolute,
    lake_job,
    peak_rss,
    run_record,
    stream_job,
)
from vsmml.pipeline.distributed.plan import Plan
from vsmml.pipeline.lake import ScopeFilter, read_files
from vsmml.pipeline.queries.metrics import (
    LATENCY_COLUMNS,
    MetricsQuery,
    MetricsReport,
    metrics_report,
    window,
)
from vsmml.pipeline.service_store import open_for_reading

DEPLOY_COLUMNS: Final[tuple[str, ...]] = (
    "service",
    "env",
    "started_at",
    "finished_at",
    "is_rollback",
)
"""What a partition returns of its deployments (the deploy-order dependency inference's input)."""
GRID_FILL: Final[dict[str, str]] = {
    "deployments": "zero",
    "deployment_days": "zero",
    "deployment_frequency": "zero",
    "flow_velocity": "zero",
    "flow_load": "carry",
}
"""Metrics listed for every period between the first and last one seen (`metrics.frames.full_grid`),
and how a period outside a partition's own range is filled."""
_STEP: Final[dict[str, str]] = {"D": "D", "W": "W-MON", "M": "MS"}


@dataclass(frozen=True)
class MetricsTask:
    """One partition's work: its files, the rows to keep, the query, DuckDB's memory limit."""

    files: tuple[Path, ...]
    where: ScopeFilter
    by: str | None
    freq: str | None
    profile: str
    memory_limit: str = "2GB"


@dataclass(frozen=True)
class PartitionMetrics:
    """A partition's tidy metrics, DORA summary and link coverage, the organisation-level
    context of its summary, and what it cost (seconds per step, the worker's peak memory)."""

    tidy: pd.DataFrame
    dora: pd.DataFrame
    coverage: pd.DataFrame
    context: SummaryContext
    events: int
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss: int = 0
    deployments: pd.DataFrame | None = None
    """The partition's deployment records (`DEPLOY_COLUMNS`): what cross-service analyses
    such as the deploy-order dependencies need, gathered instead of re-reading events."""


def partition_metrics(task: MetricsTask) -> PartitionMetrics:
    """Read one partition and compute its metrics with the single-machine functions."""
    t0 = time.perf_counter()
    # the two reads of the local path: delivery events in full, a few columns of every event
    files, where, limit = task.files, task.where, task.memory_limit
    events = read_files(files, where=where, kinds=DELIVERY_KINDS, memory_limit=limit, threads=1)
    wanted = (*LATENCY_COLUMNS, *group_columns(task.by))
    latency = read_files(files, where=where, columns=wanted, memory_limit=limit, threads=1)
    t1 = time.perf_counter()
    prof = get_profile(task.profile)
    corr = correlate(events, incident_linking=prof.incident_linking, window_hours=prof.window_hours)
    t2 = time.perf_counter()
    tidy = all_metrics(events, task.by, task.freq, prof, corr=corr, latency_events=latency)
    events_read = len(latency)
    del latency
    context = SummaryContext.of(corr)
    dora = dora_summary(corr, task.by, prof, context)
    coverage = link_coverage(events, corr)
    t3 = time.perf_counter()
    return PartitionMetrics(
        tidy=tidy,
        dora=dora,
        coverage=coverage,
        context=context,
        events=events_read,
        seconds={"read": t1 - t0, "correlate": t2 - t1, "metrics": t3 - t2},
        peak_rss=peak_rss(),
        deployments=corr.deployments[list(DEPLOY_COLUMNS)].reset_index(drop=True),
    )


def service_dependencies(parts: Sequence[PartitionMetrics], **thresholds: Any) -> pd.DataFrame:
    """Service dependencies inferred from deploy order (`vsmml.graph.deploy_order_edges`) over
    every partition's deployments at once: a dependency links services of different partitions
    without being a correlation link, so it is computed after the gather, never per partition.
    `thresholds` are `deploy_order_edges`' keywords (window, min_count, min_lift)."""
    from vsmml.graph import deploy_order_edges  # networkx: only when dependencies are asked for

    frames = [p.deployments for p in parts if p.deployments is not None and len(p.deployments)]
    if not frames:
        return deploy_order_edges(pd.DataFrame(columns=list(DEPLOY_COLUMNS)), **thresholds)
    return deploy_order_edges(pd.concat(frames, ignore_index=True), **thresholds)


def regrid(tidy: pd.DataFrame, freq: str | None, cols: Sequence[str]) -> pd.DataFrame:
    """Extend every zero-filled series to its metric's first-to-last period over all groups."""
    if freq is None or tidy.empty:
        return tidy
    keep = [tidy.loc[~tidy["metric"].isin(list(GRID_FILL)).to_numpy()]]
    for metric, how in GRID_FILL.items():
        rows = tidy.loc[(tidy["metric"] == metric).to_numpy()]
        if rows.empty:
            continue
        periods = pd.date_range(rows["period"].min(), rows["period"].max(), freq=_STEP[freq])
        grid = pd.DataFrame({"period": periods.as_unit("us")})
        if cols:
            grid = rows[list(cols)].drop_duplicates().merge(grid, how="cross")
        full = grid.merge(rows, on=[*cols, "period"], how="left", sort=False)
        full = full.sort_values([*cols, "period"], kind="stable").reset_index(drop=True)
        if how == "carry":
            filled = (
                full.groupby(list(cols), sort=False)[["value", "n"]].ffill()
                if cols
                else (full[["value", "n"]].ffill())
            )
            full[["value", "n"]] = filled
        full["value"] = full["value"].fillna(0.0)
        full["n"] = full["n"].fillna(0)
        full["metric"] = metric
        keep.append(full)
    return finish(pd.concat(keep, ignore_index=True), list(cols))


def _dora(parts: Sequence[PartitionMetrics], cols: list[str]) -> pd.DataFrame:
    """The partitions' DORA summaries, banded under the whole organisation's context."""
    frames = [p.dora for p in parts if len(p.dora)]
    if not frames:
        return parts[0].dora
    out = with_bands(
        pd.concat(frames, ignore_index=True), SummaryContext.combine([p.context for p in parts])
    )
    if cols:
        out = out.sort_values(cols, kind="stable")
    return out.reset_index(drop=True)


def _coverage(parts: Sequence[PartitionMetrics]) -> pd.DataFrame:
    """Events and linked events per source and kind, summed over partitions; shares again."""
    frames = [p.coverage for p in parts if len(p.coverage)]
    if not frames:
        return parts[0].coverage
    both = pd.concat(frames, ignore_index=True)
    out = both.groupby(["source", "kind"], sort=False, as_index=False)[["events", "linked"]].sum()
    out["events"] = out["events"].astype("int64")
    out["linked"] = out["linked"].astype("int64")
    out["share"] = out["linked"] / out["events"]
    out["order"] = (out["kind"] != "*").astype(int)
    out = out.sort_values(["source", "order", "kind"], kind="stable").drop(columns="order")
    return out[["source", "kind", "events", "linked", "share"]].reset_index(drop=True)


def merge_metrics(parts: Sequence[PartitionMetrics], query: MetricsQuery) -> MetricsReport:
    """One report from the partitions' results, as the whole-store computation gives it."""
    prof = get_profile(query.profile)
    cols = group_columns(query.by)
    tidy = finish(pd.concat([p.tidy for p in parts], ignore_index=True), cols)
    tidy = window(regrid(tidy, query.freq, cols), query.since, query.until)
    summary = _dora(parts, cols)
    return MetricsReport(
        profile=prof.name,
        tidy=tidy,
        dora=summary,
        coverage=_coverage(parts),
        dora_table=dora_summary_table(summary, wide=query.wide),
        latest=latest_period_table(tidy, wide=query.wide),
    )


def partitioned_metrics(
    query: MetricsQuery, plan: Plan, executor: Executor, memory_limit: str = "2GB"
) -> tuple[MetricsReport, list[PartitionMetrics]]:
    """Run `partition_metrics` over the plan's partitions with `executor`, then merge."""
    tasks = [
        MetricsTask(absolute(p.files), p.where, query.by, query.freq, query.profile, memory_limit)
        for p in plan.partitions
    ]
    parts = executor.map(partition_metrics, tasks)
    return merge_metrics(parts, query), parts


@dataclass(frozen=True)
class DaskMetrics:
    """The report (the same type `metrics_report` returns) and where and how it was computed."""

    report: MetricsReport
    run: EngineRun


def metrics_report_dask(
    query: MetricsQuery, settings: Settings | None = None, *, scheduler: str | None = None
) -> DaskMetrics:
    """`metrics_report` on a Dask cluster: refresh the lake, plan, compute per partition, merge.

    Args:
        query: grouping, period, profile and window, as for the local path.
        settings: store, lake and Dask settings.
        scheduler: a Dask scheduler address; None starts a LocalCluster for the run.
    """
    s = settings or get_settings()
    get_profile(query.profile)  # refuse a bad profile before starting anything
    started = time.perf_counter()
    with lake_job(s, scheduler, by=query.by) as (executor, plan, _manifest, report):
        result, parts = partitioned_metrics(query, plan, executor, s.duckdb_memory_limit)
        peak = max((p.peak_rss for p in parts), default=0)
        return DaskMetrics(result, run_record(executor, plan, report, started, peak=peak))


@dataclass(frozen=True)
class LocalMetrics:
    """The report of `--engine local`, and the streamed run when the store was too big to read
    at once (None: every event was read into one frame)."""

    report: MetricsReport
    run: EngineRun | None


def stored_events(settings: Settings) -> int:
    """How many events the store holds (a count, nothing read)."""
    with open_for_reading(settings) as store:
        row = store.connection.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def metrics_report_local(query: MetricsQuery, settings: Settings | None = None) -> LocalMetrics:
    """`vsmml metrics --engine local`: `metrics_report` when the store holds at most
    ``VSMML_LOCAL_STREAM_EVENTS`` events, else the lake partition by partition in this process
    (the Dask engine's partitions and exact merge on a `SerialExecutor`: memory bounded by the
    largest partition, not the store)."""
    s = settings or get_settings()
    if stored_events(s) <= s.local_stream_events:
        return LocalMetrics(metrics_report(query, s), None)
    get_profile(query.profile)
    started = time.perf_counter()
    with stream_job(s, by=query.by) as (executor, plan, _manifest, report):
        result, parts = partitioned_metrics(query, plan, executor, s.duckdb_memory_limit)
        peak = max((p.peak_rss for p in parts), default=0)
        return LocalMetrics(result, run_record(executor, plan, report, started, peak=peak))
