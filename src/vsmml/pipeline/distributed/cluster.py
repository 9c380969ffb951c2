"""Where partitions run: a Dask cluster (a scheduler address, or a LocalCluster started here), or
one after the other in this process (the single-machine streaming reference the benchmark uses).

Dask is imported only here and only when a cluster is asked for, so every other command starts
without it. A LocalCluster runs one single-threaded worker process per core by default
(``VSMML_DASK_WORKERS``): the pandas work holds the GIL, so threads would not run in parallel,
and LightGBM's Dask training needs one process per worker. On a 2-core machine two workers are
slower than one process (they pay for serialisation and scheduling); a cluster pays off when it
spans several machines.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from vsmml.config import Settings
from vsmml.errors import ClusterError, VsmmlError

CONNECT_TIMEOUT = "10s"
"""How long `--scheduler` is tried before the command gives up."""

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs one function over the partitions and returns the results in order."""

    @property
    def workers(self) -> int:
        """How many workers take partitions at once."""
        ...

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`fn` over `items`, results in the order of `items`."""
        ...


@dataclass
class SerialExecutor:
    """Every partition in this process, one after the other (bounded memory, no Dask)."""

    phases: dict[str, float] = field(default_factory=dict)

    @property
    def workers(self) -> int:
        """One: this process."""
        return 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`fn` over `items` in turn."""
        return [fn(x) for x in items]

    def describe(self) -> str:
        """How the work ran, for messages."""
        return "this process, one partition at a time"


@dataclass
class DaskExecutor:
    """Partitions as tasks on a Dask cluster (results gathered in order)."""

    client: Any
    label: str
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def workers(self) -> int:
        """Workers the scheduler knows now (at least one)."""
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Submit every item (largest first, as given) and gather the results in order."""
        return self.gather(self.client.map(fn, list(items), pure=False))

    def gather(self, futures: Any) -> list[Any]:
        """The results of `futures`; a task's vsmml error as itself, anything else one line."""
        try:
            return list(self.client.gather(futures))
        except VsmmlError:
            raise
        except Exception as exc:
            raise ClusterError(f"dask: a partition task failed: {exc!r}") from exc

    def describe(self) -> str:
        """Where the work ran, for messages."""
        return f"{self.label}, {self.workers} worker(s)"


def default_workers(settings: Settings) -> int:
    """``VSMML_DASK_WORKERS``, else one worker per core."""
    return settings.dask_workers or max(1, os.cpu_count() or 1)


@contextmanager
def dask_executor(
    settings: Settings, scheduler: str | None = None, *, workers: int | None = None
) -> Iterator[DaskExecutor]:
    """A client of the scheduler at `scheduler`, else of a LocalCluster started (and stopped)
    here with `workers` (default `default_workers`) single-threaded worker processes."""
    try:
        dist: Any = importlib.import_module("distributed")  # untyped: keep it Any
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise ClusterError("--engine dask needs dask[distributed]: run `make install`") from exc
    make_client, make_cluster = dist.Client, dist.LocalCluster
    if scheduler:
        try:
            client = make_client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--scheduler: cannot reach {scheduler!r} ({exc})") from exc
        try:
            yield DaskExecutor(client, scheduler)
        finally:
            client.close()
        return
    n = workers or default_workers(settings)
    cluster = make_cluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        # no dashboard, and the scheduler's HTTP endpoint on a free port: a busy 8787 would
        # otherwise print a warning to the user's terminal
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.ERROR,
    )
    client = make_client(cluster)
    try:
        yield DaskExecutor(client, "LocalCluster")
    finally:
        client.close()
        cluster.close()
