"""CI pipelines: attempts with flaky failures and retries, stage runs with queue and run times.

A flaky failure fails one stage of an attempt; the stages after it do not run, and a new
pipeline (new pipeline_id, attempt + 1, same sha) is started a few minutes later. The third
attempt always passes. Queue time (`queue_s`) is wait; run time (`duration_s`) is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vsmml.synth.changes import MINUTE, US
from vsmml.synth.config import PIPELINE_STAGES

# Median active run time of each stage in minutes: integration tests run longest, which is
# why "the longest stage" is usually not the bottleneck (that is decided by wait time).
STAGE_RUN_MEDIAN_MIN: Final = np.array([4.0, 6.0, 15.0, 5.0, 2.0])
FLAKY_STAGE_P: Final = np.array([0.1, 0.45, 0.45, 0.0, 0.0])
TEST_STAGES: Final = (1, 2)
MAX_ATTEMPTS: Final = 3


@dataclass
class Pipelines:
    """Attempt-level and stage-run-level arrays of every pipeline of one service."""

    att_change: np.ndarray
    att_number: np.ndarray
    att_failed: np.ndarray
    att_gap_us: np.ndarray
    run_attempt: np.ndarray
    run_change: np.ndarray
    run_stage: np.ndarray
    run_dur_us: np.ndarray
    run_failed: np.ndarray
    run_queue_noise: np.ndarray
    run_tests: np.ndarray


def plan_pipelines(flaky_p: np.ndarray, rng: np.random.Generator) -> Pipelines:
    """Draw attempts (flaky failures, retries) and stage runs for changes with failure odds."""
    n = flaky_p.size
    fails = rng.random((n, MAX_ATTEMPTS)) < flaky_p[:, None]
    fails[:, MAX_ATTEMPTS - 1] = False
    n_att = 1 + fails[:, 0] + (fails[:, 0] & fails[:, 1])
    att_change = np.repeat(np.arange(n), n_att)
    att_number = np.arange(att_change.size) - np.repeat(np.cumsum(n_att) - n_att, n_att) + 1
    att_failed = fails[att_change, att_number - 1]
    fail_stage = np.where(
        att_failed, rng.choice(len(PIPELINE_STAGES), size=att_change.size, p=FLAKY_STAGE_P), -1
    )
    att_gap = np.where(att_number > 1, rng.integers(2 * MINUTE, 25 * MINUTE, att_change.size), 0)
    n_runs = np.where(att_failed, fail_stage + 1, len(PIPELINE_STAGES))
    run_attempt = np.repeat(np.arange(att_change.size), n_runs)
    run_stage = np.arange(run_attempt.size) - np.repeat(np.cumsum(n_runs) - n_runs, n_runs)
    run_failed = att_failed[run_attempt] & (run_stage == fail_stage[run_attempt])
    med = STAGE_RUN_MEDIAN_MIN[run_stage] * 60.0
    dur_s = rng.lognormal(np.log(med), 0.35)
    dur_s = np.where(run_failed, dur_s * rng.uniform(0.2, 0.9, run_stage.size), dur_s)
    tests = np.zeros((run_stage.size, 3), dtype=np.int64)
    is_test = np.isin(run_stage, TEST_STAGES)
    total = np.where(run_stage == 1, 400, 120) + rng.integers(0, 60, run_stage.size)
    skipped = rng.binomial(total, 0.02)
    failed_tests = np.where(run_failed, 1 + rng.binomial(3, 0.3, run_stage.size), 0)
    tests[:, 0] = np.where(is_test, total - skipped - failed_tests, 0)
    tests[:, 1] = np.where(is_test, failed_tests, 0)
    tests[:, 2] = np.where(is_test, skipped, 0)
    return Pipelines(
        att_change=att_change,
        att_number=att_number,
        att_failed=att_failed,
        att_gap_us=att_gap.astype(np.int64),
        run_attempt=run_attempt,
        run_change=att_change[run_attempt],
        run_stage=run_stage,
        run_dur_us=(dur_s * US).astype(np.int64),
        run_failed=run_failed,
        run_queue_noise=rng.lognormal(-0.02, 0.2, run_stage.size),
        run_tests=tests,
    )


def group_starts(a: np.ndarray) -> np.ndarray:
    """True where a run of equal values in `a` begins (empty in, empty out)."""
    return np.asarray(np.r_[True, a[1:] != a[:-1]][: a.size])


def group_ends(a: np.ndarray) -> np.ndarray:
    """True where a run of equal values in `a` ends (empty in, empty out)."""
    return np.asarray(np.r_[a[1:] != a[:-1], True][: a.size])


@dataclass
class PipelineTimes:
    """When each stage run and each attempt started and finished (epoch µs)."""

    run_start: np.ndarray
    run_end: np.ndarray
    att_start: np.ndarray
    att_end: np.ndarray
    change_end: np.ndarray


def time_pipelines(
    p: Pipelines, start_us: np.ndarray, run_queue_us: np.ndarray, n_changes: int
) -> PipelineTimes:
    """Lay out every run back to back: start of pipeline, queue, run, next stage, retry gap ..."""
    first_of_attempt = group_starts(p.run_attempt)
    gap = np.where(first_of_attempt, p.att_gap_us[p.run_attempt], 0)
    inc = gap + run_queue_us + p.run_dur_us
    cs = np.cumsum(inc)
    first_of_change = group_starts(p.run_change)
    base = np.zeros(n_changes, dtype=np.int64)
    base[p.run_change[first_of_change]] = (cs - inc)[first_of_change]
    run_end = start_us[p.run_change] + cs - base[p.run_change]
    run_start = run_end - p.run_dur_us
    n_att = p.att_change.size
    att_start = np.zeros(n_att, dtype=np.int64)
    att_start[p.run_attempt[first_of_attempt]] = (run_start - run_queue_us)[first_of_attempt]
    att_end = np.zeros(n_att, dtype=np.int64)
    last_of_attempt = group_ends(p.run_attempt)
    att_end[p.run_attempt[last_of_attempt]] = run_end[last_of_attempt]
    change_end = np.zeros(n_changes, dtype=np.int64)
    last_of_change = group_ends(p.run_change)
    change_end[p.run_change[last_of_change]] = run_end[last_of_change]
    return PipelineTimes(run_start, run_end, att_start, att_end, change_end)
