"""CI metrics from pipeline, stage and test events: success, duration, flakiness, test pass rate.

- ``pipeline_success_rate``: successful ÷ finished pipeline runs (every attempt is a run);
- ``pipeline_duration_median`` / ``_p85``: run time in hours (``attrs.duration_s``, else
  finished − started of the same pipeline id);
- ``pipeline_flakiness``: runs that failed and were followed by a successful run of the same sha
  (a failure that passes on retry) ÷ runs; ``pipeline_flaky_failures`` counts them;
- ``test_pass_rate``: Σ passed ÷ Σ (passed + failed) over ``test.finished`` events.

Runs are counted in the period they finished.
"""

from __future__ import annotations

import pandas as pd

from vsmml.correlate.extract import attr_number, lookup, of_kind
from vsmml.events.schema import STR_DTYPE
from vsmml.metrics.frames import (
    By,
    combine,
    count_metric,
    group_columns,
    keyed,
    positive,
    quantile_metrics,
    ratio_metric,
)
from vsmml.metrics.profiles import Profile, get_profile


def pipeline_runs(events: pd.DataFrame) -> pd.DataFrame:
    """One row per finished pipeline run: pipeline_id, sha, service, team, repo, finished_at,
    success, duration_h, flaky (failed, and a later run of the same sha succeeded)."""
    fin = of_kind(events, "pipeline.finished")
    fin = fin.loc[fin["pipeline_id"].notna()].sort_values("ts", kind="stable")
    fin = fin.drop_duplicates("pipeline_id", keep="last")
    started = of_kind(events, "pipeline.started")
    start = started.groupby("pipeline_id", observed=True)["ts"].min()
    start.index = start.index.astype(STR_DTYPE)
    out = fin[["pipeline_id", "sha", "service", "team", "repo"]].copy()
    out["finished_at"] = fin["ts"]
    out["success"] = (fin["status"].astype(STR_DTYPE) == "success").fillna(False).to_numpy(bool)
    dur = attr_number(fin, "duration_s") / 3600.0
    began = lookup(fin["pipeline_id"].astype(STR_DTYPE), start)
    fallback = (fin["ts"] - began).dt.total_seconds() / 3600.0
    out["duration_h"] = dur.fillna(fallback)
    sha = out["sha"].astype(STR_DTYPE)
    ok_time = out["finished_at"].where(out["success"])
    last_ok = ok_time.groupby(sha.to_numpy(), sort=False).transform("max")
    later_ok = last_ok.notna() & (last_ok > out["finished_at"])
    out["flaky"] = (~out["success"] & later_ok & sha.notna()).to_numpy(dtype=bool)
    return out.reset_index(drop=True)


def pipeline_metrics(
    events: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Success rate, duration, flakiness and test pass rate as one tidy frame."""
    prof = get_profile(profile)
    cols = group_columns(by)
    runs = pipeline_runs(events)
    keys = keyed(runs, runs["finished_at"], by, freq)
    idx = [*cols, "period"]
    parts = []
    if len(runs):
        g = keys.assign(
            s=runs["success"].astype("float64").to_numpy(),
            f=runs["flaky"].astype("float64").to_numpy(),
        ).groupby(idx, dropna=False)
        parts += [
            ratio_metric(g["s"].sum(), g.size(), "pipeline_success_rate", cols),
            ratio_metric(g["f"].sum(), g.size(), "pipeline_flakiness", cols),
            count_metric(g["f"].sum().astype("int64"), "pipeline_flaky_failures", cols),
            quantile_metrics(positive(runs["duration_h"]), keys, prof, "pipeline_duration"),
        ]
    parts.append(pass_rate_of_tests(events, by, freq))
    return combine(parts, cols)


def pass_rate_of_tests(
    events: pd.DataFrame, by: By = "service", freq: str | None = "W"
) -> pd.DataFrame:
    """``test_pass_rate``: Σ passed ÷ Σ (passed + failed) (n = tests run, skipped excluded)."""
    cols = group_columns(by)
    tests = of_kind(events, "test.finished")
    if tests.empty:
        return combine([], cols)
    passed = attr_number(tests, "passed").fillna(0.0).to_numpy()
    failed = attr_number(tests, "failed").fillna(0.0).to_numpy()
    keys = keyed(tests, tests["ts"], by, freq).assign(p=passed, t=passed + failed)
    g = keys.groupby([*cols, "period"], dropna=False)
    return ratio_metric(g["p"].sum(), g["t"].sum(), "test_pass_rate", cols)
