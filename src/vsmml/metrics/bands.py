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

A band needs enough data (`dora_summary`): below `MIN_DEPLOYMENTS` production deployments in the
range, every band but time to restore is "insufficient data"; time to restore needs
`MIN_INCIDENTS` resolved incidents; and the change failure rate has no band when the data holds
no incident and no rollback or revert at all (nothing could have shown a failure, so 0 % says
nothing). Three deployments a day apart are not an "elite" team.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pandas as pd

from vsmml.correlate.records import Correlation
from vsmml.metrics.dora import dora
from vsmml.metrics.frames import By, group_columns
from vsmml.metrics.profiles import Profile, get_profile

BANDS: Final = ("elite", "high", "medium", "low")
INSUFFICIENT: Final = "insufficient data"
MIN_DEPLOYMENTS: Final = 10
"""Production deployments a group needs in the range before its DORA bands are given."""
MIN_INCIDENTS: Final = 5
"""Resolved incidents a group needs before its time-to-restore band is given."""
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


@dataclass(frozen=True)
class SummaryContext:
    """What a DORA summary needs of the whole organisation rather than of one group: the first
    and last change or deployment time (the ``days`` span, hence deployments per day) and
    whether anything could show a failed change at all (an incident, a rollback, a revert).

    Computed from a correlation (`of`), or combined from the parts of one split into partitions
    (`combine`), so a summary built part by part bands exactly as one built at once.
    """

    first: pd.Timestamp | None
    last: pd.Timestamp | None
    failure_signals: bool

    @property
    def span_days(self) -> float:
        """Days from the first to the last event day, both included (NaN without events)."""
        if self.first is None or self.last is None:
            return float("nan")
        return float((self.last.floor("D") - self.first.floor("D")).days + 1)

    @classmethod
    def of(cls, corr: Correlation) -> SummaryContext:
        """The context of one correlation."""
        times = pd.concat(
            [corr.changes["first_commit_at"], corr.deployments["finished_at"]], ignore_index=True
        ).dropna()
        first = None if times.empty else pd.Timestamp(times.min())
        last = None if times.empty else pd.Timestamp(times.max())
        return cls(first, last, _failure_signals(corr))

    @classmethod
    def combine(cls, parts: Sequence[SummaryContext]) -> SummaryContext:
        """The context of the union of disjoint parts."""
        firsts = [p.first for p in parts if p.first is not None]
        lasts = [p.last for p in parts if p.last is not None]
        return cls(
            min(firsts) if firsts else None,
            max(lasts) if lasts else None,
            any(p.failure_signals for p in parts),
        )


def dora_summary(
    corr: Correlation,
    by: By = "service",
    profile: str | Profile | None = None,
    context: SummaryContext | None = None,
) -> pd.DataFrame:
    """One row per group over the whole range: the DORA keys and their 2021 and 2023 bands.

    Columns: group columns, deployments, days (span from first to last event day of the
    correlation), deployments_per_day, lead_time_median_h, change_failure_rate,
    time_to_restore_median_h, recovery_time_median_h, rework_rate, incidents_resolved,
    band_<metric>_<year> (a band, `INSUFFICIENT` below the minimums in the module docstring, or
    None when the metric has no value). `context` defaults to the correlation's own.
    """
    prof = get_profile(profile)
    cols = group_columns(by)
    tidy = dora(corr, by, None, prof)
    if cols:
        wide = tidy.set_index([*cols, "metric"])["value"].unstack("metric")
    else:
        wide = tidy.set_index("metric")["value"].to_frame().T
    out = pd.DataFrame(index=wide.index)
    out["deployments"] = wide.get("deployments", pd.Series(0.0, index=wide.index)).fillna(0.0)
    out["days"] = float("nan")
    out["deployments_per_day"] = float("nan")
    rename = {
        "lead_time_median": "lead_time_median_h",
        "change_failure_rate": "change_failure_rate",
        "time_to_restore_median": "time_to_restore_median_h",
        "recovery_time_median": "recovery_time_median_h",
        "rework_rate": "rework_rate",
    }
    for src, dst in rename.items():
        out[dst] = wide[src] if src in wide else float("nan")
    restored = tidy.loc[tidy["metric"] == "time_to_restore_median"]
    counts = restored.set_index(cols)["n"] if cols else restored["n"]
    if cols:
        out["incidents_resolved"] = counts.reindex(out.index).fillna(0).astype("int64")
    else:
        out["incidents_resolved"] = int(counts.sum()) if len(counts) else 0
    out = out.reset_index() if cols else out.reset_index(drop=True)
    return with_bands(out, context or SummaryContext.of(corr))


def with_bands(summary: pd.DataFrame, context: SummaryContext) -> pd.DataFrame:
    """`summary` with ``days``, ``deployments_per_day`` and every band column (re)computed
    under the organisation's `context` (the rest of each row is its group's own)."""
    out = summary.copy()
    span_days = context.span_days
    out["days"] = span_days
    out["deployments_per_day"] = out["deployments"] / span_days
    enough = out["deployments"].to_numpy() >= MIN_DEPLOYMENTS
    incidents = out["incidents_resolved"].to_numpy() >= MIN_INCIDENTS
    signals = context.failure_signals
    for year, rules in _RULES.items():
        for metric in rules:
            ok = incidents if metric == "time_to_restore_median_h" else enough
            if metric == "change_failure_rate":
                ok = ok & signals
            out[f"band_{metric}_{year}"] = [
                _banded(metric, float(v), year, bool(k))
                for v, k in zip(out[metric], ok, strict=True)
            ]
    return out


def _banded(metric: str, value: float, year: int, enough: bool) -> str | None:
    named = band(metric, value, year)
    return named if named is None or enough else INSUFFICIENT


def _failure_signals(corr: Correlation) -> bool:
    """Whether anything in the data could show a failed change: an incident, a rollback
    deployment, or a revert."""
    deps = corr.deployments
    return bool(len(corr.incidents) or deps["is_rollback"].any() or len(corr.reverts))
