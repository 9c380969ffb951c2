"""Batches of webhook payloads prepared in worker processes while this process reads and writes.

Parsing, checking and converting webhook JSON is pure Python and holds the GIL; the store's
writes already run on a background thread. With `prepare` (`pipeline.ingest.batches`) in worker
processes, every core works. The workers come from a forkserver (a fresh interpreter that
imports the connectors once and forks them), never forked from this process: it holds a DuckDB
connection and threads, and forking those is unsafe. Batches are prepared here until the
workers have started; later ones go to the workers, at most one per worker in flight (memory stays
bounded), and come back in input order, so the store sees the same batches in the same order as
with no workers. What comes back is the validated events and the rejects, not parsed payloads.
A worker that dies is one error line, with the way to ingest without workers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Final

from vsmml.errors import VsmmlError
from vsmml.pipeline.ingest.batches import Prepared, prepare

if TYPE_CHECKING:
    from vsmml.events.connectors.base import Reject
    from vsmml.pipeline.ingest import Limits
    from vsmml.pipeline.ingest.registry import Source, Unit

WORKERS_ENV: Final = "VSMML_INGEST_WORKERS"
"""Worker processes for webhook ingest: 0 prepares every batch in this process."""
WORKER_SOURCES: Final = frozenset({"cdevents", "github", "gitlab", "jenkins", "pagerduty"})
"""Built-in sources a worker can look up by name (a source registered at run time cannot)."""
MAX_WORKERS: Final = 2
MIN_BATCH_BYTES: Final = 8 * 2**20
"""Workers start (unless asked for) only when a full batch holds this much payload text:
starting them costs about half a second of a core, what preparing 30 MB of webhooks costs."""
Batch = list["Unit | Reject"]


def default_workers() -> int | None:
    """Workers asked for by `VSMML_INGEST_WORKERS` (0: none), or None when it is not set."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise VsmmlError(f"{WORKERS_ENV}={text!r} is not a whole number of processes") from None
    if value < 0:
        raise VsmmlError(f"{WORKERS_ENV}={text!r} must be 0 or more")
    return value


def auto_workers() -> int:
    """Workers when nobody asked: none for now (see bench/RESULTS.md, #11 webhooks)."""
    return 0


class Preparer:
    """Prepare batches in order, here or in worker processes; finished batches come back from
    `submit` and `drain` in input order, each with its items."""

    def __init__(
        self,
        spec: Source,
        rules: Any,
        lim: Limits,
        workers: int,
        *,
        always: bool = False,
        overlap: bool = True,
    ) -> None:
        """`workers` processes at most; `always`: start them even for small batches; `overlap`:
        prepare batches here while they start (else every batch after the first waits for them).
        """
        self._spec, self._rules, self._lim = spec, rules, lim
        self._workers = workers if spec.name in WORKER_SOURCES and spec.convert else 0
        self._always, self._overlap = always, overlap
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[tuple[Batch, Future[Prepared]]] = deque()
        self._started: threading.Thread | None = None
        self.remote = 0
        """Batches prepared in a worker process."""

    def submit(self, items: Batch, *, more: bool) -> Iterator[tuple[Batch, Prepared]]:
        """Prepare `items` (in a worker when `more` batches follow); yield what has finished."""
        if self._workers == 0 or (self._pool is None and not more):
            yield items, self._here(items)
            return
        if self._pool is None:  # the first of several
            if not self._always and _text_bytes(items) < MIN_BATCH_BYTES:
                self._workers = 0  # small batches: not worth a process
                yield items, self._here(items)
                return
            self._start()
            yield items, self._here(items)  # while the workers start
            return
        assert self._started is not None
        if self._overlap and self._started.is_alive() and not self._pending:
            yield items, self._here(items)  # the workers are still starting
            return
        self._started.join()
        job = self._pool.submit(_remote, self._spec.name, items, self._rules, self._lim)
        self._pending.append((items, job))
        self.remote += 1
        while len(self._pending) > self._workers:
            yield self._next()

    def _here(self, items: Batch) -> Prepared:
        return prepare(self._spec, items, self._rules, self._lim)

    def drain(self) -> Iterator[tuple[Batch, Prepared]]:
        """The batches still in the workers, in order."""
        while self._pending:
            yield self._next()

    def _next(self) -> tuple[Batch, Prepared]:
        items, future = self._pending.popleft()
        try:
            return items, future.result()
        except BrokenProcessPool:
            raise VsmmlError(
                "an ingest worker process stopped unexpectedly (out of memory?); the batches"
                f" before it are stored; set {WORKERS_ENV}=0 to ingest in this process only"
            ) from None

    def _start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        module = f"vsmml.events.connectors.{self._spec.name}"
        context.set_forkserver_preload(["__main__", __name__, "vsmml.pipeline.ingest", module])
        self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
        pool = self._pool

        def warm() -> None:  # starting the forkserver waits for its imports: not on this thread
            for future in [pool.submit(_ready) for _ in range(self._workers)]:
                future.exception()

        self._started = threading.Thread(target=warm, name="vsmml-ingest-workers", daemon=True)
        self._started.start()

    def close(self) -> None:
        """Stop the workers (waiting for none: what is pending is not needed any more)."""
        if self._started is not None:
            self._started.join()
        if self._pool is not None:
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            _stop_forkserver()

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_forkserver() -> None:
    """Stop the forkserver with its workers (it would otherwise live until this process ends;
    waiting for it also counts its CPU time as this process's children's)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # no public API
    if stop is not None:
        stop()


def _text_bytes(items: Batch) -> int:
    return sum(len(item[1]) for item in items if isinstance(item, tuple))


def _ready() -> int:
    return os.getpid()


def _remote(name: str, items: Batch, rules: Any, lim: Limits) -> Prepared:
    """A batch prepared in a worker: the source is looked up by name (built-in sources only)."""
    from vsmml.pipeline.ingest.registry import get_source

    return prepare(get_source(name), items, rules, lim)
