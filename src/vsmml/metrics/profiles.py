"""Named metric-definition profiles: `vsmml` (default) and the `devlake`, `fourkeys`, `gitlab` ones.

Tools disagree on how a DORA number is computed (median with or without interpolation, where lead
time starts, how an incident is tied to a deployment, whether the first deployment of a scope is
counted). A `Profile` names each choice so one set of metric functions reproduces each tool; the
switches are read by `vsmml.metrics.dora` and `vsmml.metrics.stages`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import pandas as pd

from vsmml.errors import ConfigError

MedianKind = Literal["interpolated", "lower"]
LeadTimeStart = Literal["first_commit", "opened", "merged"]
SpanRounding = Literal["none", "ceil_minute", "floor_minute"]
FrequencyUnit = Literal["deployments", "deployment_days"]
IncidentLinking = Literal["confidence", "latest_prod_deploy", "root_cause_sha", "one_to_one"]
IncidentStart = Literal["opened", "root_cause_deploy"]
RestorePeriod = Literal["start", "resolved"]
RangeAggregation = Literal["pooled", "daily_median"]
US_PER_MINUTE: Final = 60_000_000.0
US_PER_HOUR: Final = 3_600_000_000.0


@dataclass(frozen=True)
class Profile:
    """One set of metric definitions.

    Attributes:
        name: registry name.
        median: ``"interpolated"`` (linear interpolation between the two middle values, the
            statistician's median) or ``"lower"`` (the lower middle value, no interpolation, as
            DevLake's ``percent_rank() <= 0.5`` SQL gives). Also used for the p85.
        lead_time_start: where lead time for changes starts: the change's first commit,
            the PR being opened, or the merge. It always ends at the first successful production
            deployment that shipped the change.
        span_rounding: ``"none"`` keeps spans exact (seconds, as float hours); ``"ceil_minute"``
            rounds every span up to whole minutes before aggregating (DevLake stores minutes);
            ``"floor_minute"`` truncates to whole minutes and drops lead times of zero or less
            (Four Keys' ``TIMESTAMP_DIFF(..., MINUTE)`` with its ``> 0`` filter).
        frequency_unit: what ``deployment_frequency`` counts per period: deployments, or days with
            at least one deployment (DevLake's deployment days).
        incident_linking: how an incident is tied to the deployment that caused it:
            ``"confidence"`` (explicit deploy id, else the latest production deployment of the
            same service before it within a window, with a confidence that decays with the gap;
            change failure rate is confidence-weighted), ``"latest_prod_deploy"`` (always the
            latest successful production deployment of the service before the incident, weight 1),
            ``"root_cause_sha"`` (the deployment that shipped the incident's root-cause sha), or
            ``"one_to_one"`` (every incident counts as one failure: CFR = incidents ÷ deployments).
        count_first_deployment: whether the changes shipped by the first production deployment
            of each scope get a lead time; DevLake gives them none (there is no previous
            deployment to diff against) but still counts the deployment itself in deployment
            frequency and change failure rate.
        window_hours: how far back the ``"confidence"`` linker looks for a causing deployment.
        lead_time_parts: round each part of a change's lead time on its own and sum the parts
            (DevLake's ``pr_cycle_time`` = coding + open→merge + merge→deploy, each
            ``math.Ceil`` of its minutes, a negative part left out) instead of rounding the
            whole span once.
        incident_rounding: `span_rounding` for incident spans (time to restore, failed
            deployment recovery time); DevLake's ``lead_time_minutes`` (``uint(d.Minutes())``)
            and ``TIMESTAMPDIFF(MINUTE, …)`` and Four Keys' ``TIMESTAMP_DIFF(…, MINUTE)`` truncate
            to whole minutes. Never drops a span.
        incident_start: where time to restore starts: the incident being opened, or the earlier
            of that and the finish of the deployment its root cause shipped in (Four Keys'
            ``MIN(IF(root.time_created < issue.time_created, …))``).
        restore_period: the period an incident's time to restore counts in: the period it
            started (see `incident_start`), or the period it was resolved (GitLab buckets
            incidents by the day they were closed).
        range_aggregation: how lead time and time to restore of a week, a month or the whole
            range (``freq`` other than ``"D"``) are aggregated: ``"pooled"`` (one median over every
            observation) or ``"daily_median"`` (the median, and p85, of the daily medians, as
            GitLab's ``Dora::DailyMetrics`` does).
        recovery_per_incident: failed-deployment recovery time as one value per linked incident
            (deployment finished → that incident resolved, DevLake's 2023 panel) instead of one
            per failed deployment (finished → restored by rollback or resolution).
    """

    name: str
    median: MedianKind = "interpolated"
    lead_time_start: LeadTimeStart = "first_commit"
    span_rounding: SpanRounding = "none"
    frequency_unit: FrequencyUnit = "deployments"
    incident_linking: IncidentLinking = "confidence"
    count_first_deployment: bool = True
    window_hours: float = 72.0
    lead_time_parts: bool = False
    incident_rounding: SpanRounding = "none"
    incident_start: IncidentStart = "opened"
    restore_period: RestorePeriod = "start"
    range_aggregation: RangeAggregation = "pooled"
    recovery_per_incident: bool = False

    def with_(self, **changes: object) -> Profile:
        """A copy with some switches changed (for what-if comparisons and tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def interpolation(self) -> Literal["linear", "lower"]:
        """The pandas/numpy quantile interpolation matching `median`."""
        return "linear" if self.median == "interpolated" else "lower"

    def quantile(self, values: pd.Series | np.ndarray, q: float) -> float:
        """One quantile of `values` (NaN ignored) under this profile's median rule."""
        arr = np.asarray(values, dtype="float64")
        arr = arr[~np.isnan(arr)]
        if arr.size == 0:
            return math.nan
        return float(np.quantile(arr, q, method=self.interpolation))

    def round_span(self, hours: pd.Series) -> pd.Series:
        """Apply `span_rounding` to a span in hours (float; NaN stays NaN)."""
        if self.span_rounding == "none":
            return hours
        if self.span_rounding == "floor_minute":
            floored: pd.Series = np.floor(hours * 60.0 + 1e-9) / 60.0
            return floored
        # ceil to whole minutes; subtract a tiny epsilon so exact minutes stay put after float error
        rounded: pd.Series = np.ceil(hours * 60.0 - 1e-9) / 60.0
        return rounded


def span_hours(micros: np.ndarray, rounding: SpanRounding) -> np.ndarray:
    """Spans given as whole microseconds (float array, NaN for missing) in hours, rounded.

    Works on exact microseconds, so a span of one minute and one microsecond rounds up to two
    minutes and an exact minute stays put. ``"ceil_minute"`` is Go's ``math.Ceil(d.Minutes())``
    (−30 s gives 0, −90 s gives −1); ``"floor_minute"`` truncates toward zero like
    ``TIMESTAMPDIFF``/``TIMESTAMP_DIFF`` and Go's ``uint(d.Minutes())`` on a positive span.
    """
    us = np.asarray(micros, dtype="float64")
    if rounding == "none":
        out: np.ndarray = us / US_PER_HOUR
        return out
    minutes = us / US_PER_MINUTE
    whole = np.ceil(minutes) if rounding == "ceil_minute" else np.trunc(minutes)
    rounded: np.ndarray = whole / 60.0
    return rounded


VSMML: Final = Profile(name="vsmml")
DEVLAKE: Final = Profile(
    name="devlake",
    median="lower",
    lead_time_start="first_commit",
    span_rounding="ceil_minute",
    frequency_unit="deployment_days",
    incident_linking="latest_prod_deploy",
    count_first_deployment=False,
    lead_time_parts=True,
    incident_rounding="floor_minute",
    recovery_per_incident=True,
)
FOURKEYS: Final = Profile(
    name="fourkeys",
    median="interpolated",
    lead_time_start="first_commit",
    span_rounding="floor_minute",
    incident_linking="root_cause_sha",
    incident_start="root_cause_deploy",
    incident_rounding="floor_minute",
)
GITLAB: Final = Profile(
    name="gitlab",
    median="interpolated",
    lead_time_start="merged",
    incident_linking="one_to_one",
    restore_period="resolved",
    range_aggregation="daily_median",
)

PROFILES: Final[dict[str, Profile]] = {p.name: p for p in (VSMML, DEVLAKE, FOURKEYS, GITLAB)}
DEFAULT_PROFILE: Final = "vsmml"


def get_profile(name: str | Profile | None = None) -> Profile:
    """The profile registered under `name` (a `Profile` passes through; None gives `vsmml`)."""
    if isinstance(name, Profile):
        return name
    key = DEFAULT_PROFILE if name is None else name.strip().lower()
    try:
        return PROFILES[key]
    except KeyError:
        raise ConfigError(
            f"profile: unknown profile {name!r}; known profiles are {sorted(PROFILES)}"
        ) from None
