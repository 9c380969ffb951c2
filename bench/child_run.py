"""Time a command in a child process and sample its resident memory: the one subprocess timer
the bench scripts share (run as ``python bench/<script>.py``, which puts this folder on the
import path; not product code, so it lives here rather than in ``src/vsmml``).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class ChildRun:
    """One run: wall seconds start to exit, the child's peak RSS in MiB, its exit code and
    standard error."""

    seconds: float
    peak_mib: float
    returncode: int
    stderr: str


def run_child(
    cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.01
) -> ChildRun:
    """Run `cmd` (standard output discarded), sampling the child's RSS every `interval` s."""
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss / 2**20)
        except psutil.Error:
            break
        time.sleep(interval)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return ChildRun(seconds, peak, int(proc.returncode), err)


def repeat_child(
    cmd: list[str],
    runs: int,
    env: dict[str, str] | None = None,
    *,
    interval: float = 0.01,
    check: bool = True,
) -> tuple[list[float], float]:
    """Wall seconds of `runs` runs after one unmeasured warm-up, and the largest peak RSS (MiB);
    with `check`, a failing run stops the benchmark with its command and exit code."""
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    times: list[float] = []
    peak = 0.0
    for _ in range(runs):
        run = run_child(cmd, env, interval)
        if check and run.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with {run.returncode}: {run.stderr[-500:]}")
        times.append(run.seconds)
        peak = max(peak, run.peak_mib)
    return times, peak
