"""Scoring latency: the numpy tree evaluator vs LightGBM's booster vs the sklearn wrapper, and
the cold start of `vsmml score` (repeated subprocess timing, like hyperfine).

Prints one table: case, rows, p50 and p99 seconds per call, throughput, peak RSS, ratio to the
stated reference. The model is the committed default (`models/risk/`) when it exists, else a
`ChangeRiskModel()` trained here on the synthetic organisation (seed 42).
Run: `.venv/bin/python bench/bench_scoring.py [--quick]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

from child_run import repeat_child

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

Row = dict[str, object]


def _rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def latency(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """(p50, p99) seconds of `fn` over `reps` calls after a few warm-up calls."""
    for _ in range(min(20, reps)):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    q = np.quantile(np.asarray(times), [0.5, 0.99])
    return float(q[0]), float(q[1])


def cold_start(
    cmd: list[str], runs: int, env: dict[str, str] | None = None
) -> tuple[float, float, float, float]:
    """(mean, sd, min, peak child RSS MiB) wall seconds of `cmd` run `runs` times (1 warm-up)."""
    times, peak = repeat_child(cmd, runs, env, interval=0.005, check=False)
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    return statistics.mean(times), sd, min(times), peak


def model_folder(quick: bool, workdir: Path) -> Path:
    """The committed default risk model, else one trained on the synthetic organisation."""
    repo = Path(__file__).resolve().parents[1] / "models" / "risk"
    for cand in (repo, *sorted(repo.glob("*"))):
        if (cand / "model.txt").is_file() and (cand / "model.json").is_file():
            return cand
    from vsmml.models.risk import ChangeRiskModel
    from vsmml.pipeline.training.risk import risk_data_synthetic

    data = risk_data_synthetic(42, days=60 if quick else 180)
    cols = [*data.features, "committed_at"]
    model = ChangeRiskModel().fit(data.frame[cols], data.frame["bug"])
    model.save(workdir / "risk")
    return workdir / "risk"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller batch")
    args = parser.parse_args()
    reps = 300 if args.quick else 3000
    batch_rows = 20_000 if args.quick else 200_000
    runs = 5 if args.quick else 20

    import lightgbm as lgb
    import pandas as pd

    from vsmml.models.risk import ChangeRiskModel
    from vsmml.models.risk_scoring import RiskScorer
    from vsmml.models.treeeval import TreeEnsemble

    with tempfile.TemporaryDirectory() as tmp:
        folder = model_folder(args.quick, Path(tmp))
        text = (folder / "model.txt").read_text()
        booster = lgb.Booster(model_str=text)
        trees = TreeEnsemble.from_text(text)
        scorer = RiskScorer.from_dir(folder)
        risk = ChangeRiskModel.load(folder)
        rng = np.random.default_rng(0)
        n_feat = trees.n_features
        inputs = scorer.input_columns
        frame = pd.DataFrame({c: rng.gamma(1.0, 20.0, batch_rows) for c in inputs})
        frame["committed_at"] = pd.Timestamp("2026-01-01", tz="UTC")
        m = scorer.matrix({c: frame[c].to_numpy() for c in inputs})
        row = m[:1]
        change = {c: float(frame[c].iloc[0]) for c in inputs}
        one = frame.iloc[:1]
        wrapper = lgb.LGBMClassifier(
            n_estimators=trees.n_trees,
            num_leaves=int(risk.best_params_["num_leaves"]),
            verbosity=-1,
            n_jobs=1,
        ).fit(m[:5000], (rng.random(5000) < 0.2).astype(int))
        info = f"{trees.n_trees} trees, {len(trees.leaf_value)} leaves, {n_feat} features"
        print(f"model: {folder} ({info}); blend weight {scorer.weight}")

        rows: list[Row] = []

        def add(case: str, n: int, fn: Callable[[], object], ref: float | None, r: int) -> float:
            p50, p99 = latency(fn, r)
            rows.append(
                {
                    "case": case,
                    "rows": n,
                    "p50_s": p50,
                    "p99_s": p99,
                    "rows_per_s": n / p50,
                    "peak_mib": _rss_mib(),
                    "ratio": (p50 / ref) if ref else None,
                }
            )
            return p50

        base = add(
            "booster.predict raw, 1 row (reference)",
            1,
            lambda: booster.predict(row, raw_score=True, num_threads=1),
            None,
            reps,
        )
        add("TreeEnsemble.predict_raw, 1 row", 1, lambda: trees.predict_raw(row), base, reps)
        add(
            "LGBMClassifier.predict_proba, 1 row",
            1,
            lambda: wrapper.predict_proba(row),
            base,
            max(reps // 10, 30),
        )
        add(
            "ChangeRiskModel.predict_proba, 1-row frame",
            1,
            lambda: risk.predict_proba(one),
            base,
            max(reps // 10, 30),
        )
        add(
            "RiskScorer: dict -> probability",
            1,
            lambda: scorer.predict_proba(scorer.matrix(change)),
            base,
            reps,
        )
        cbase = add(
            "booster.predict pred_contrib, 1 row",
            1,
            lambda: booster.predict(row, pred_contrib=True, num_threads=1),
            None,
            max(reps // 3, 30),
        )
        add(
            "TreeEnsemble.predict_contrib, 1 row",
            1,
            lambda: trees.predict_contrib(row),
            cbase,
            max(reps // 3, 30),
        )
        add(
            "RiskScorer.score (prob + top-5 reasons)",
            1,
            lambda: scorer.score(change),
            cbase,
            max(reps // 3, 30),
        )
        bb = add(
            "booster.predict raw, batch (1 thread)",
            batch_rows,
            lambda: booster.predict(m, raw_score=True, num_threads=1),
            None,
            3,
        )
        add("TreeEnsemble.predict_raw, batch", batch_rows, lambda: trees.predict_raw(m), bb, 3)

        score_cmd = [
            str(Path(sys.executable).parent / "vsmml"),
            "score",
            "--model",
            str(folder),
            "--la",
            "120",
            "--ld",
            "30",
            "--nf",
            "4",
        ]
        default_cmd = [str(Path(sys.executable).parent / "vsmml"), "score", *score_cmd[4:]]
        starts = [
            ("python -c pass (reference)", [sys.executable, "-c", "pass"]),
            ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"]),
            ("python -c 'import pandas'", [sys.executable, "-c", "import pandas"]),
            ("python -c 'import lightgbm'", [sys.executable, "-c", "import lightgbm"]),
            ("python -c 'import mlflow'", [sys.executable, "-c", "import mlflow"]),
            ("python -c 'import vsmml.cli'", [sys.executable, "-c", "import vsmml.cli"]),
            ("vsmml score --model M --la 120 --ld 30 --nf 4", score_cmd),
            ("vsmml score --la 120 --ld 30 --nf 4 (default)", default_cmd),
        ]
        ref = None
        means: dict[str, float] = {}
        # bytecode is cached as on a user's install (pip and `make install` compile it): with
        # PYTHONDONTWRITEBYTECODE set, every start would compile pandas again
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["VSMML_HOME"] = str(Path(tmp) / "empty-home")
        for case, cmd in starts:
            mean, sd, low, peak = cold_start(cmd, runs, env)
            ref = ref or mean
            means[case] = mean
            rows.append(
                {
                    "case": f"cold start: {case}",
                    "rows": runs,
                    "p50_s": mean,
                    "p99_s": sd,
                    "rows_per_s": low,
                    "peak_mib": peak,
                    "ratio": mean / ref,
                }
            )

    print(f"{'case':<48}{'rows':>8}{'p50 s':>11}{'p99 s':>11}{'rows/s':>12}{'MiB':>8}{'ratio':>8}")
    for r in rows:
        cold = str(r["case"]).startswith("cold")
        ratio = r["ratio"]
        print(
            f"{r['case']!s:<48}{r['rows']:>8}{r['p50_s']:>11.6f}{r['p99_s']:>11.6f}"
            + (f"{r['rows_per_s']:>12.3f}" if cold else f"{r['rows_per_s']:>12,.0f}")
            + f"{r['peak_mib']:>8.0f}"
            + (f"{ratio:>8.2f}" if isinstance(ratio, float) else f"{'':>8}")
        )
    print(
        "cold-start rows: p50 = mean wall s, p99 = sd, rows/s column = fastest run (s), "
        "MiB = peak child RSS; ratio vs `python -c pass`."
    )
    if means:
        numpy_s = means["python -c 'import numpy'"]
        score_s = means["vsmml score --la 120 --ld 30 --nf 4 (default)"]
        print(
            f"vsmml score (default model, empty VSMML_HOME) / python -c 'import numpy': "
            f"{score_s:.3f} s / {numpy_s:.3f} s = {score_s / numpy_s:.2f}x (budget 3x)"
        )


if __name__ == "__main__":
    main()
