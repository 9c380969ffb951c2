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


def _regimes(
    rng: np.random.Generator, n_weeks: int, moving: bool, batching: bool
) -> tuple[BottleneckRegime, ...]:
    """Plant the bottleneck: one stage leads the runner-up by 8-20 % of the runner-up's share."""
    starts = [0]
    if moving and n_weeks >= 4:
        n_moves = 1 + int(rng.random() < 0.4)
        cands = np.arange(2, n_weeks - 1)
        picks = sorted(rng.choice(cands, size=min(n_moves, len(cands)), replace=False).tolist())
        starts += [int(w) for w in picks]
    regimes: list[BottleneckRegime] = []
    previous = ""
    for week in starts:
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
        regimes.append(BottleneckRegime(week, stage, runner, lead, means))
        previous = stage
    return tuple(regimes)


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
    services: list[ServicePlan] = []
    for i in range(n):
        n_deps = min(i, int(rng.poisson(1.3)))
        deps = rng.choice(i, size=n_deps, replace=False) if n_deps else np.array([], dtype=int)
        team_index = i % config.n_teams
        cadence = int(rng.choice([3, 4, 6]))
        hours = tuple(range(int(rng.integers(0, cadence)), 24, cadence))
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
                regimes=_regimes(rng, n_weeks, bool(moving[i]), bool(batching[i])),
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
