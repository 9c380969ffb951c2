"""Batches written by one background thread while the next batch is parsed and converted.

Webhook-shaped sources spend most of a batch in Python (parsing, converting, validating) and
the rest in DuckDB (raw payloads, events, quarantine, the commit), which releases the GIL: with
the write of batch N on a second thread, batch N+1 is prepared meanwhile and both cores work.
At most one batch is being written while the next is prepared (memory stays bounded), batches
commit in input order, each in its own transaction, and the last one (or the only one, as in
an HTTP request) is written on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING

from vsmml.pipeline.ingest.gc_pause import gc_paused

if TYPE_CHECKING:
    from vsmml.store import WriteReport


class BatchWriter:
    """Run write jobs one at a time, the newest in the background, folding results in order."""

    def __init__(self, fold: Callable[[WriteReport], None]) -> None:
        self._fold = fold
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[WriteReport] | None = None

    def write(self, job: Callable[[], WriteReport], *, last: bool) -> None:
        """Wait for the batch being written, then write this one (in the background unless
        it is the last)."""
        self.wait()
        if last:
            self._fold(_paused(job))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vsmml-ingest-writer")
        self._pending = self._pool.submit(_paused, job)

    def wait(self) -> None:
        """Wait for the batch being written and fold its report (its error is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._fold(pending.result())

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.wait()
            elif self._pending is not None:  # the caller failed: let the write finish first
                self._pending.exception()
                self._pending = None
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


def _paused(job: Callable[[], WriteReport]) -> WriteReport:
    with gc_paused():
        return job()
