"""SLO budget, burn rates and multiwindow alerts on hand-made series whose alert times are known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConfigError, DataError
from vsmml.slo import (
    DEFAULT_ALERTS,
    SLO,
    AlertSpec,
    alert_windows,
    alerts_from_sloth,
    budget_remaining,
    burn_rate,
    burn_rates,
    error_ratio,
    evaluate_alerts,
    exhaustion_forecast,
    first_alerts,
    parse_duration,
    samples_from_events,
    status,
)

SLO999 = SLO("checkout", 0.999)  # budget 0.001: a 2 % error ratio burns at 20x


def minutes(start: str, end: str, bad_from: str | None, bad_to: str | None, ratio: float = 0.02):
    """One sample per minute (the minute ending at its timestamp), 1000 requests each."""
    ts = pd.date_range(start, end, freq="min", tz="UTC")
    bad = np.zeros(len(ts))
    if bad_from is not None:
        hit = (ts > pd.Timestamp(bad_from, tz="UTC")) & (ts <= pd.Timestamp(bad_to, tz="UTC"))
        bad[hit] = ratio * 1000
    return pd.DataFrame({"timestamp": ts, "good": 1000 - bad, "total": 1000.0})


def test_factors_for_30_and_28_days_match_sloth() -> None:
    assert [round(w.factor, 4) for w in alert_windows(30)] == [14.4, 6.0, 3.0, 1.0]
    assert [round(w.factor, 4) for w in alert_windows(28)] == [13.44, 5.6, 2.8, 0.9333]
    assert [w.label for w in alert_windows()] == [
        "page 1h/5m",
        "page 6h/30m",
        "ticket 1d/2h",
        "ticket 3d/6h",
    ]


def test_alerts_start_exactly_when_both_windows_exceed_their_factor() -> None:
    samples = minutes(
        "2024-05-01 00:01", "2024-05-01 16:00", "2024-05-01 12:00", "2024-05-01 16:00"
    )
    starts = first_alerts(evaluate_alerts(samples, SLO999)).set_index("alert")["start"]
    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    # 1h: burn = 20·k/60 > 14.4  →  k = 44 bad minutes
    assert starts["page 1h/5m"] == utc("2024-05-01 12:44")
    # 6h: 20·k/360 > 6  →  k = 109
    assert starts["page 6h/30m"] == utc("2024-05-01 13:49")
    # 1d holds only 720 + k minutes of data: 20·k/(720 + k) > 3  →  k = 128
    assert starts["ticket 1d/2h"] == utc("2024-05-01 14:08")
    # 3d likewise: 20·k/(720 + k) > 1  →  k = 38; 6h short window 20·k/360 > 1 → k = 19
    assert starts["ticket 3d/6h"] == utc("2024-05-01 12:38")
    assert starts["page"] == utc("2024-05-01 12:44")


def test_short_window_resets_the_page_soon_after_recovery() -> None:
    samples = minutes(
        "2024-05-01 00:01", "2024-05-01 14:00", "2024-05-01 12:00", "2024-05-01 13:00"
    )
    alerts = evaluate_alerts(samples, SLO999)
    at = lambda s: alerts.loc[pd.Timestamp(s, tz="UTC"), "page 1h/5m"]  # noqa: E731
    assert at("2024-05-01 12:43") == False  # noqa: E712
    assert at("2024-05-01 13:01") == True  # noqa: E712  (4 of 5 minutes bad: 16x)
    assert at("2024-05-01 13:02") == False  # noqa: E712  (3 of 5: 12x < 14.4 though 1h is 19x)
    assert burn_rate(samples, SLO999, "1h", at="2024-05-01 13:02") == pytest.approx(58 / 3)


def test_quiet_series_never_alerts_and_grid_evaluation_works() -> None:
    samples = minutes("2024-05-01 00:01", "2024-05-02 00:00", None, None)
    alerts = evaluate_alerts(samples, SLO999, freq="15min")
    assert len(alerts) == 96
    assert not alerts.to_numpy().any()
    assert first_alerts(alerts).empty


def test_budget_remaining_and_exhaustion_forecast() -> None:
    samples = minutes("2024-04-01 00:01", "2024-05-01 00:00", "2024-04-01", "2024-05-01", 0.0005)
    assert budget_remaining(samples, SLO999) == pytest.approx(0.5)
    assert error_ratio(samples, "1D") == pytest.approx(0.0005)
    fast = minutes("2024-05-01 00:01", "2024-05-01 06:00", "2024-05-01", "2024-05-01 06:00", 0.002)
    both = pd.concat([samples, fast], ignore_index=True)
    fc = exhaustion_forecast(both, SLO999, lookback="6h")
    assert fc.burn_rate == pytest.approx(2.0)
    # at 2x the remaining share r lasts r · 30 d / 2
    assert fc.hours_left == pytest.approx(fc.budget_remaining * 30 * 24 / 2)
    assert fc.exhausted_at == pd.Timestamp("2024-05-01 06:00", tz="UTC") + pd.Timedelta(
        hours=fc.hours_left
    )
    quiet = minutes("2024-05-01 00:01", "2024-05-01 06:00", None, None)
    assert exhaustion_forecast(quiet, SLO999).exhausted_at is None
    spent = minutes("2024-05-01 00:01", "2024-05-01 06:00", "2024-05-01", "2024-05-02", 0.5)
    gone = exhaustion_forecast(spent, SLO999)
    assert gone.hours_left == 0.0
    assert gone.budget_remaining < 0


def test_burn_rates_frame_and_status_summary() -> None:
    samples = minutes(
        "2024-05-01 00:01", "2024-05-01 02:00", "2024-05-01 01:00", "2024-05-01 02:00"
    )
    rates = burn_rates(samples, SLO999, ["5min", "1h"])
    assert list(rates.columns) == ["5m", "1h"]
    assert rates["1h"].iloc[-1] == pytest.approx(20.0)
    s = status(samples, SLO999)
    assert s["page"] is True
    assert s["burn_1h"] == pytest.approx(20.0)
    assert s["at"] == pd.Timestamp("2024-05-01 02:00", tz="UTC")
    naive = status(samples, SLO999, at="2024-05-01 00:30")
    assert naive["page"] is False


def test_samples_from_slo_sample_events() -> None:
    events = pd.DataFrame(
        {
            "event_id": ["a", "b", "c"],
            "kind": ["slo.sample", "deploy.finished", "slo.sample"],
            "ts": pd.to_datetime(
                ["2024-05-01 00:01", "2024-05-01 00:01", "2024-05-01 00:02"], utc=True
            ),
            "service": ["api", "api", "api"],
            "attrs": [
                json.dumps({"good": 9, "total": 10}),
                "{}",
                json.dumps({"good": 5, "total": 5}),
            ],
        }
    )
    samples = samples_from_events(events)
    assert samples["good"].tolist() == [9.0, 5.0]
    assert error_ratio(samples, "1h") == pytest.approx(1 / 15)
    broken = events.assign(attrs=["{}", "{}", "{}"])
    with pytest.raises(DataError, match="event a"):
        samples_from_events(broken)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"timestamp": [], "good": []}), "missing column"),
        (
            pd.DataFrame({"timestamp": ["2024-01-01T00:00Z"], "good": [5], "total": [3]}),
            "good <= total",
        ),
        (pd.DataFrame({"timestamp": [], "good": [], "total": []}), "empty"),
    ],
)
def test_bad_samples_raise(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        error_ratio(frame, "1h")


def test_bad_slo_definitions_raise() -> None:
    with pytest.raises(DataError, match="objective"):
        SLO("x", 1.5)
    with pytest.raises(DataError, match="window_days"):
        SLO("x", 0.99, window_days=0)
    assert SLO("x", 0.99, window_days=28).window == pd.Timedelta(days=28)


def test_sloth_factors_are_kept_with_allow_and_clamped_below_1_by_default() -> None:
    assert [
        round(w.factor, 4) for w in SLO("x", 0.999, 28, low_factor="allow").alert_windows()
    ] == [
        13.44,
        5.6,
        2.8,
        0.9333,
    ]
    clamped = SLO("x", 0.999, 28).alert_windows()
    assert [round(w.factor, 4) for w in clamped] == [13.44, 5.6, 2.8, 1.0]
    assert clamped[3].clamped and "0.933 < 1" in clamped[3].note
    assert not any(w.clamped for w in SLO("x", 0.999, 30).alert_windows())


def test_seven_day_slo_refuses_or_clamps_ticket_factors_below_1() -> None:
    with pytest.raises(ConfigError, match=r"ticket 1d/2h has burn factor 0\.7 < 1 for a 7-day"):
        SLO("api", 0.999, 7, low_factor="refuse")
    windows = SLO("api", 0.999, 7).alert_windows()
    assert [round(w.factor, 3) for w in windows] == [3.36, 1.4, 1.0, 1.0]
    assert [round(w.sloth_factor, 3) for w in windows] == [3.36, 1.4, 0.7, 0.233]
    assert "budget share >= 42.9%" in windows[3].note  # 3 days of a 7-day period
    # a week at 2x the budget: the clamped ticket fires, and status says why it was clamped
    samples = minutes("2024-05-01 00:01", "2024-05-08 00:00", "2024-05-01", "2024-05-08", 0.002)
    s = status(samples, SLO("api", 0.999, 7))
    assert s["ticket"] is True
    assert (
        s["notes"] == "ticket 1d/2h factor 0.7 clamped to 1; ticket 3d/6h factor 0.233 clamped to 1"
    )
    assert "notes" not in status(samples, SLO("api", 0.999, 30))


def test_alert_windows_and_budget_shares_per_slo() -> None:
    fast = (AlertSpec("page", "30m", "2m", 0.03), AlertSpec("ticket", "12h", "1h", 0.2))
    slo = SLO("checkout", 0.999, 30, alerts=fast)
    assert [(w.label, round(w.factor, 2)) for w in slo.alert_windows()] == [
        ("page 30m/2m", 43.2),  # 3 % of 30 days in 30 minutes
        ("ticket 12h/1h", 12.0),
    ]
    # 100 % errors (burn 1000x) from 12:00: 30 m burn 1000·k/30 > 43.2 → k = 2 bad minutes
    samples = minutes(
        "2024-05-01 00:01", "2024-05-01 13:00", "2024-05-01 12:00", "2024-05-01 13:00", 1.0
    )
    starts = first_alerts(evaluate_alerts(samples, slo)).set_index("alert")["start"]
    assert starts["page 30m/2m"] == pd.Timestamp("2024-05-01 12:02", tz="UTC")
    assert list(evaluate_alerts(samples, slo).columns) == [
        "page 30m/2m",
        "ticket 12h/1h",
        "page",
        "ticket",
    ]


def test_alerts_from_a_sloth_alert_windows_spec() -> None:
    doc = {
        "apiVersion": "sloth.slok.dev/v1",
        "kind": "AlertWindows",
        "spec": {
            "sloPeriod": "30d",
            "page": {
                "quick": {"errorBudgetPercent": 2, "shortWindow": "5m", "longWindow": "1h"},
                "slow": {"errorBudgetPercent": 5, "shortWindow": "30m", "longWindow": "6h"},
            },
            "ticket": {
                "quick": {"errorBudgetPercent": 10, "shortWindow": "2h", "longWindow": "1d"},
                "slow": {"errorBudgetPercent": 10, "shortWindow": "6h", "longWindow": "3d"},
            },
        },
    }
    assert alerts_from_sloth(doc) == DEFAULT_ALERTS
    with pytest.raises(ConfigError, match="missing"):
        alerts_from_sloth({"page": {"quick": {"shortWindow": "5m"}}})
    with pytest.raises(ConfigError, match="no page or ticket"):
        alerts_from_sloth({"spec": {}})
    assert parse_duration("1h30m") == pd.Timedelta(minutes=90)
    assert parse_duration("5min") == pd.Timedelta(minutes=5)
    with pytest.raises(ConfigError, match="bad duration"):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alerts": (AlertSpec("page", "1h", "5m", 0.02),) * 2}, "share a severity"),
        ({"alerts": (AlertSpec("page", "40d", "1h", 0.02),)}, "longer than the 30-day period"),
        ({"alerts": ()}, "empty"),
        ({"low_factor": "ignore"}, "low_factor"),
    ],
)
def test_bad_alert_settings_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SLO("x", 0.999, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sms", "1h", "5m", 0.02), "severity"),
        (("page", "5m", "1h", 0.02), "short window < long window"),
        (("page", "1h", "5m", 0.0), "budget_share"),
    ],
)
def test_bad_alert_specs_raise(args: tuple[str, str, str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AlertSpec(*args)
