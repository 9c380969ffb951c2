"""Incidents from failing changes (and some with no identifiable cause), rollbacks, flag flips.

A failing change breaks production when it ships (or, behind a feature flag, when the flag is
switched on). The incident opens at detection (onset + time to detect) and is resolved by a
rollback, by switching the flag off, or by a fix forward. Every incident is also an SLO burn
episode from onset to resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsmml.synth.changes import DAY, HOUR, MINUTE
from vsmml.synth.config import SynthConfig

SEVERITIES = np.array(["sev1", "sev2", "sev3"])


@dataclass
class Incidents:
    """Incident arrays of one service (caused ones first, in change order; then no-cause ones)."""

    incident_id: list[str]
    change_idx: np.ndarray  # -1 when no identifiable cause
    deploy_group: np.ndarray  # production deploy index, -1 when no cause
    onset: np.ndarray
    opened: np.ndarray
    resolved: np.ndarray
    severity: np.ndarray
    explicit_link: np.ndarray
    burn_rate: np.ndarray
    rollback_at: np.ndarray  # -1 when not rolled back
    flag_off_at: np.ndarray  # -1 when not a flag flip


def draw_incidents(
    config: SynthConfig,
    service: str,
    failed: np.ndarray,
    group: np.ndarray,
    prod_finish: np.ndarray,
    flag_on: np.ndarray,
    rng: np.random.Generator,
) -> Incidents:
    """Incidents of one service from its failed changes plus a Poisson number of causeless ones.

    `flag_on` is the flag switch-on time per change (-1 when the change has no flag).
    """
    idx = np.flatnonzero(failed)
    flagged = flag_on[idx] >= 0
    onset_c = np.where(
        flagged, flag_on[idx], prod_finish[group[idx]] + rng.integers(0, 10 * MINUTE, idx.size)
    )
    n_free = int(rng.poisson(config.spontaneous_incidents_per_30d * config.days / 30.0))
    start = int(config.start.value // 1000)
    onset_f = np.sort(start + rng.integers(0, config.days * DAY, n_free))
    onset = np.r_[onset_c, onset_f].astype(np.int64)
    n = onset.size
    detect = (rng.lognormal(np.log(20.0), 0.7, n) * MINUTE).astype(np.int64) + MINUTE
    opened = onset + detect
    # One rollback per deploy at most: the first unflagged failure of a deploy may roll it back.
    first_of_deploy = np.zeros(idx.size, dtype=bool)
    if idx.size:
        _, first = np.unique(group[idx], return_index=True)
        first_of_deploy[first] = True
    roll = (
        (~flagged)
        & first_of_deploy
        & (group[idx] > 0)
        & (rng.random(idx.size) < config.rollback_share)
    )
    rollback_at = np.full(n, -1, dtype=np.int64)
    rollback_at[: idx.size] = np.where(
        roll, opened[: idx.size] + rng.integers(10 * MINUTE, 45 * MINUTE, idx.size), -1
    )
    flag_off = np.full(n, -1, dtype=np.int64)
    flag_off[: idx.size] = np.where(
        flagged, opened[: idx.size] + rng.integers(5 * MINUTE, 30 * MINUTE, idx.size), -1
    )
    fix_forward = opened + (rng.lognormal(np.log(2.0), 0.8, n) * HOUR).astype(np.int64)
    resolved = np.where(rollback_at >= 0, rollback_at + 15 * MINUTE, fix_forward)
    resolved = np.where(flag_off >= 0, flag_off + 10 * MINUTE, resolved)
    severity = rng.choice(SEVERITIES, size=n, p=[0.1, 0.3, 0.6])
    burn = np.clip(rng.lognormal(np.log(8.0), 0.7, n), 2.0, 60.0) * np.where(
        severity == "sev1", 2.5, 1.0
    )
    explicit = np.r_[
        rng.random(idx.size) < config.explicit_incident_link_share, np.zeros(n_free, bool)
    ]
    return Incidents(
        incident_id=[f"{service}-i{j:04d}" for j in range(n)],
        change_idx=np.r_[idx, np.full(n_free, -1)].astype(np.int64),
        deploy_group=np.r_[group[idx], np.full(n_free, -1)].astype(np.int64),
        onset=onset,
        opened=opened,
        resolved=resolved.astype(np.int64),
        severity=severity,
        explicit_link=explicit,
        burn_rate=np.round(burn, 2),
        rollback_at=rollback_at,
        flag_off_at=flag_off,
    )


def draw_flags(
    work_type: np.ndarray, deploy_finish: np.ndarray, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Flag switch-on time per change (-1 when the change has no flag): feature work only."""
    feature = work_type == "feature"
    p = min(1.0, share / max(feature.mean(), 1e-9)) if feature.any() else 0.0
    has = feature & (rng.random(work_type.size) < p)
    delay = (np.minimum(rng.lognormal(np.log(4.0), 1.0, work_type.size), 72.0) * HOUR).astype(
        np.int64
    ) + MINUTE
    return np.where(has, deploy_finish + delay, -1).astype(np.int64)
