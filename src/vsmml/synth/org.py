"""The organisation's structure: services, teams, repos, dependency DAG and per-service plans.

Everything here is drawn from one organisation-level random stream, so every chunk of services
sees the same plan (the basis of chunked generation being identical to whole generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from vsmml.synth.config import WAIT_STAGES, SynthConfig

_SERVICE_NAMES: Final = (
    "checkout",
    "payments",
    "catalog",
    "search",
    "cart",
    "accounts",
    "inventory",
    "shipping",
    "notifications",
    "pricing",
    "reviews",
    "gateway",
)
_TEAM_NAMES: Final = ("atlas", "borealis", "cobalt", "delta", "ember", "fjord")

# Natural mean wait per change in hours of each wait stage (before a bottleneck is planted).
NATURAL_WAIT_H: Final[dict[str, float]] = {
    "review": 3.0,
    "build": 0.25,
    "unit-tests": 0.3,
    "integration-tests": 0.6,
    "security-scan": 0.4,
    "package": 0.15,
    "staging": 1.2,
    "production": 2.0,
}
ORG_STREAM: Final = 1_000_003
PLAN_STREAM: Final = 3
FLUX_STREAM: Final = 17  # per-service stream of the regimes when the organisation is in flux
MIN_MOVE_GAP: Final = 4  # weeks between two moves (room for the next ramp)
RAMP_GAP: Final = (0.05, 0.12)  # the old bottleneck's lead over the incoming stage at ramp end
WEEK_NOISE_SIGMA: Final = 0.1  # lognormal week-to-week noise of every stage's planned wait
LEAD_NOISE_SIGMA: Final = 0.3  # lognormal noise of the planted stage's weekly lead
LEAD_BOUNDS: Final = (0.07, 0.22)  # the planted stage's weekly lead over the next, after noise


def service_names(n: int) -> list[str]:
    """Readable, unique service names (`checkout` ... then `svc-013` ...)."""
    return [_SERVICE_NAMES[i] if i < len(_SERVICE_NAMES) else f"svc-{i + 1:03d}" for i in range(n)]


def team_names(n: int) -> list[str]:
    """Readable, unique team names."""
    return [_TEAM_NAMES[i] if i < len(_TEAM_NAMES) else f"team-{i + 1:02d}" for i in range(n)]


@dataclass(frozen=True)
class BottleneckRegime:
    """From `week` on (index of the Monday-based week), the planted mean wait per stage."""

    week: int
    stage: str
    runner_up: str
    lead: float
    mean_wait_h: dict[str, float]
    ramp_weeks: int = 0
    """Weeks before `week` in which `stage` builds up (0 for the first regime)."""


@dataclass(frozen=True)
class ServicePlan:
    """What the generator decided for one service before generating any of its work."""

    index: int
    name: str
    team: str
    team_index: int
    repo: str
    batches_deploys: bool
    train_hours: tuple[int, ...]
    activity: float
    flakiness: float
    traffic_per_min: float
    base_error_rate: float
    depends_on: tuple[str, ...]
    regimes: tuple[BottleneckRegime, ...]


@dataclass(frozen=True)
class OrgPlan:
    """The planned organisation: one `ServicePlan` per service plus lookup helpers."""

    config: SynthConfig
    services: tuple[ServicePlan, ...]
    teams: tuple[str, ...]
    n_weeks: int

    def team_members(self, team_index: int) -> list[int]:
        """Indices of the services owned by one team."""
        return [s.index for s in self.services if s.team_index == team_index]


def _move_weeks(rng: np.random.Generator, n_weeks: int, moving: bool) -> list[int]:
    """Weeks at which the planted bottleneck moves: none, one or two, `MIN_MOVE_GAP` apart."""
    if not moving or n_weeks < 4:
        return []
    cands = np.arange(2, n_weeks - 1)
    first = int(rng.choice(cands))
    if rng.random() >= 0.4:
        return [first]
    spaced = cands[np.abs(cands - first) >= MIN_MOVE_GAP]
    return sorted([first, int(rng.choice(spaced))]) if spaced.size else [first]


def flux_move_weeks(rng: np.random.Generator, n_weeks: int, every: int) -> list[int]:
    """Weeks at which the bottleneck moves in an organisation in flux: about every `every` weeks.

    The first move falls in weeks 2 .. `every` (uniform); each next one follows after a gap
    drawn uniformly from `every` ± `every` // 3 (at least `MIN_MOVE_GAP`, room for its ramp).
    Moves stop one week before the end of the plan, like `_move_weeks`.
    """
    spread = every // 3
    week = int(rng.integers(2, every + 1))
    out: list[int] = []
    while week < n_weeks - 1:
        out.append(week)
        week += max(int(rng.integers(every - spread, every + spread + 1)), MIN_MOVE_GAP)
    return out


def _regimes(
    rng: np.random.Generator,
    n_weeks: int,
    moving: bool,
    batching: bool,
    every: int | None = None,
) -> tuple[BottleneckRegime, ...]:
    """Plant the bottleneck: one stage leads the runner-up by 8-20 % of the runner-up's share.

    A move to a new stage is announced by a ramp of 1-3 weeks (fewer when the previous regime
    is younger) in which the incoming stage's wait builds up (see `weekly_plan`). A moving
    service moves once or twice (`every` None) or about every `every` weeks (`flux_move_weeks`).
    """
    if every is None:
        moves = _move_weeks(rng, n_weeks, moving)
    else:
        moves = flux_move_weeks(rng, n_weeks, every) if moving and n_weeks >= 4 else []
    starts = [0, *moves]
    regimes: list[BottleneckRegime] = []
    previous = ""
    for j, week in enumerate(starts):
        natural = {k: v * float(rng.uniform(0.7, 1.3)) for k, v in NATURAL_WAIT_H.items()}
        if batching:  # release trains: changes wait for the next departure
            natural["production"] *= 2.5
        choices = [s for s in WAIT_STAGES if s != previous]
        stage = str(rng.choice(choices))
        runner = str(rng.choice([s for s in WAIT_STAGES if s != stage]))
        lead = float(rng.uniform(0.08, 0.2))
        others = max(v for k, v in natural.items() if k not in (stage, runner))
        runner_mean = others * float(rng.uniform(1.25, 1.6))
        means = dict(natural)
        means[runner] = runner_mean
        means[stage] = runner_mean * (1.0 + lead)
        ramp = 0
        if j:
            ramp = min(int(rng.integers(1, 4)), week - starts[j - 1] - 1)
        regimes.append(BottleneckRegime(week, stage, runner, lead, means, ramp))
        previous = stage
    return tuple(regimes)


def ramp_stage(svc: ServicePlan, n_weeks: int) -> np.ndarray:
    """Per week: the index (in `WAIT_STAGES`) of the stage building up before a move, else -1."""
    out = np.full(n_weeks, -1, dtype=np.int64)
    for r in svc.regimes[1:]:
        lo, hi = max(r.week - r.ramp_weeks, 0), min(r.week, n_weeks)
        out[lo:hi] = WAIT_STAGES.index(r.stage)
    return out


def weekly_plan(seed: int, svc: ServicePlan, n_weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """The planted mean wait per change (hours), shape (n_weeks, stages): (plan, target).

    `plan` is the regimes' plan with the ramps: in the `ramp_weeks` before a move the incoming
    stage's wait climbs linearly from its level in the old regime to within `RAMP_GAP` of the old
    bottleneck (a new constraint builds up: its queue grows before it overtakes). `target` is
    what the timeline enforces: every other stage's plan times lognormal week-to-week noise
    (`WEEK_NOISE_SIGMA`, from the service's own plan stream); the planted stage is set to the
    largest of them times one plus its planned lead (its regime's lead, or the ramp's gap) with
    lognormal noise (`LEAD_NOISE_SIGMA`), kept within `LEAD_BOUNDS`: it leads every week, by at
    most 22 % (production, laid out by release windows, may drift a little).
    """
    k = len(WAIT_STAGES)
    plan = np.zeros((n_weeks, k))
    stage = np.zeros(n_weeks, dtype=np.int64)
    for r in svc.regimes:
        plan[r.week :] = [r.mean_wait_h[s] for s in WAIT_STAGES]
        stage[r.week :] = WAIT_STAGES.index(r.stage)
    rng = np.random.default_rng([seed, svc.index, PLAN_STREAM])
    for prev, r in zip(svc.regimes, svc.regimes[1:], strict=False):
        gap = float(rng.uniform(*RAMP_GAP))
        s = WAIT_STAGES.index(r.stage)
        v0 = prev.mean_wait_h[r.stage]
        v1 = max(v0, prev.mean_wait_h[prev.stage] / (1.0 + gap))
        for j in range(1, r.ramp_weeks + 1):
            w = r.week - r.ramp_weeks + j - 1
            if 0 <= w < n_weeks:
                plan[w, s] = v0 + (v1 - v0) * j / r.ramp_weeks
    rows = np.arange(n_weeks)
    others = plan.copy()
    others[rows, stage] = -np.inf
    lead = plan[rows, stage] / others.max(axis=1) - 1.0
    target = plan * rng.lognormal(0.0, WEEK_NOISE_SIGMA, plan.shape)
    lead = np.clip(lead * rng.lognormal(0.0, LEAD_NOISE_SIGMA, n_weeks), *LEAD_BOUNDS)
    target[rows, stage] = -np.inf
    target[rows, stage] = target.max(axis=1) * (1.0 + lead)
    return plan, target


def plan_org(config: SynthConfig) -> OrgPlan:
    """Draw the organisation's structure and every per-service plan from the org-level stream."""
    rng = np.random.default_rng([config.seed, ORG_STREAM])
    n = config.n_services
    names = service_names(n)
    teams = team_names(config.n_teams)
    n_weeks = (config.days + 6) // 7
    n_batching = round(config.batching_share * n)
    batching = np.zeros(n, dtype=bool)
    batching[rng.choice(n, size=n_batching, replace=False)] = True
    moving = rng.random(n) < config.moving_bottleneck_share
    activity = rng.lognormal(0.0, 0.3, n)
    flakiness = rng.uniform(0.03, 0.15, n)
    traffic = rng.lognormal(np.log(400.0), 0.8, n)
    base_err = rng.uniform(0.0001, 0.0004, n)
    every = config.bottleneck_move_every_weeks
    services: list[ServicePlan] = []
    for i in range(n):
        n_deps = min(i, int(rng.poisson(1.3)))
        deps = rng.choice(i, size=n_deps, replace=False) if n_deps else np.array([], dtype=int)
        team_index = i % config.n_teams
        cadence = int(rng.choice([3, 4, 6]))
        hours = tuple(range(int(rng.integers(0, cadence)), 24, cadence))
        # The default regimes are always drawn from the org stream, so that an organisation in
        # flux keeps every other decision (dependencies, release windows, the services that do
        # not move) of the default one; only the moving services get the flux plan.
        regimes = _regimes(rng, n_weeks, bool(moving[i]), bool(batching[i]))
        if every is not None and moving[i]:
            flux = np.random.default_rng([config.seed, i, FLUX_STREAM])
            regimes = _regimes(flux, n_weeks, bool(moving[i]), bool(batching[i]), every)
        services.append(
            ServicePlan(
                index=i,
                name=names[i],
                team=teams[team_index],
                team_index=team_index,
                repo="monorepo" if config.monorepo else f"{names[i]}-repo",
                batches_deploys=bool(batching[i]),
                train_hours=hours,
                activity=float(activity[i]),
                flakiness=float(flakiness[i]),
                traffic_per_min=float(traffic[i]),
                base_error_rate=float(base_err[i]),
                depends_on=tuple(names[j] for j in sorted(deps.tolist())),
                regimes=regimes,
            )
        )
    return OrgPlan(config=config, services=tuple(services), teams=tuple(teams), n_weeks=n_weeks)


def services_frame(plan: OrgPlan) -> pd.DataFrame:
    """Ground-truth table of services (team, repo, batching, dependencies as a list)."""
    return pd.DataFrame(
        {
            "service": [s.name for s in plan.services],
            "team": [s.team for s in plan.services],
            "repo": [s.repo for s in plan.services],
            "batches_deploys": [s.batches_deploys for s in plan.services],
            "pipeline_flakiness": [s.flakiness for s in plan.services],
            "depends_on": [list(s.depends_on) for s in plan.services],
        }
    ).astype({"service": "str", "team": "str", "repo": "str"})


def dependencies_frame(plan: OrgPlan) -> pd.DataFrame:
    """One row per dependency edge (service depends on depends_on); a DAG by construction."""
    rows = [(s.name, d) for s in plan.services for d in s.depends_on]
    return pd.DataFrame(rows, columns=["service", "depends_on"]).astype("str")
