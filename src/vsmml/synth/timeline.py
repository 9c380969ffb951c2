"""Times of every stage of every change of one service, with the planted wait shares enforced.

Wait per stage (what a constraint finder measures, see docs/synthetic-org.md):
review = opened → first review; each CI stage = the sum of its `queue_s` over all attempts;
staging = artifact published → staging deploy started; production = max(0, start of the first
production deploy containing the change − its own staging deploy finished). A change belongs to
the Monday-based week of its first commit. The plan is `org.weekly_plan`'s target (the regimes,
the ramps before moves, week-to-week noise). Review, CI and staging waits are rescaled per
service-week so that their weekly totals equal it exactly; production waits come out of
batching and release windows, so the per-week ask is corrected over a few rounds, and where
production still overshoots, the week's other stages are scaled up to keep the shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.synth.changes import DAY, HOUR, MINUTE, US, WEEK
from vsmml.synth.config import PIPELINE_STAGES, WAIT_STAGES, SynthConfig
from vsmml.synth.deploys import Production, production, train_departures
from vsmml.synth.org import ServicePlan, ramp_stage, weekly_plan
from vsmml.synth.pipeline import Pipelines, PipelineTimes, plan_pipelines, time_pipelines

N_STAGES = len(WAIT_STAGES)
I_REVIEW, I_STAGING, I_PROD = 0, N_STAGES - 2, N_STAGES - 1
ROUNDS = 12
OUTER = 4
RAMP_SLOPE = 1.0  # within a ramp week, the incoming stage's waits grow from ×0.5 to ×1.5


@dataclass
class Timeline:
    """Decided times of one service (changes by index k; deploys in merge order)."""

    first_review: np.ndarray
    review_times: list[np.ndarray]
    merged: np.ndarray
    pipelines: Pipelines
    ptimes: PipelineTimes
    run_queue_us: np.ndarray
    published: np.ndarray
    staging_start: np.ndarray
    staging_finish: np.ndarray
    order: np.ndarray  # change indices in merge order
    prod: Production
    prod_group: np.ndarray  # per change (by k): production deploy index
    waits_us: np.ndarray  # (n_changes, N_STAGES) realised wait per stage
    planned_h: np.ndarray  # (n_weeks, N_STAGES) planted mean wait per change (hours)


def ramp_shape(svc: ServicePlan, n_weeks: int, week: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Per change and stage, a multiplier of its wait draw before the weekly rescale.

    1 everywhere except the stage building up before a move: in its ramp weeks a change's wait
    grows with its position in the week (`frac` in [0, 1)), so the queue keeps growing within
    the week too (the weekly total still equals the plan).
    """
    out = np.ones((week.size, N_STAGES))
    ramping = ramp_stage(svc, n_weeks)[week] if week.size else np.zeros(0, dtype=np.int64)
    hit = np.flatnonzero(ramping >= 0)
    out[hit, ramping[hit]] = 1.0 + RAMP_SLOPE * (frac[hit] - 0.5)
    return out


def _rescale(values: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Scale `values` so that each group's sum equals `totals[group]`."""
    sums = np.bincount(group, weights=values, minlength=totals.size)
    factor = np.divide(totals, sums, out=np.zeros_like(totals), where=sums > 0)
    return np.asarray(values * factor[group])


def daily_congestion(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """A slowly varying (AR(1), rho 0.7) multiplicative load factor per day, mean about 1.

    Queues are congested for days at a time, so changes that follow each other wait alike
    (independent draws would let later changes overtake earlier ones far too often).
    """
    eps = rng.normal(0.0, 0.35, n_days)
    ar = np.zeros(n_days)
    for d in range(n_days):
        ar[d] = (0.7 * ar[d - 1] if d else 0.0) + eps[d] * np.sqrt(1 - 0.49)
    return np.asarray(np.exp(ar - 0.35**2 / 2))


def _weekly_mean(values: np.ndarray, week: np.ndarray, n_weeks: int) -> np.ndarray:
    counts = np.bincount(week, minlength=n_weeks)
    sums = np.bincount(week, weights=values, minlength=n_weeks)
    return np.divide(sums, counts, out=np.zeros(n_weeks), where=counts > 0)


def cut_multipliers(config: SynthConfig, svc: ServicePlan, n_weeks: int) -> np.ndarray | None:
    """Per week and stage, the factor of `config.wait_cuts` on `svc`'s waits (None: no cut)."""
    cuts = [c for c in config.wait_cuts if c.applies_to(svc.name)]
    if not cuts:
        return None
    out = np.ones((n_weeks, N_STAGES))
    for c in cuts:
        out[c.from_week :, WAIT_STAGES.index(c.stage)] *= c.factor
    return out


@dataclass
class _Draws:
    """The random draws of one service's timeline (made once, laid out several times)."""

    week: np.ndarray
    counts: np.ndarray
    opened: np.ndarray
    review_noise: np.ndarray
    offsets: np.ndarray
    merge_delay: np.ndarray
    trigger: np.ndarray
    pipes: Pipelines
    run_key: np.ndarray
    publish_delay: np.ndarray
    stg_noise: np.ndarray
    stg_dur: np.ndarray
    prod_noise: np.ndarray
    prod_dur: np.ndarray
    trains: np.ndarray | None


@dataclass
class _Layout:
    """Times of one layout of the draws against a weekly target."""

    first_review: np.ndarray
    merged: np.ndarray
    run_queue: np.ndarray
    ptimes: PipelineTimes
    published: np.ndarray
    stg_start: np.ndarray
    stg_finish: np.ndarray
    order: np.ndarray
    prod: Production
    group: np.ndarray
    prod_real: np.ndarray


def _layout(d: _Draws, target: np.ndarray) -> _Layout:
    """Lay the draws out so each service-week's waits meet `target` (hours per change)."""
    week, counts = d.week, d.counts
    n, n_weeks = week.size, counts.size
    ok = counts > 0
    review_wait = _rescale(d.review_noise, week, target[:, I_REVIEW] * HOUR * counts)
    first_review = d.opened + review_wait.astype(np.int64)
    merged = first_review + d.offsets[:, -1] + d.merge_delay
    queue_tot = (target[:, 1 : 1 + len(PIPELINE_STAGES)] * HOUR * counts[:, None]).ravel()
    run_queue = _rescale(d.pipes.run_queue_noise, d.run_key, queue_tot).astype(np.int64)
    ptimes = time_pipelines(d.pipes, merged + d.trigger, run_queue, n)
    published = ptimes.change_end + d.publish_delay
    stg_wait = _rescale(d.stg_noise, week, target[:, I_STAGING] * HOUR * counts)
    stg_start = published + stg_wait.astype(np.int64)
    stg_finish = stg_start + d.stg_dur
    order = np.argsort(merged, kind="stable")
    ready = stg_finish[order]
    c_prod = np.ones(n_weeks)
    for _ in range(ROUNDS):
        want = d.prod_noise * c_prod[week] * target[week, I_PROD] * HOUR
        prod = production(ready, want[order].astype(np.int64), d.trains, d.prod_dur)
        group = np.empty(n, dtype=np.int64)
        group[order] = prod.change_group
        prod_wait = np.maximum(prod.start[group] - stg_finish, 0).astype(float)
        prod_real = _weekly_mean(prod_wait, week, n_weeks)
        ratio = target[ok, I_PROD] * HOUR / np.maximum(prod_real[ok], 1.0)
        c_prod[ok] = np.clip(c_prod[ok] * ratio, 0.0, 50.0)
    return _Layout(
        first_review=first_review,
        merged=merged,
        run_queue=run_queue,
        ptimes=ptimes,
        published=published,
        stg_start=stg_start,
        stg_finish=stg_finish,
        order=order,
        prod=prod,
        group=group,
        prod_real=prod_real,
    )


def build_timeline(
    config: SynthConfig, svc: ServicePlan, changes: pd.DataFrame, rng: np.random.Generator
) -> Timeline:
    """Decide review, CI, staging and production times so the planted wait shares hold."""
    n = len(changes)
    week = changes["week"].to_numpy()
    n_weeks = int(week.max()) + 1 if n else 1
    counts = np.bincount(week, minlength=n_weeks).astype(float)
    plan_weeks = max(n_weeks, (config.days + 6) // 7)
    plan_all, target_all = weekly_plan(config.seed, svc, plan_weeks)
    planned, target = plan_all[:n_weeks], target_all[:n_weeks].copy()
    opened = changes["opened_us"].to_numpy()
    first = changes["first_commit_us"].to_numpy()
    frac = ((first - int(config.start.value // 1000)) % WEEK) / WEEK
    shape = ramp_shape(svc, n_weeks, week, frac)
    load = changes["team_load"].to_numpy()
    review_noise = (
        rng.lognormal(-0.18, 0.6, n)
        * (0.4 + 0.6 * load / max(load.mean() if n else 1.0, 1e-9))
        * shape[:, I_REVIEW]
    )
    rounds = changes["review_rounds"].to_numpy()
    gaps = rng.uniform(1.0, 6.0, (n, 3)) * HOUR
    gaps[:, 0] = 0.0
    gaps = np.where(np.arange(3)[None, :] < rounds[:, None], gaps, 0.0)
    offsets = np.cumsum(gaps, axis=1).astype(np.int64)
    merge_delay = rng.integers(2 * MINUTE, 45 * MINUTE, n)
    trigger = rng.integers(20 * US, 180 * US, n)
    day = ((opened - int(config.start.value // 1000)) // DAY).astype(np.int64)
    congestion = daily_congestion(rng, config.days + 1)[np.clip(day, 0, config.days)]
    pipes = plan_pipelines(np.full(n, svc.flakiness), rng)
    pipes.run_queue_noise *= (
        congestion[pipes.run_change] * shape[pipes.run_change, 1 + pipes.run_stage]
    )
    publish_delay = rng.integers(5 * US, 60 * US, n)
    stg_noise = congestion * rng.lognormal(0.0, 0.2, n) * shape[:, I_STAGING]
    stg_dur = (rng.lognormal(np.log(4.0), 0.3, n) * MINUTE).astype(np.int64)
    prod_noise = rng.lognormal(-0.08, 0.4, n) * shape[:, I_PROD]
    prod_dur = (rng.lognormal(np.log(6.0), 0.3, n) * MINUTE).astype(np.int64)
    trains = train_departures(config, svc) if svc.batches_deploys else None
    run_week = week[pipes.run_change]
    draws = _Draws(
        week=week,
        counts=counts,
        opened=opened,
        review_noise=review_noise,
        offsets=offsets,
        merge_delay=merge_delay,
        trigger=trigger,
        pipes=pipes,
        run_key=run_week * len(PIPELINE_STAGES) + pipes.run_stage,
        publish_delay=publish_delay,
        stg_noise=stg_noise,
        stg_dur=stg_dur,
        prod_noise=prod_noise,
        prod_dur=prod_dur,
        trains=trains,
    )
    ok = counts > 0
    for _outer in range(OUTER):
        used = target.copy()
        lay = _layout(draws, used)
        prod_real = lay.prod_real
        # Production could not get down to its plan (batching, release windows): scale the rest
        # of the week's plan up to the production wait it got, so the shares hold; lay it out again.
        excess = np.ones(n_weeks)
        excess[ok] = prod_real[ok] / (target[ok, I_PROD] * HOUR)
        if np.all(excess <= 1.01):
            break
        target[:, :I_PROD] *= np.maximum(excess, 1.0)[:, None]
        target[ok, I_PROD] = np.maximum(target[ok, I_PROD], prod_real[ok] / HOUR)
    cut = cut_multipliers(config, svc, n_weeks)
    if cut is not None:
        # The intervention comes after the plan is settled: the cut stages' waits shrink, and
        # the other stages do not react (no share-keeping rescale for the cut).
        lay = _layout(draws, used * cut)
        planned = planned * cut
    first_review, merged, ptimes = lay.first_review, lay.merged, lay.ptimes
    run_queue, published = lay.run_queue, lay.published
    stg_start, stg_finish, order = lay.stg_start, lay.stg_finish, lay.order
    prod, group = lay.prod, lay.group
    waits = np.zeros((n, N_STAGES))
    waits[:, I_REVIEW] = first_review - opened
    per_stage = np.zeros((n, len(PIPELINE_STAGES)))
    np.add.at(per_stage, (pipes.run_change, pipes.run_stage), run_queue)
    waits[:, 1 : 1 + len(PIPELINE_STAGES)] = per_stage
    waits[:, I_STAGING] = stg_start - published
    waits[:, I_PROD] = np.maximum(prod.start[group] - stg_finish, 0)
    return Timeline(
        first_review=first_review,
        review_times=[first_review + offsets[:, j] for j in range(3)],
        merged=merged,
        pipelines=pipes,
        ptimes=ptimes,
        run_queue_us=run_queue,
        published=published,
        staging_start=stg_start,
        staging_finish=stg_finish,
        order=order,
        prod=prod,
        prod_group=group,
        waits_us=waits,
        planned_h=planned,
    )
