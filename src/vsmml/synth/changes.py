"""Per-service work: change arrivals (weekday/night seasonality), JIT metrics, commits, review.

Times are int64 microseconds since the epoch (UTC) throughout the generator; they become
`datetime64[us, UTC]` only when frames are emitted.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.synth.config import WORK_TYPES, SynthConfig
from vsmml.synth.org import OrgPlan, ServicePlan

US: Final = 1_000_000
MINUTE: Final = 60 * US
HOUR: Final = 3600 * US
DAY: Final = 24 * HOUR
WEEK: Final = 7 * DAY

# Relative intensity of work by UTC hour of day (working hours 08-18) and weekday (Mon=0).
HOUR_PROFILE: Final = np.array(
    [0.03] * 7 + [0.3] + [1.0] * 10 + [0.4, 0.25, 0.1] + [0.05] * 3, dtype=float
)
WEEKDAY_PROFILE: Final = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.08, 0.05], dtype=float)
ARRIVAL_STREAM: Final = 1


def start_us(config: SynthConfig) -> int:
    """The period start as epoch microseconds."""
    return int(config.start.value // 1000)


def arrival_times(config: SynthConfig, svc: ServicePlan) -> np.ndarray:
    """First-commit times of a service's changes: Poisson per hour, shaped by hour and weekday.

    Uses its own random stream so a chunk can regenerate the arrivals of sibling services
    (reviewer load is counted per team) without generating anything else of theirs.
    """
    rng = np.random.default_rng([config.seed, svc.index, ARRIVAL_STREAM])
    hours = np.arange(config.days * 24)
    shape = HOUR_PROFILE[hours % 24] * WEEKDAY_PROFILE[(hours // 24) % 7]
    lam = shape / shape.sum() * config.changes_per_service_day * config.days * svc.activity
    counts = rng.poisson(lam)
    hour_of = np.repeat(hours, counts)
    offset = rng.integers(0, HOUR, size=hour_of.size)
    return np.sort(start_us(config) + hour_of.astype(np.int64) * HOUR + offset)


def team_load(config: SynthConfig, plan: OrgPlan, svc: ServicePlan, t: np.ndarray) -> np.ndarray:
    """Reviewer load at each time: team changes that arrived in the trailing 24 h per developer."""
    team_arrivals = np.sort(
        np.concatenate(
            [arrival_times(config, plan.services[i]) for i in plan.team_members(svc.team_index)]
        )
    )
    recent = np.searchsorted(team_arrivals, t, side="left") - np.searchsorted(
        team_arrivals, t - DAY, side="left"
    )
    return np.asarray(recent / config.devs_per_team, dtype=float)


def draw_changes(
    config: SynthConfig, plan: OrgPlan, svc: ServicePlan, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per change: identity, work type, author, JIT metrics, coding time, review shape."""
    first = arrival_times(config, svc)
    n = first.size
    k = np.arange(n)
    work_type = rng.choice(np.array(WORK_TYPES), size=n, p=[0.55, 0.25, 0.05, 0.15])
    devs = np.array([f"{svc.team}-dev{j + 1}" for j in range(config.devs_per_team)])
    dev_idx = rng.integers(0, config.devs_per_team, size=n)
    dev_base = np.random.default_rng([config.seed, 7_000 + svc.team_index]).lognormal(
        np.log(150.0), 1.0, config.devs_per_team
    )
    # Kamei just-in-time metrics, heavy-tailed.
    la = np.minimum(np.round(rng.lognormal(3.4, 1.4, n)), 20_000).astype(np.int64)
    ld = np.minimum(np.round(la * rng.lognormal(-1.0, 1.0, n)), 20_000).astype(np.int64)
    lt = np.round(rng.lognormal(6.0, 1.2, n)).astype(np.int64)
    nf = 1 + rng.poisson(np.power(la + ld + 1, 0.4) / 2.0)
    nd = np.minimum(nf, 1 + rng.poisson(np.sqrt(nf) / 2.0))
    ns = np.minimum(nd, 1 + rng.binomial(2, 0.15, n))
    entropy = np.where(nf > 1, np.log2(np.maximum(nf, 1)) * rng.beta(3.0, 1.5, n), 0.0)
    ndev = 1 + rng.poisson(1.0 + np.power(nf, 0.5), n)
    age = np.round(rng.lognormal(np.log(30.0), 1.1, n), 2)
    nuc = 1 + rng.poisson(nf * 2.5)
    prior = pd.Series(dev_idx).groupby(dev_idx).cumcount().to_numpy()
    exp = np.round(dev_base[dev_idx] + prior).astype(np.int64)
    rexp = np.round(exp * rng.uniform(0.05, 0.3, n), 2)
    sexp = np.round(exp * rng.uniform(0.1, 0.9, n)).astype(np.int64)
    fix = (work_type == "defect").astype(np.int64)
    n_commits = 1 + rng.binomial(4, np.clip(0.1 + 0.05 * np.log1p(la + ld), 0.0, 0.9))
    coding = (rng.lognormal(np.log(5.0), 0.9, n) * HOUR).astype(np.int64) + 10 * MINUTE
    load = team_load(config, plan, svc, first + coding)
    rounds = 1 + rng.binomial(2, np.clip(0.08 * np.log1p(la + ld) - 0.1, 0.0, 0.8))
    reviewers = 1 + (rng.random(n) < 0.35)
    return pd.DataFrame(
        {
            "k": k,
            "change_id": [f"{svc.name}-c{i:05d}" for i in k],
            "work_id": [f"{svc.name}-w{i:05d}" for i in k],
            "work_type": work_type,
            "author": devs[dev_idx],
            "n_commits": n_commits,
            "la": la,
            "ld": ld,
            "lt": lt,
            "nf": nf,
            "ns": ns,
            "nd": nd,
            "entropy": np.round(entropy, 4),
            "ndev": ndev,
            "age": age,
            "nuc": nuc,
            "exp": exp,
            "rexp": rexp,
            "sexp": sexp,
            "fix": fix,
            "review_rounds": rounds,
            "n_reviewers": reviewers,
            "team_load": load,
            "first_commit_us": first,
            "opened_us": first + coding,
            "week": (first - start_us(config)) // WEEK,
            "work_created_us": first
            - (rng.lognormal(np.log(36.0), 1.0, n) * HOUR).astype(np.int64),
            "work_started_us": first - rng.integers(MINUTE, HOUR, size=n),
        }
    )


def hex_ids(rng: np.random.Generator, n: int, n_bytes: int = 20) -> list[str]:
    """`n` random lower-case hex strings of `2 * n_bytes` characters (commit shas, digests)."""
    raw = rng.integers(0, 256, size=(n, n_bytes), dtype=np.uint8)
    return [row.hex() for row in raw.view(f"S{n_bytes}").ravel().tolist()]


def draw_commits(changes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Commits of every change, spread from first commit to just before the change opens.

    The last commit of a change is its head (opened with it, merged as it) and carries the
    change's Kamei metrics; earlier commits carry their own share of lines added/deleted.
    """
    nc = changes["n_commits"].to_numpy()
    idx = np.repeat(np.arange(len(changes)), nc)
    pos = np.arange(idx.size) - np.repeat(np.cumsum(nc) - nc, nc)
    is_last = pos == nc[idx] - 1
    first = changes["first_commit_us"].to_numpy()[idx]
    opened = changes["opened_us"].to_numpy()[idx]
    span = np.maximum(opened - first - MINUTE, 0)
    frac = np.where(pos == 0, 0.0, rng.random(idx.size))
    frac = np.where(is_last & (pos > 0), 1.0, frac)
    frac = frac[np.lexsort((frac, idx))]  # ascending within each change (groups are contiguous)
    ts = first + (frac * span).astype(np.int64)
    share = rng.dirichlet(np.ones(5), size=idx.size)[:, 0]
    la = changes["la"].to_numpy()[idx]
    ld = changes["ld"].to_numpy()[idx]
    return pd.DataFrame(
        {
            "change_idx": idx,
            "pos": pos,
            "is_last": is_last,
            "sha": hex_ids(rng, idx.size),
            "ts_us": ts,
            "la": np.where(is_last, la, np.round(la * share)).astype(np.int64),
            "ld": np.where(is_last, ld, np.round(ld * share)).astype(np.int64),
        }
    )
