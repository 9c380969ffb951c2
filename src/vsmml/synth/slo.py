"""`slo.sample` counts: requests per interval with weekday/night seasonality and burn episodes.

Traffic follows the hour-of-day and weekday shape of the service's users; errors are a small
base rate plus, during each incident's episode (onset to resolution), `burn_rate` times the
error budget (1 - SLO target), so a burn rate of 14.4 pages under the SRE workbook's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vsmml.synth.changes import DAY, HOUR, MINUTE
from vsmml.synth.config import SynthConfig
from vsmml.synth.org import ServicePlan

TRAFFIC_HOUR: Final = 0.35 + 0.65 * np.clip(np.sin((np.arange(24) - 5) / 24 * 2 * np.pi), 0, None)
TRAFFIC_WEEKDAY: Final = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.7, 0.65])


@dataclass
class SloSamples:
    """Interval end times with good and total counts."""

    ts: np.ndarray
    good: np.ndarray
    total: np.ndarray


def slo_samples(
    config: SynthConfig,
    svc: ServicePlan,
    onset: np.ndarray,
    end: np.ndarray,
    burn: np.ndarray,
    rng: np.random.Generator,
) -> SloSamples:
    """Samples every `slo_interval_minutes` over the period, with episodes [onset, end) burning."""
    step = config.slo_interval_minutes * MINUTE
    start = int(config.start.value // 1000)
    n = config.days * DAY // step
    ts_end = start + (np.arange(n, dtype=np.int64) + 1) * step
    mid = ts_end - step // 2
    hour = (mid // HOUR) % 24
    weekday = ((mid - start) // DAY) % 7
    lam = svc.traffic_per_min * config.slo_interval_minutes * TRAFFIC_HOUR[hour]
    lam = lam * TRAFFIC_WEEKDAY[weekday] * rng.lognormal(0.0, 0.08, n)
    total = rng.poisson(lam).astype(np.int64)
    rate = np.full(n, svc.base_error_rate)
    budget = 1.0 - config.slo_target
    for o, e, b in zip(onset.tolist(), end.tolist(), burn.tolist(), strict=True):
        lo = np.searchsorted(ts_end, o, side="right")
        hi = np.searchsorted(ts_end, e, side="right") + 1
        rate[lo:hi] += b * budget
    errors = rng.binomial(total, np.clip(rate, 0.0, 1.0))
    return SloSamples(ts=ts_end, good=total - errors, total=total)
