"""Staging and production deploys: a FIFO staging queue, continuous or release-train production.

Deploys follow merge order. Staging deploys every change's artifact one after the other
(first in, first out). Production ships the newest staged artifact: a change is in production
from the first production deploy whose head change was merged at or after it, so several
changes share one deploy (always on release-train services, sometimes on continuous ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vsmml.synth.changes import DAY, HOUR, MINUTE
from vsmml.synth.config import SynthConfig
from vsmml.synth.org import ServicePlan
from vsmml.synth.pipeline import group_ends, group_starts

DEPLOY_GAP_US: Final = MINUTE


def fifo(desired: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Start times of jobs served in the given order: never before `desired`, never overlapping.

    start_k = max(desired_k, start_{k-1} + duration_{k-1} + gap), solved without a loop by the
    max-plus identity start_k - C_k = max_{j<=k}(desired_j - C_j) with C the cumulative busy time.
    """
    busy = duration + DEPLOY_GAP_US
    c = np.cumsum(busy) - busy
    return np.asarray(np.maximum.accumulate(desired - c) + c, dtype=np.int64)


def train_departures(config: SynthConfig, svc: ServicePlan) -> np.ndarray:
    """Release-train departure times: every day at the service's deploy-window hours (UTC)."""
    start = int(config.start.value // 1000)
    days = np.arange(config.days + 60)
    hours = np.array(svc.train_hours, dtype=np.int64)
    return np.sort((start + days[:, None] * DAY + hours[None, :] * HOUR).ravel())


@dataclass
class Production:
    """Production deploys (groups of changes in merge order) and each change's deploy."""

    change_group: np.ndarray  # per change (merge order): index of the deploy that shipped it
    start: np.ndarray  # per deploy
    finish: np.ndarray
    head: np.ndarray  # per deploy: position (merge order) of its head change
    n_changes: np.ndarray


def production(
    ready: np.ndarray,
    desired_wait: np.ndarray,
    trains: np.ndarray | None,
    duration_of: np.ndarray,
) -> Production:
    """Group changes (in merge order; `ready` non-decreasing) into production deploys.

    Each change asks to ship at ready + desired wait; a change ships with the first deploy of a
    change merged at or after it (the suffix minimum of the asks). Release-train services round
    that up to the next departure. Deploys never overlap (FIFO with a one-minute gap).
    """
    ships = np.minimum.accumulate((ready + desired_wait)[::-1])[::-1]
    if trains is not None:
        ships = trains[np.minimum(np.searchsorted(trains, ships, side="left"), trains.size - 1)]
    new_group = group_starts(ships)
    change_group = np.cumsum(new_group) - 1
    n_groups = int(change_group[-1]) + 1 if change_group.size else 0
    head = np.flatnonzero(group_ends(ships))
    dur = duration_of[:n_groups]
    start = fifo(ships[new_group], dur)
    return Production(
        change_group=change_group,
        start=start,
        finish=start + dur,
        head=head,
        n_changes=np.bincount(change_group, minlength=n_groups),
    )
