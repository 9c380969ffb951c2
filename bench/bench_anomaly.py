"""Throughput of anomaly scoring: points per second over a long minute-resolution series.

Run `.venv/bin/python bench/bench_anomaly.py [--quick] [--detectors default,stl,...]`. The
reference is the issue's floor for the default detector: 20,000 points/s on one core.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from vsmml.anomaly import get_detector

REFERENCE_PPS = 20_000.0


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
    """Score once and measure seconds, throughput and peak traced memory."""
    det = get_detector(name)
    tracemalloc.start()
    t0 = time.perf_counter()
    scores = det.score(frame)
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert scores.shape == (len(frame),)
    pps = len(frame) / secs
    return {
        "detector": name,
        "rows": float(len(frame)),
        "seconds": secs,
        "points/s": pps,
        "peak MiB": peak / 2**20,
        "x reference": pps / REFERENCE_PPS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--detectors", default="default")
    args = parser.parse_args()
    frame = synthetic_series(100_000 if args.quick else 1_000_000)
    rows = [run(name, frame) for name in args.detectors.split(",")]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


if __name__ == "__main__":
    main()
