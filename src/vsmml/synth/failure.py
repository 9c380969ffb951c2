"""The known change-failure function and the delivery context it reads.

`failure_probability` is the ground truth a change-failure model should learn: a logistic
function of log-scaled just-in-time metrics and of the change's delivery context (pipeline
flakiness, time since the last deploy, deploy batch size, the service's recent failure rate,
review depth). Every input is observable from the emitted events.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.errors import DataError

FAILURE_FEATURES: Final[tuple[str, ...]] = (
    "la",
    "ld",
    "nf",
    "entropy",
    "ndev",
    "exp",
    "fix",
    "pipeline_flakiness",
    "hours_since_last_deploy",
    "deploy_batch_size",
    "service_recent_failure_rate",
    "review_rounds",
    "n_reviewers",
)

INTERCEPT: Final = -6.8
COEFFICIENTS: Final[dict[str, float]] = {
    "log1p(la + ld)": 0.8,
    "log1p(nf)": 0.5,
    "entropy": 0.4,
    "log1p(ndev)": 0.4,
    "log1p(exp)": -0.45,
    "fix": 0.9,
    "pipeline_flakiness": 9.0,
    "log1p(hours_since_last_deploy)": 0.3,
    "log1p(deploy_batch_size - 1)": 0.7,
    "service_recent_failure_rate": 3.0,
    "review_rounds - 1": -0.5,
    "n_reviewers - 1": -0.6,
}


def failure_logit(features: pd.DataFrame) -> np.ndarray:
    """The linear predictor (log-odds of failure) of `failure_probability`."""
    missing = [c for c in FAILURE_FEATURES if c not in features.columns]
    if missing:
        raise DataError(f"failure_probability: features lack column(s) {missing}")
    f = {c: features[c].to_numpy(dtype=float) for c in FAILURE_FEATURES}
    terms = {
        "log1p(la + ld)": np.log1p(f["la"] + f["ld"]),
        "log1p(nf)": np.log1p(f["nf"]),
        "entropy": f["entropy"],
        "log1p(ndev)": np.log1p(f["ndev"]),
        "log1p(exp)": np.log1p(f["exp"]),
        "fix": f["fix"],
        "pipeline_flakiness": f["pipeline_flakiness"],
        "log1p(hours_since_last_deploy)": np.log1p(np.maximum(f["hours_since_last_deploy"], 0)),
        "log1p(deploy_batch_size - 1)": np.log1p(np.maximum(f["deploy_batch_size"] - 1, 0)),
        "service_recent_failure_rate": f["service_recent_failure_rate"],
        "review_rounds - 1": f["review_rounds"] - 1,
        "n_reviewers - 1": f["n_reviewers"] - 1,
    }
    z = np.full(len(features), INTERCEPT)
    for name, coef in COEFFICIENTS.items():
        z = z + coef * terms[name]
    return z


def failure_probability(features: pd.DataFrame) -> np.ndarray:
    """Probability that a change fails in production (causes an incident), from its features.

    p = 1 / (1 + exp(-z)), z = INTERCEPT + sum(COEFFICIENTS[term] * term), with the terms
    log1p(la + ld), log1p(nf), entropy, log1p(ndev), log1p(exp), fix, pipeline_flakiness,
    log1p(hours_since_last_deploy), log1p(deploy_batch_size - 1), service_recent_failure_rate,
    review_rounds - 1 and n_reviewers - 1. `features` needs the columns in FAILURE_FEATURES
    (the truth `changes` table has them all).
    """
    return np.asarray(1.0 / (1.0 + np.exp(-failure_logit(features))))


def trailing_rate(
    event_ts: np.ndarray, event_hit: np.ndarray, at: np.ndarray, window_us: int
) -> np.ndarray:
    """Share of events in [at - window, at) that are hits (0 where there were none)."""
    order = np.argsort(event_ts, kind="stable")
    ts = event_ts[order]
    hits = np.r_[0, np.cumsum(event_hit[order].astype(np.int64))]
    hi = np.searchsorted(ts, at, side="left")
    lo = np.searchsorted(ts, at - window_us, side="left")
    n = hi - lo
    return np.asarray(np.divide(hits[hi] - hits[lo], n, out=np.zeros(at.size), where=n > 0))


def decide_failures(
    features: pd.DataFrame,
    deploy_start: np.ndarray,
    uniforms: np.ndarray,
    window_us: int,
    block_us: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide which changes fail, feeding each block's failures into later recent-failure rates.

    Changes are processed in blocks of deploy time (`block_us`, a week); a change's
    service_recent_failure_rate is the failed share of the changes deployed in the `window_us`
    before its block started (so the rate uses only failures already decided).
    Returns (recent failure rate, p_fail, failed).
    """
    n = len(features)
    rate = np.zeros(n)
    failed = np.zeros(n, dtype=bool)
    p = np.zeros(n)
    if n == 0:
        return rate, p, failed
    block = (deploy_start - deploy_start.min()) // block_us
    feats = features.copy()
    for b in np.unique(block):
        cur = block == b
        done = block < b
        b_start = deploy_start.min() + b * block_us
        start_rate = trailing_rate(
            deploy_start[done], failed[done], np.array([b_start]), window_us
        )[0]
        rate[cur] = start_rate
        feats.loc[cur, "service_recent_failure_rate"] = start_rate
        p[cur] = failure_probability(feats.loc[cur])
        failed[cur] = uniforms[cur] < p[cur]
    return rate, p, failed
