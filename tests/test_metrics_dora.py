"""DORA keys on a small hand-made case with known answers, under each profile switch."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics_events import T0, at, deploy, ev, frame, pr
from vsmml.correlate import Correlation, correlate
from vsmml.metrics.bands import MIN_DEPLOYMENTS, band, dora_summary
from vsmml.metrics.dora import (
    change_failure_rate,
    change_lead_times,
    deployment_frequency,
    dora,
    lead_time,
    recovery_time,
    rework_flags,
    rework_rate,
    time_to_restore,
)

WEEK = T0.normalize()
CONF = 0.9 * 0.5 ** (0.5 / 4)  # time-window link 30 min after the deployment


def _case() -> Correlation:
    rows = pr("c1", "a1", 0, 5) + pr("c2", "a2", 1, 6) + deploy("d1", "a2", 8)
    rows += pr("c3", "a3", 10, 14) + deploy("d2", "a3", 20)
    rows += [ev("incident.opened", 20.5, incident_id="i1")]
    rows += [ev("incident.resolved", 21.5, incident_id="i1")]
    rows += [ev("commit", 30, sha="t1"), *deploy("d4", "t1", 31)]
    return correlate(frame(rows))


@pytest.fixture(scope="module")
def case() -> Correlation:
    return _case()


def _value(tidy: pd.DataFrame, metric: str) -> float:
    rows = tidy.loc[tidy["metric"] == metric, "value"]
    assert len(rows) == 1, (metric, tidy)
    return float(rows.iloc[0])


def test_deployment_frequency_counts_and_days(case: Correlation) -> None:
    df = deployment_frequency(case, "service", "W")
    assert list(df.columns) == ["service", "period", "metric", "value", "n"]
    assert (df["period"] == WEEK).all()
    assert _value(df, "deployments") == 3
    assert _value(df, "deployment_days") == 2
    assert _value(df, "deployment_frequency") == 3
    daily = deployment_frequency(case, None, "D")
    per_day = daily.loc[daily["metric"] == "deployments", "value"].tolist()
    assert per_day == [1.0, 2.0]
    dl = deployment_frequency(case, "service", "W", "devlake")
    assert _value(dl, "deployments") == 3  # every deployment counts, even the scope's first
    assert _value(dl, "deployment_frequency") == 2  # deployment days


def test_zero_deployment_periods_are_listed() -> None:
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 1)]
    rows += [ev("commit", 24 * 14, sha="t2"), *deploy("d2", "t2", 24 * 14 + 1)]
    df = deployment_frequency(correlate(frame(rows)), "service", "W")
    deps = df.loc[df["metric"] == "deployments"]
    assert deps["value"].tolist() == [1.0, 0.0, 1.0]


def test_lead_time_per_profile(case: Correlation) -> None:
    lt = change_lead_times(case).set_index("change_id")["lead_time_h"]
    assert lt.to_dict() == {"c1": 8.0, "c2": 7.0, "c3": 10.0, "commit:t1": 1.0}
    vs = lead_time(case, "service", "W")
    assert _value(vs, "lead_time_median") == 7.5  # interpolated
    assert _value(vs, "lead_time_p85") == pytest.approx(9.1)
    assert _value(lead_time(case, None, None, "devlake"), "lead_time_median") == 1.0
    # gitlab: merge → deploy, median of daily medians: day 1 (c1 3 h, c2 2 h) → 2.5,
    # day 2 (c3 6 h, t1 1 h) → 3.5; the pooled median would be 2.5
    gitlab = lead_time(case, None, None, "gitlab")
    assert _value(gitlab, "lead_time_median") == 3.0
    assert gitlab["n"].tolist() == [2, 2]  # days
    pooled = lead_time(case, None, None, case_profile("gitlab", range_aggregation="pooled"))
    assert _value(pooled, "lead_time_median") == 2.5
    lower = lead_time(case, None, None, case_profile("vsmml", median="lower"))
    assert _value(lower, "lead_time_median") == 7.0
    opened = lead_time(case, None, None, case_profile("vsmml", lead_time_start="opened"))
    assert _value(opened, "lead_time_median") == 6.5  # trunk commit still starts at its commit


def case_profile(name: str, **switches: object) -> object:
    from vsmml.metrics.profiles import get_profile

    return get_profile(name).with_(**switches)


def test_span_rounding_up_to_minutes() -> None:
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 1 + 10 / 3600)]  # 1 h 0 min 10 s
    corr = correlate(frame(rows))
    exact = _value(lead_time(corr, None, None), "lead_time_median")
    rounded = _value(
        lead_time(corr, None, None, case_profile("vsmml", span_rounding="ceil_minute")),
        "lead_time_median",
    )
    assert exact == pytest.approx(1 + 10 / 3600)
    assert rounded == pytest.approx(61 / 60)


def test_change_failure_rate_per_profile(case: Correlation) -> None:
    assert _value(
        change_failure_rate(case, "service", "W"), "change_failure_rate"
    ) == pytest.approx(CONF / 3)
    devlake = change_failure_rate(case, None, None, "devlake")
    assert _value(devlake, "change_failure_rate") == pytest.approx(1 / 3)
    assert _value(
        change_failure_rate(case, None, None, "gitlab"), "change_failure_rate"
    ) == pytest.approx(1 / 3)
    assert _value(change_failure_rate(case, None, None, "fourkeys"), "change_failure_rate") == 0.0


def test_rollback_counts_as_failure_only_in_vsmml() -> None:
    rows = pr("c1", "a1", 0, 5) + deploy("d1", "a1", 6) + pr("c2", "a2", 6, 10)
    rows += deploy("d2", "a2", 11)
    rows += [
        ev(
            "rollback",
            12,
            deploy_id="r1",
            sha="a1",
            env="production",
            attrs={"rolled_back_deploy_id": "d2"},
        )
    ]
    corr = correlate(frame(rows))
    assert _value(change_failure_rate(corr, None, None), "change_failure_rate") == 0.5
    assert _value(change_failure_rate(corr, None, None, "fourkeys"), "change_failure_rate") == 0.0
    assert _value(recovery_time(corr, None, None), "recovery_time_median") == 1.0
    flags = rework_flags(corr).set_index("deploy_id")["rework"]
    assert flags.to_dict() == {"d1": False, "d2": False, "r1": True}
    assert _value(rework_rate(corr, None, None), "rework_rate") == pytest.approx(1 / 3)


def test_recovery_and_time_to_restore(case: Correlation) -> None:
    assert _value(recovery_time(case, "service", "W"), "recovery_time_median") == 1.5
    assert _value(time_to_restore(case, "service", "W"), "time_to_restore_median") == 1.0
    assert recovery_time(case, None, None, "fourkeys").empty  # nothing linked by root cause


def test_rework_fix_forward_while_incident_open() -> None:
    rows = pr("c1", "a1", 0, 5) + deploy("d1", "a1", 6)
    rows += [ev("incident.opened", 6.5, incident_id="i1", deploy_id="d1")]
    rows += pr("c2", "a2", 6, 10) + deploy("d2", "a2", 11)  # the fix, incident still open
    rows += [ev("incident.resolved", 12, incident_id="i1")]
    rows += [ev("commit", 13, sha="t3"), *deploy("d3", "t3", 14)]
    corr = correlate(frame(rows))
    flags = rework_flags(corr).set_index("deploy_id")["rework"]
    assert flags.to_dict() == {"d1": False, "d2": True, "d3": False}
    assert _value(rework_rate(corr, "team", "M"), "rework_rate") == pytest.approx(1 / 3)


def test_no_deployments_give_empty_frames() -> None:
    corr = correlate(frame(pr("c1", "a1", 0, 5)))
    assert deployment_frequency(corr).empty
    assert change_failure_rate(corr).empty
    assert rework_rate(corr).empty
    assert lead_time(corr).empty
    assert list(dora(corr).columns) == ["service", "period", "metric", "value", "n"]


def test_bands_2021_and_2023() -> None:
    assert band("deployments_per_day", 2.0) == "elite"
    assert band("deployments_per_day", 0.2) == "high"
    assert band("deployments_per_day", 0.05, 2023) == "medium"
    assert band("deployments_per_day", 0.05, 2021) == "high"
    assert band("deployments_per_day", 0.001, 2023) == "low"
    assert band("lead_time_median_h", 0.5, 2021) == "elite"
    assert band("lead_time_median_h", 5.0, 2023) == "elite"
    assert band("lead_time_median_h", 5.0, 2021) == "high"
    assert band("lead_time_median_h", 24 * 40, 2023) == "low"
    assert band("change_failure_rate", 0.05, 2023) == "elite"
    assert band("change_failure_rate", 0.12, 2023) == "medium"
    assert band("change_failure_rate", 0.2, 2021) == "high"
    assert band("change_failure_rate", 0.5, 2021) == "low"
    assert band("recovery_time_median_h", 0.5, 2023) == "elite"
    assert band("time_to_restore_median_h", 30.0, 2021) == "medium"
    assert band("recovery_time_median_h", 30.0, 2021) is None
    assert band("lead_time_median_h", math.nan) is None


def test_dora_summary_one_row_per_group(case: Correlation) -> None:
    s = dora_summary(case, "service")
    assert len(s) == 1 and s.loc[0, "service"] == "api"
    assert s.loc[0, "deployments"] == 3 and s.loc[0, "days"] == 2
    assert s.loc[0, "deployments_per_day"] == 1.5
    assert s.loc[0, "lead_time_median_h"] == 7.5
    # three deployments are too few to rank a team: no "elite" from them
    assert s.loc[0, "band_deployments_per_day_2023"] == "insufficient data"
    assert s.loc[0, "band_lead_time_median_h_2023"] == "insufficient data"
    assert s.loc[0, "incidents_resolved"] == 1
    assert s.loc[0, "band_time_to_restore_median_h_2021"] == "insufficient data"
    org = dora_summary(case, None, "devlake")
    assert org.loc[0, "deployments"] == 3


def test_bands_need_enough_deployments_and_a_failure_signal() -> None:
    rows: list[dict[str, object]] = []
    for i in range(MIN_DEPLOYMENTS):
        rows += [ev("commit", 24 * i, sha=f"t{i}"), *deploy(f"d{i}", f"t{i}", 24 * i + 2)]
    quiet = dora_summary(correlate(frame(rows)), "service").iloc[0]
    assert quiet["deployments"] == MIN_DEPLOYMENTS
    assert quiet["band_deployments_per_day_2023"] == "elite"
    assert quiet["band_lead_time_median_h_2023"] == "elite"
    assert quiet["change_failure_rate"] == 0.0
    # no incident, rollback or revert anywhere: 0 % failures says nothing
    assert quiet["band_change_failure_rate_2023"] == "insufficient data"
    rows += [ev("incident.opened", 24 * 3 + 3, incident_id="i1")]
    rows += [ev("incident.resolved", 24 * 3 + 4, incident_id="i1")]
    watched = dora_summary(correlate(frame(rows)), "service").iloc[0]
    assert watched["band_change_failure_rate_2023"] in ("elite", "high")
    fewer = dora_summary(correlate(frame(rows[4:])), "service").iloc[0]
    assert fewer["deployments"] == MIN_DEPLOYMENTS - 1
    assert fewer["band_deployments_per_day_2023"] == "insufficient data"


def test_dora_tidy_is_sorted_and_complete(case: Correlation) -> None:
    tidy = dora(case, "team", "W")
    metrics = set(tidy["metric"])
    for name in (
        "deployments",
        "lead_time_median",
        "change_failure_rate",
        "recovery_time_median",
        "time_to_restore_median",
        "rework_rate",
    ):
        assert name in metrics
    assert tidy.equals(tidy.sort_values(["team", "period", "metric"]).reset_index(drop=True))
    assert at(0) > WEEK


def test_fourkeys_truncates_minutes_and_drops_non_positive_spans() -> None:
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 40 / 3600)]  # a 40 s change
    rows += [ev("commit", 1, sha="t2"), *deploy("d2", "t2", 2 + 59 / 3600)]  # 1 h 0 min 59 s
    corr = correlate(frame(rows))
    lt = change_lead_times(corr, "fourkeys")
    assert lt["lead_time_h"].tolist() == [pytest.approx(1.0)]
    assert len(change_lead_times(corr)) == 2


S = 1 / 3600  # one second in hours


def test_deployment_frequency_whole_range_without_groups(case: Correlation) -> None:
    whole = deployment_frequency(case, None, None)
    assert list(whole.columns) == ["period", "metric", "value", "n"]
    assert whole["period"].isna().all()
    assert _value(whole, "deployments") == 3
    assert _value(whole, "deployment_days") == 2
    assert _value(deployment_frequency(case, None, None, "devlake"), "deployment_frequency") == 2
    assert set(dora(case, None, None)["metric"]) >= {"deployments", "lead_time_median"}


def test_devlake_rounds_each_part_up_and_drops_a_negative_part() -> None:
    # c1: first commit 10 s after the PR was opened (coding part −10 s: Go's Ceil gives 0),
    # open → merge 2 h 0 min 1 s (→ 121 min), merge → deploy 30 s (→ 1 min); c0 shipped in the
    # scope's first deployment (no lead time under devlake)
    rows = pr("c0", "a0", 0, 2) + deploy("d0", "a0", 3)
    rows += [
        ev("commit", 5 + 10 * S, sha="a1", change_id="c1"),
        ev("change.opened", 5, change_id="c1", sha="a1", attrs={"author": "ann"}),
        ev("change.merged", 7 + S, change_id="c1", sha="a1"),
        *deploy("d1", "a1", 7 + 31 * S),
    ]
    rows += [
        ev("commit", 8, sha="a2", change_id="c2"),  # coding −90 s → −1 min: left out
        ev("change.opened", 8 - 90 * S, change_id="c2", sha="a2", attrs={"author": "ann"}),
        ev("change.merged", 9, change_id="c2", sha="a2"),
        *deploy("d2", "a2", 9.5),
    ]
    corr = correlate(frame(rows))
    lt = change_lead_times(corr, "devlake").set_index("change_id")["lead_time_h"] * 60
    assert lt.round(9).to_dict() == {"c1": 122.0, "c2": 62 + 30}
    once = change_lead_times(corr, case_profile("devlake", lead_time_parts=False))
    assert once.set_index("change_id").loc["c1", "lead_time_h"] * 60 == pytest.approx(121)


def test_incident_spans_truncate_and_recovery_counts_each_incident() -> None:
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 1)]
    rows += [ev("commit", 2, sha="t2"), *deploy("d2", "t2", 3)]
    rows += [ev("incident.opened", 3.5, incident_id="i1")]
    rows += [ev("incident.resolved", 4 + 50 * S, incident_id="i1")]  # 30 min 50 s
    rows += [ev("incident.opened", 4, incident_id="i2")]
    rows += [ev("incident.resolved", 6 + 59 * S, incident_id="i2")]  # 2 h 0 min 59 s
    corr = correlate(frame(rows))
    ttr = time_to_restore(corr, None, None, "devlake")
    assert sorted(ttr["n"]) == [2, 2]
    assert _value(ttr, "time_to_restore_median") * 60 == pytest.approx(30)  # lower, truncated
    # both incidents link to d2 (finished at 3 h): recovery 60 min 50 s → 60, 3 h 0 min 59 s → 180
    rec = recovery_time(corr, None, None, "devlake")
    assert _value(rec, "recovery_time_median") == 1.0
    assert rec["n"].tolist() == [2, 2]
    per_deploy = recovery_time(
        corr, None, None, case_profile("devlake", recovery_per_incident=False)
    )
    assert per_deploy["n"].tolist() == [1, 1]  # one failed deployment, restored at the last fix


def test_fourkeys_incident_starts_at_root_cause_deployment_and_counts_that_day() -> None:
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 1)]  # Monday 10:00
    rows += [ev("incident.opened", 25, incident_id="i1", sha="t1")]  # Tuesday, root cause t1
    rows += [ev("incident.resolved", 26 + 40 * S, incident_id="i1")]
    rows += [ev("incident.opened", 26, incident_id="i2")]  # no root cause
    rows += [ev("incident.resolved", 27, incident_id="i2")]
    corr = correlate(frame(rows))
    daily = time_to_restore(corr, None, "D", "fourkeys")
    med = daily.loc[daily["metric"] == "time_to_restore_median"]
    assert med["period"].dt.day.tolist() == [2, 3]  # i1 counts on the deployment's day
    assert med["value"].tolist() == [25.0, 1.0]  # 25 h 0 min 40 s truncated; i2 1 h
    vs = time_to_restore(corr, None, "D")  # both opened on Tuesday, exact spans
    assert vs.loc[vs["metric"] == "time_to_restore_median", "value"].tolist() == [1 + 20 * S]


def test_gitlab_restore_by_closing_day_median_of_daily_medians_per_week() -> None:
    rows = [
        ev("incident.opened", 0, incident_id="i1"),
        ev("incident.resolved", 1, incident_id="i1"),
    ]
    rows += [ev("incident.opened", 2, incident_id="i2")]
    rows += [ev("incident.resolved", 26, incident_id="i2")]  # closed Tuesday
    rows += [ev("incident.opened", 25, incident_id="i3")]
    rows += [ev("incident.resolved", 27, incident_id="i3")]  # Tuesday: median(24, 2) = 13
    rows += [ev("incident.opened", 47, incident_id="i4")]
    rows += [ev("incident.resolved", 51, incident_id="i4")]  # Wednesday: 4
    corr = correlate(frame(rows))
    weekly = time_to_restore(corr, "service", "W", "gitlab")
    assert _value(weekly, "time_to_restore_median") == 4.0  # median(1, 13, 4); pooled: 3.0
    assert weekly["n"].tolist() == [3, 3]  # days
    daily = time_to_restore(corr, "service", "D", "gitlab")
    med = daily.loc[daily["metric"] == "time_to_restore_median"]
    assert med["value"].tolist() == [1.0, 13.0, 4.0]


def test_gitlab_failure_rate_divides_by_at_least_one_deployment() -> None:
    """GitLab: SUM(incidents) / GREATEST(SUM(deployments), 1), per day as per range."""
    rows = [ev("commit", 0, sha="t1"), *deploy("d1", "t1", 1)]
    rows += [ev("incident.opened", 2, incident_id="i1")]
    rows += [
        ev("incident.opened", 30, incident_id="i2"),
        ev("incident.opened", 31, incident_id="i3"),
    ]
    corr = correlate(frame(rows))
    daily = change_failure_rate(corr, None, "D", "gitlab")
    assert daily["value"].tolist() == [1.0, 2.0]  # day 2: two incidents, no deployment
    assert daily["n"].tolist() == [1, 0]
    whole = change_failure_rate(corr, None, None, "gitlab")
    assert (whole["value"].iloc[0], whole["n"].iloc[0]) == (3.0, 1)
    ours = change_failure_rate(corr, None, "D")
    assert len(ours) == 1  # vsmml: a day without deployments has no rate
