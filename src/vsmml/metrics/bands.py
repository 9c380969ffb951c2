"""DORA performance bands (2021 and 2023 State of DevOps reports) and the one-row-per-group summary.

The reports give bands as overlapping prose ("between once per week and once per month"); the
thresholds below are our reading, applied top-down (the first band whose test passes wins):

| metric | 2021 elite / high / medium (else low) | 2023 elite / high / medium (else low) |
|---|---|---|
| deployments per day | ≥ 1 / ≥ 1/30 / ≥ 1/182 | ≥ 1 / ≥ 1/7 / ≥ 1/30 |
| lead time (median) | < 1 h / < 1 week / < 6 months | < 1 day / < 1 week / < 1 month |
| change failure rate | ≤ 15 % / ≤ 30 % / ≤ 30 % (see below) | ≤ 5 % / ≤ 10 % / ≤ 15 % |
| time to restore / recovery (median) | < 1 h / < 1 day / < 1 week | < 1 h / < 1 day / < 1 week |

The 2021 report gives 16–30 % for high, medium and low alike; we call anything above 30 % low.
"""

from __future__ import annotations

import math
from typing import Final

import pandas as pd

from vsmml.correlate.records import Correlation
from vsmml.metrics.dora import dora
from vsmml.metrics.frames import By, group_columns
from vsmml.metrics.profiles import Profile, get_profile

BANDS: Final = ("elite", "high", "medium", "low")
# (metric, higher_is_better, thresholds elite/high/medium)
_RULES: Final[dict[int, dict[str, tuple[bool, tuple[float, float, float]]]]] = {
    2021: {
        "deployments_per_day": (True, (1.0, 1 / 30, 1 / 182)),
        "lead_time_median_h": (False, (1.0, 24 * 7, 24 * 182)),
        "change_failure_rate": (False, (0.15, 0.30, 0.30)),
        "time_to_restore_median_h": (False, (1.0, 24.0, 24 * 7)),
    },
    2023: {
        "deployments_per_day": (True, (1.0, 1 / 7, 1 / 30)),
        "lead_time_median_h": (False, (24.0, 24 * 7, 24 * 30)),
        "change_failure_rate": (False, (0.05, 0.10, 0.15)),
        "recovery_time_median_h": (False, (1.0, 24.0, 24 * 7)),
    },
}


def band(metric: str, value: float, year: int = 2023) -> str | None:
    """The band of one value (None when the metric has no band that year or the value is NaN)."""
    rule = _RULES.get(year, {}).get(metric)
    if rule is None or value is None or math.isnan(value):
        return None
    higher, limits = rule
    inclusive = metric == "change_failure_rate"  # rates are "at most"; times "less than"
    for name, limit in zip(BANDS, limits, strict=False):
        ok = value >= limit if higher else value <= limit if inclusive else value < limit
        if ok:
            return name
    return "low"


def dora_summary(
    corr: Correlation, by: By = "service", profile: str | Profile | None = None
) -> pd.DataFrame:
    """One row per group over the whole range: the DORA keys and their 2021 and 2023 bands.

    Columns: group columns, deployments, days (span from first to last event day of the
    correlation), deployments_per_day, lead_time_median_h, change_failure_rate,
    time_to_restore_median_h, recovery_time_median_h, rework_rate, band_<metric>_<year>.
    """
    prof = get_profile(profile)
    cols = group_columns(by)
    tidy = dora(corr, by, None, prof)
    if cols:
        wide = tidy.set_index([*cols, "metric"])["value"].unstack("metric")
    else:
        wide = tidy.set_index("metric")["value"].to_frame().T
    span_days = _span_days(corr)
    out = pd.DataFrame(index=wide.index)
    out["deployments"] = wide.get("deployments", pd.Series(0.0, index=wide.index)).fillna(0.0)
    out["days"] = span_days
    out["deployments_per_day"] = out["deployments"] / span_days
    rename = {
        "lead_time_median": "lead_time_median_h",
        "change_failure_rate": "change_failure_rate",
        "time_to_restore_median": "time_to_restore_median_h",
        "recovery_time_median": "recovery_time_median_h",
        "rework_rate": "rework_rate",
    }
    for src, dst in rename.items():
        out[dst] = wide[src] if src in wide else float("nan")
    for year, rules in _RULES.items():
        for metric in rules:
            out[f"band_{metric}_{year}"] = [band(metric, float(v), year) for v in out[metric]]
    out = out.reset_index() if cols else out.reset_index(drop=True)
    return out


def _span_days(corr: Correlation) -> float:
    times = pd.concat(
        [corr.changes["first_commit_at"], corr.deployments["finished_at"]], ignore_index=True
    ).dropna()
    if times.empty:
        return float("nan")
    span = (times.max().floor("D") - times.min().floor("D")).days + 1
    return float(span)
