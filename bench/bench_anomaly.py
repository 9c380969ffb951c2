"""Throughput of anomaly scoring: points per second on a long minute-resolution series.

Two paths: the detector's `score(frame)` on an in-memory frame (one process, one call), and the
command a user runs, `vsmml anomalies --file series.csv` (a fresh process: start-up, CSV parsing,
scoring, the report). Run

    .venv/bin/python bench/bench_anomaly.py [--quick] [--detectors default,windowed_gaussian]
        [--no-cli]

The reference is the issue's floor for the default detector: 100,000 points/s on one core.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from vsmml.anomaly import get_detector

REFERENCE_PPS = 100_000.0


def synthetic_series(rows: int, seed: int = 0) -> pd.DataFrame:
    """Minute series with daily and weekly seasonality, noise, spikes, a level shift and gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    value = (
        100
        + 20 * np.sin(2 * np.pi * t / 1440)
        + 8 * np.sin(2 * np.pi * t / 10080)
        + rng.normal(0, 3, rows)
    )
    spikes = rng.choice(rows, size=max(1, rows // 5000), replace=False)
    value[spikes] += 40
    value[rows // 2 :] += 15
    value[rng.choice(rows, size=rows // 1000, replace=False)] = np.nan
    ts = pd.date_range("2024-01-01", periods=rows, freq="min", tz="UTC")
    return pd.DataFrame({"timestamp": ts, "value": value})


def run(name: str, frame: pd.DataFrame) -> dict[str, float | str]:
    """Score once in this process and measure seconds, throughput and peak traced memory."""
    det = get_detector(name)
    det.score(frame.iloc[:2000])  # imports and first-call costs out of the measurement
    t0, c0 = time.perf_counter(), time.process_time()
    scores = det.score(frame)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    tracemalloc.start()  # a second call for the memory: tracing slows the first one down
    det.score(frame)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert scores.shape == (len(frame),)
    return row(f"{name}: score(frame)", len(frame), secs, cpu, peak / 2**20)


def run_cli(frame: pd.DataFrame) -> dict[str, float | str]:
    """`vsmml anomalies --file` on the series written as CSV, in a fresh process."""
    vsmml = Path(sys.executable).with_name("vsmml")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "series.csv"
        frame.to_csv(path, index=False)
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [str(vsmml), "anomalies", "--file", str(path), "--top", "5"],
            capture_output=True,
            text=True,
            check=False,
        )
        secs = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"vsmml anomalies failed: {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return row("default: vsmml anomalies --file (CSV)", len(frame), secs, cpu,
               after.ru_maxrss / 1024)  # fmt: skip


def row(case: str, rows: int, secs: float, cpu: float, mib: float) -> dict[str, float | str]:
    """One table row; points/s per CPU second is the one-core rate when the machine is busy."""
    return {
        "case": case,
        "rows": float(rows),
        "seconds": secs,
        "CPU s": cpu,
        "points/s": rows / secs,
        "points/CPU s": rows / cpu,
        "peak MiB": mib,
        "x reference (CPU)": rows / cpu / REFERENCE_PPS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--detectors", default="default,windowed_gaussian")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line row")
    args = parser.parse_args()
    frame = synthetic_series(100_000 if args.quick else 1_000_000)
    rows = [run(name, frame) for name in args.detectors.split(",")]
    if not args.no_cli:
        rows.append(run_cli(frame))
    print("peak MiB: traced allocations in-process; max RSS of the child for the command;")
    print("CPU s: process time (one core), the fair rate when other jobs share the machine")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


if __name__ == "__main__":
    main()
