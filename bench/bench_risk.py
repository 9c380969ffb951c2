"""Benchmark ChangeRiskModel: training on 1 M changes, single-change latency, batch throughput.

Run: ``.venv/bin/python bench/bench_risk.py [--quick]`` (``--quick``: 100 k training rows and
fewer repetitions). Prints one table: rows, seconds, throughput, peak memory and the ratio to
the stated reference (p99 single-change latency target 1 ms; sklearn-wrapper latency).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from peak_rss import PeakRss
from vsmml.models.risk import ChangeRiskModel
from vsmml.models.risk_features import build_matrix, column_arrays


def changes(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """JIT metrics and two context columns failing by a known logistic function."""
    rng = np.random.default_rng(seed)
    nf = rng.integers(1, 20, n).astype(float)
    la = np.round(rng.lognormal(3.0, 1.5, n))
    ld = np.round(rng.lognormal(2.0, 1.5, n))
    exp = rng.integers(0, 2000, n).astype(float)
    x = pd.DataFrame(
        {
            "ns": rng.integers(1, 4, n).astype(float),
            "nd": np.minimum(nf, rng.integers(1, 6, n)).astype(float),
            "nf": nf,
            "entropy": rng.random(n) * np.log2(nf + 1),
            "la": la,
            "ld": ld,
            "lt": np.round(rng.lognormal(6, 1, n)) * nf,
            "fix": (rng.random(n) < 0.3).astype(float),
            "ndev": rng.integers(1, 30, n).astype(float),
            "age": rng.random(n) * 200,
            "nuc": rng.integers(1, 50, n).astype(float),
            "exp": exp,
            "rexp": exp * rng.random(n) / 10,
            "sexp": exp * rng.random(n),
            "committed_at": pd.date_range("2020-01-01", periods=n, freq="2min", tz="UTC"),
            "pipeline_flakiness": rng.random(n) * 0.2,
            "review_depth": rng.integers(0, 5, n).astype(float),
        }
    )
    logit = -3.2 + 0.55 * np.log1p(la + ld) + 0.8 * x["fix"] - 0.25 * np.log1p(exp)
    logit += 6.0 * x["pipeline_flakiness"] - 0.3 * x["review_depth"]
    return x, pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int))


def latencies(fn: Callable[[], object], reps: int) -> np.ndarray:
    for _ in range(20):
        fn()
    out = np.empty(reps)
    for i in range(reps):
        t = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t
    return out * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_train = 100_000 if args.quick else 1_000_000
    reps = 300 if args.quick else 2000
    x, y = changes(n_train)
    rows = []
    with PeakRss() as mem:
        start = time.perf_counter()
        model = ChangeRiskModel().fit(x, y)
        fit_s = time.perf_counter() - start
    rows.append(("fit (tuned, calibrated)", n_train, fit_s, n_train / fit_s, mem.mib, "-"))

    one = x.iloc[[0]]
    m = build_matrix(column_arrays(one, model.input_columns_), model.feature_names_)
    booster_ms = latencies(lambda: model.calibrator_.transform(model.raw_from_matrix(m)), reps)
    frame_ms = latencies(lambda: model.predict_proba(one), reps)
    import lightgbm as lgb

    wrapper = lgb.LGBMClassifier(n_estimators=model.best_params_["n_estimators"], verbose=-1)
    wrapper.fit(x.iloc[:20_000][model.input_columns_], y.iloc[:20_000])
    row = one[model.input_columns_]
    wrapper_ms = latencies(lambda: wrapper.predict_proba(row), max(reps // 4, 50))
    for name, ms in (
        ("1 change: booster on numpy (p50)", np.percentile(booster_ms, 50)),
        ("1 change: booster on numpy (p99)", np.percentile(booster_ms, 99)),
        ("1 change: predict_proba(frame) p99", np.percentile(frame_ms, 99)),
        ("1 change: sklearn wrapper (p50)", np.percentile(wrapper_ms, 50)),
        ("1 change: sklearn wrapper (p99)", np.percentile(wrapper_ms, 99)),
    ):
        rows.append((name, 1, ms / 1e3, 1e3 / ms, float("nan"), f"{ms / 1.0:.2f}x of 1 ms"))

    batch = x.iloc[:100_000]
    start = time.perf_counter()
    model.predict_proba(batch)
    s = time.perf_counter() - start
    rows.append(("batch predict_proba", len(batch), s, len(batch) / s, float("nan"), "-"))
    few = x.iloc[:2000]
    start = time.perf_counter()
    model.explain(few, top=5)
    s = time.perf_counter() - start
    rows.append(("explain top-5", len(few), s, len(few) / s, float("nan"), f"{s / 2:.3f} ms/chg"))
    table = pd.DataFrame(rows, columns=["step", "rows", "seconds", "rows/s", "peak MiB", "ratio"])
    ratio = np.percentile(wrapper_ms, 50) / np.percentile(booster_ms, 50)
    with pd.option_context("display.width", 160, "display.float_format", "{:.5g}".format):
        print(table.to_string(index=False))
    print(f"sklearn wrapper / booster, single change p50: {ratio:.0f}x")
    print(f"tuned: {model.best_params_}")


if __name__ == "__main__":
    main()
