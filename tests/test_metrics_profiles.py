"""The profile registry and the `vsmml` profile's documented switches."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConfigError, DataError
from vsmml.metrics.frames import group_columns, period_start
from vsmml.metrics.profiles import PROFILES, Profile, get_profile


def test_registry_has_the_four_profiles() -> None:
    assert set(PROFILES) == {"vsmml", "devlake", "fourkeys", "gitlab"}
    assert get_profile().name == "vsmml"
    assert get_profile(" DevLake ").name == "devlake"
    custom = Profile(name="mine", median="lower")
    assert get_profile(custom) is custom
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        get_profile("nope")


def test_vsmml_profile_defaults() -> None:
    p = get_profile("vsmml")
    assert (p.median, p.lead_time_start, p.span_rounding) == (
        "interpolated",
        "first_commit",
        "none",
    )
    assert (p.frequency_unit, p.incident_linking) == ("deployments", "confidence")
    assert p.count_first_deployment


def test_compatible_profiles_switches() -> None:
    d, f, g = get_profile("devlake"), get_profile("fourkeys"), get_profile("gitlab")
    assert d.median == "lower" and d.span_rounding == "ceil_minute"
    assert d.frequency_unit == "deployment_days" and not d.count_first_deployment
    assert d.incident_linking == "latest_prod_deploy"
    assert f.incident_linking == "root_cause_sha" and f.lead_time_start == "first_commit"
    assert g.lead_time_start == "merged" and g.incident_linking == "one_to_one"


def test_quantiles_and_rounding() -> None:
    v = pd.Series([4.0, 1.0, 3.0, 2.0, np.nan])
    assert get_profile("vsmml").quantile(v, 0.5) == 2.5
    assert get_profile("devlake").quantile(v, 0.5) == 2.0
    assert math.isnan(get_profile().quantile(pd.Series([np.nan]), 0.5))
    hours = pd.Series([1.0, 1.0 + 1 / 3600, np.nan])
    r = get_profile("devlake").round_span(hours)
    assert r.iloc[0] == 1.0 and r.iloc[1] == pytest.approx(61 / 60) and np.isnan(r.iloc[2])
    assert get_profile().round_span(hours).equals(hours)


def test_periods_and_groups() -> None:
    ts = pd.Series(pd.to_datetime(["2026-03-04T10:00Z", "2026-03-31T23:59Z"])).astype(
        "datetime64[us, UTC]"
    )
    assert period_start(ts, "W").dt.strftime("%Y-%m-%d").tolist() == ["2026-03-02", "2026-03-30"]
    assert period_start(ts, "M").dt.strftime("%Y-%m-%d").tolist() == ["2026-03-01", "2026-03-01"]
    assert period_start(ts, "D").dt.strftime("%Y-%m-%d").tolist() == ["2026-03-04", "2026-03-31"]
    assert period_start(ts, None).isna().all()
    with pytest.raises(DataError, match="freq"):
        period_start(ts, "Q")
    assert group_columns(None) == [] and group_columns(["team", "repo"]) == ["team", "repo"]
    with pytest.raises(DataError, match="unknown group"):
        group_columns("env")


def test_span_hours_rounds_exact_microseconds() -> None:
    from vsmml.metrics.profiles import span_hours

    minute = 60_000_000.0
    us = np.array([minute, minute + 1, 2.5 * minute, -30e6, -90e6, np.nan])
    ceil = span_hours(us, "ceil_minute") * 60
    assert ceil[:5].tolist() == [1.0, 2.0, 3.0, 0.0, -1.0]  # Go: math.Ceil(d.Minutes())
    trunc = span_hours(us, "floor_minute") * 60
    assert trunc[:5].tolist() == [1.0, 1.0, 2.0, 0.0, -1.0]  # TIMESTAMPDIFF truncates
    exact = span_hours(us, "none")
    assert exact[2] == pytest.approx(2.5 / 60)
    assert np.isnan(ceil[5]) and np.isnan(trunc[5]) and np.isnan(exact[5])


def test_profiles_incident_and_aggregation_switches() -> None:
    v, d, f, g = (get_profile(n) for n in ("vsmml", "devlake", "fourkeys", "gitlab"))
    assert (v.incident_rounding, v.incident_start, v.restore_period) == ("none", "opened", "start")
    assert v.range_aggregation == "pooled" and not v.lead_time_parts
    assert d.lead_time_parts and d.recovery_per_incident and d.incident_rounding == "floor_minute"
    assert f.incident_start == "root_cause_deploy" and f.incident_rounding == "floor_minute"
    assert g.restore_period == "resolved" and g.range_aggregation == "daily_median"
