"""PeakRss: the peak resident memory of this process while a benchmark step runs.

Shared by the bench scripts (run as ``python bench/<script>.py``, which puts this folder on the
import path); not product code, so it lives here rather than in ``src/vsmml``.
"""

from __future__ import annotations

import threading

import psutil


class PeakRss:
    """Samples this process's resident memory every `interval` seconds (20 ms by default).

    Use as a context manager around the measured step: `peak` is the maximum seen in bytes
    (sampled on entry, while running and on exit), `mib` the same in MiB.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.peak = max(self.peak, self.proc.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def mib(self) -> float:
        """The peak in MiB."""
        return self.peak / 2**20
