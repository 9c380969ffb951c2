"""The devlake / fourkeys / gitlab profiles give each tool's published numbers on hand-made events.

Fixtures: data/fixtures/profiles/<tool>/{events.csv, expected.json, README.md}; the README of each
case shows the arithmetic and the source of every rule, checked against the tools' code. Every
number must match exactly; none of these tests is an expected failure.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from vsmml.correlate import Correlation, correlate
from vsmml.events.schema import ensure_events
from vsmml.metrics import dora as m
from vsmml.metrics.profiles import get_profile

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "profiles"
HOUR_MIN = 60.0


@cache
def _case(tool: str) -> tuple[Correlation, dict[str, Any]]:
    raw = pd.read_csv(FIXTURES / tool / "events.csv", dtype="str", keep_default_na=False)
    events = ensure_events(raw.replace("", pd.NA))
    expected = json.loads((FIXTURES / tool / "expected.json").read_text())
    return correlate(events), expected


def _values(frame: pd.DataFrame, metric: str) -> dict[str, float]:
    """metric value per period (ISO date of the period start), for the single service ``api``."""
    rows = frame.loc[(frame["metric"] == metric) & (frame["service"] == "api")]
    return {
        p.date().isoformat(): float(v) for p, v in zip(rows["period"], rows["value"], strict=True)
    }


def _whole(frame: pd.DataFrame, metric: str) -> float:
    """metric value over the whole range (freq=None)."""
    rows = frame.loc[(frame["metric"] == metric) & (frame["service"] == "api")]
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


def _linked(corr: Correlation, profile: str) -> dict[str, str | None]:
    prof = get_profile(profile)
    inc = corr.relink(prof.incident_linking, prof.window_hours).incidents
    return {
        str(i): (None if pd.isna(d) else str(d))
        for i, d in zip(inc["incident_id"], inc["deploy_id_linked"], strict=True)
    }


# --- DevLake --------------------------------------------------------------------------------


def test_devlake_deployment_days_per_week_and_lower_median() -> None:
    corr, want = _case("devlake")
    weekly = m.deployment_frequency(corr, "service", "W", "devlake")
    days = _values(weekly, "deployment_days")
    assert days == {k: float(v) for k, v in want["deployment_days_per_week"].items()}
    assert _values(weekly, "deployment_frequency") == days  # the devlake unit is days
    median = get_profile("devlake").quantile(pd.Series(list(days.values())), 0.5)
    assert median == want["deployment_frequency_median_days_per_week"]


def test_devlake_first_deployment_ships_no_lead_time() -> None:
    corr, _ = _case("devlake")
    lead = m.change_lead_times(corr, "devlake")
    assert "PR1" not in set(lead["change_id"])  # shipped by D1, which has no previous deployment
    assert len(lead) == 8


def test_devlake_lead_time_is_lower_median_of_summed_minute_ceilings() -> None:
    corr, want = _case("devlake")
    lead = m.change_lead_times(corr, "devlake").set_index("change_id")["lead_time_h"]
    got = {c: round(float(h) * HOUR_MIN, 6) for c, h in lead.items()}
    assert got == {c: float(v) for c, v in want["pr_cycle_time_minutes"].items()}
    whole = _whole(m.lead_time(corr, "service", None, "devlake"), "lead_time_median")
    assert whole == pytest.approx(want["lead_time_median_minutes"] / HOUR_MIN)


def test_devlake_lead_time_of_a_week_without_part_rounding() -> None:
    corr, want = _case("devlake")
    weekly = _values(m.lead_time(corr, "service", "W", "devlake"), "lead_time_median")
    assert weekly["2026-03-16"] == pytest.approx(want["pr_cycle_time_minutes"]["PR5"] / HOUR_MIN)


def test_devlake_incident_goes_to_latest_deployment_strictly_before() -> None:
    corr, want = _case("devlake")
    assert _linked(corr, "devlake") == want["incident_deployment"]


def test_devlake_change_failure_rate() -> None:
    corr, want = _case("devlake")
    num, den = want["change_failure_rate"]
    got = _whole(m.change_failure_rate(corr, "service", None, "devlake"), "change_failure_rate")
    assert got == pytest.approx(num / den)


def test_devlake_time_to_restore_is_lower_median() -> None:
    corr, want = _case("devlake")
    got = _whole(m.time_to_restore(corr, "service", None, "devlake"), "time_to_restore_median")
    assert got == pytest.approx(want["time_to_restore_median_minutes"] / HOUR_MIN)


def test_devlake_recovery_time_truncates_minutes() -> None:
    corr, want = _case("devlake")
    got = _whole(m.recovery_time(corr, "service", None, "devlake"), "recovery_time_median")
    assert got == pytest.approx(want["recovery_time_median_minutes"] / HOUR_MIN)


# --- Four Keys ------------------------------------------------------------------------------


def test_fourkeys_deployments_per_day() -> None:
    corr, want = _case("fourkeys")
    daily = m.deployment_frequency(corr, "service", "D", "fourkeys")
    expected = {k: float(v) for k, v in want["deployments_per_day"].items()}
    assert _values(daily, "deployments") == expected
    assert _values(daily, "deployment_frequency") == expected


def test_fourkeys_change_time_is_commit_time() -> None:
    corr, want = _case("fourkeys")
    lead = m.change_lead_times(corr, "fourkeys")
    got = {
        c.removeprefix("commit:"): float(h) * HOUR_MIN
        for c, h in zip(lead["change_id"], lead["lead_time_h"], strict=True)
    }
    for sha in ("a1", "a2", "a3", "b1", "c1", "e1", "e2"):  # whole-minute spans: no truncation
        assert got[sha] == pytest.approx(want["change_minutes"][sha]), sha


def test_fourkeys_lead_time_interpolated_median_of_whole_minutes() -> None:
    corr, want = _case("fourkeys")
    got = _whole(m.lead_time(corr, "service", None, "fourkeys"), "lead_time_median")
    assert got == pytest.approx(want["lead_time_median_minutes"] / HOUR_MIN)


def test_fourkeys_incidents_by_root_cause_sha() -> None:
    corr, want = _case("fourkeys")
    assert _linked(corr, "fourkeys") == want["incident_deployment"]
    num, den = want["change_failure_rate"]
    got = _whole(m.change_failure_rate(corr, "service", None, "fourkeys"), "change_failure_rate")
    assert got == pytest.approx(num / den)


def test_fourkeys_time_to_restore_from_root_cause_deployment() -> None:
    corr, want = _case("fourkeys")
    got = _whole(m.time_to_restore(corr, "service", None, "fourkeys"), "time_to_restore_median")
    assert got == pytest.approx(want["time_to_restore_median_minutes"] / HOUR_MIN)


# --- GitLab ---------------------------------------------------------------------------------


def test_gitlab_deployments_per_day() -> None:
    corr, want = _case("gitlab")
    daily = m.deployment_frequency(corr, "service", "D", "gitlab")
    assert _values(daily, "deployments") == {
        k: float(v) for k, v in want["deployments_per_day"].items()
    }
    whole = _whole(m.deployment_frequency(corr, "service", None, "gitlab"), "deployments")
    n_days = len(want["deployments_per_day"])
    assert whole / n_days == pytest.approx(want["deployment_frequency_per_day"])


def test_gitlab_lead_time_from_merge_daily() -> None:
    corr, want = _case("gitlab")
    daily = _values(m.lead_time(corr, "service", "D", "gitlab"), "lead_time_median")
    expected = want["lead_time_daily_median_minutes"]
    assert daily == pytest.approx({k: v / HOUR_MIN for k, v in expected.items()})


def test_gitlab_lead_time_range_is_median_of_daily_medians() -> None:
    corr, want = _case("gitlab")
    got = _whole(m.lead_time(corr, "service", None, "gitlab"), "lead_time_median")
    assert got == pytest.approx(want["lead_time_minutes"] / HOUR_MIN)


def test_gitlab_incidents_one_to_one() -> None:
    corr, want = _case("gitlab")
    num, den = want["change_failure_rate"]
    got = _whole(m.change_failure_rate(corr, "service", None, "gitlab"), "change_failure_rate")
    assert got == pytest.approx(num / den)


def test_gitlab_time_to_restore_by_closing_day() -> None:
    corr, want = _case("gitlab")
    daily = _values(m.time_to_restore(corr, "service", "D", "gitlab"), "time_to_restore_median")
    expected = want["time_to_restore_daily_median_minutes"]
    assert daily == pytest.approx({k: v / HOUR_MIN for k, v in expected.items()})
    got = _whole(m.time_to_restore(corr, "service", None, "gitlab"), "time_to_restore_median")
    assert got == pytest.approx(want["time_to_restore_minutes"] / HOUR_MIN)
