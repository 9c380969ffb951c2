"""What every Dask job shares: a fresh lake, the partition plan, the cluster, and what it did.

The lake is brought up to the store first (`export_lake`: nothing is written when it already
holds the store's events), with the store opened read-only and closed again before any worker
starts: workers read the Parquet lake, never the store's DuckDB file.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.pipeline.distributed.cluster import DaskExecutor, SerialExecutor, dask_executor
from vsmml.pipeline.distributed.plan import Plan, plan_partitions
from vsmml.pipeline.lake import ExportReport, Manifest, export_lake, load_manifest

EMPTY_STORE = "store: no events; run `vsmml demo` or `vsmml ingest` first"


@dataclass(frozen=True)
class EngineRun:
    """Where a Dask job ran and on what: cluster, lake refresh, partitions, wall time."""

    where: str
    lake: ExportReport
    partitions: int
    components: int
    events: int
    largest_share: float
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each phase: lake refresh, cluster start, plan, work (tasks + merge)."""
    engine: str = "dask"
    peak_rss: int = 0
    """The largest peak resident memory of a process that ran partitions (0: not measured)."""

    def describe(self) -> str:
        """One line for standard error (standard output stays data only)."""
        lake = (
            "lake up to date"
            if self.lake.up_to_date
            else f"lake export batch {self.lake.batch}: +{self.lake.new_rows:,} events"
        )
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        peak = f"; peak {self.peak_rss / 2**20:,.0f} MiB per worker" if self.peak_rss else ""
        return (
            f"{self.engine}: {self.partitions} partition(s) of {self.events:,} events "
            f"({self.components} linked group(s), largest {self.largest_share:.0%}) on "
            f"{self.where}; {lake}; {self.seconds:.1f} s ({phases}){peak}"
        )


def fresh_lake(settings: Settings) -> tuple[ExportReport, Manifest]:
    """Export what the lake lacks, then its manifest; an empty store is an error as locally."""
    report = export_lake(settings)
    manifest = load_manifest(report.lake.resolve())
    if manifest.rows == 0:
        raise DataError(EMPTY_STORE)
    return report, manifest


@contextmanager
def lake_job(
    settings: Settings, scheduler: str | None, *, by: str | None
) -> Iterator[tuple[DaskExecutor, Plan, Manifest, ExportReport]]:
    """Refresh the lake, start (or reach) the cluster, plan the partitions for grouping `by`."""
    t0 = time.perf_counter()
    report, manifest = fresh_lake(settings)
    t1 = time.perf_counter()
    with dask_executor(settings, scheduler) as executor:
        t2 = time.perf_counter()
        plan = plan_partitions(
            manifest,
            by=by,
            target_rows=settings.dask_partition_events,
            workers=executor.workers,
            memory_limit=settings.duckdb_memory_limit,
        )
        executor.phases.update(lake=t1 - t0, cluster=t2 - t1, plan=time.perf_counter() - t2)
        yield executor, plan, manifest, report


@contextmanager
def stream_job(
    settings: Settings, *, by: str | None
) -> Iterator[tuple[SerialExecutor, Plan, Manifest, ExportReport]]:
    """`lake_job` without a cluster: the same lake and partitions, run one at a time here."""
    t0 = time.perf_counter()
    report, manifest = fresh_lake(settings)
    t1 = time.perf_counter()
    plan = plan_partitions(
        manifest,
        by=by,
        target_rows=settings.dask_partition_events,
        memory_limit=settings.duckdb_memory_limit,
    )
    executor = SerialExecutor()
    executor.phases.update(lake=t1 - t0, plan=time.perf_counter() - t1)
    yield executor, plan, manifest, report


def run_record(
    executor: DaskExecutor | SerialExecutor,
    plan: Plan,
    report: ExportReport,
    started: float,
    *,
    peak: int = 0,
) -> EngineRun:
    """The `EngineRun` of a finished job (`peak`: the partitions' largest peak memory)."""
    total = time.perf_counter() - started
    phases = {**executor.phases, "work": total - sum(executor.phases.values())}
    return EngineRun(
        where=executor.describe(),
        lake=report,
        partitions=len(plan.partitions),
        components=plan.components,
        events=plan.rows,
        largest_share=plan.largest_share,
        seconds=total,
        phases=phases,
        engine="dask" if isinstance(executor, DaskExecutor) else "local",
        peak_rss=peak,
    )


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (a worker's, when run there).

    Linux's ``VmHWM`` starts afresh with each program, where ``ru_maxrss`` keeps the high-water
    mark of the parent a process was forked from.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def absolute(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """Paths a worker started elsewhere can open."""
    return tuple(p.resolve() for p in paths)
