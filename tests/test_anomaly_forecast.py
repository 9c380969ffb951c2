"""Weekly outlook with ETS and SARIMAX: shapes, interval order, and a weekly pattern carried on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.anomaly.forecast import regularise, weekly_outlook
from vsmml.errors import DataError


def daily(days: int = 42) -> pd.DataFrame:
    week = np.tile([5.0, 6, 7, 6, 5, 1, 1], days // 7 + 1)[:days]
    noise = np.random.default_rng(1).normal(0, 0.2, days)
    ts = pd.date_range("2024-01-01", periods=days, freq="D", tz="UTC")  # a Monday
    return pd.DataFrame({"timestamp": ts, "value": week + noise})


@pytest.mark.slow  # statsmodels' import and the fits take seconds on a loaded machine
@pytest.mark.parametrize("method", ["ets", "sarimax"])
def test_daily_outlook_carries_the_weekly_pattern(method: str) -> None:
    out = weekly_outlook(daily(), method=method, level=0.9)
    assert len(out) == 7
    assert out["timestamp"].iloc[0] == pd.Timestamp("2024-02-12", tz="UTC")
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    weekend = out["forecast"].iloc[5:].mean()
    weekday = out["forecast"].iloc[:5].mean()
    assert weekday - weekend > 3


def test_hourly_gaps_are_regularised_and_sarimax_is_refused() -> None:
    ts = pd.date_range("2024-01-01", periods=60, freq="h")
    frame = pd.DataFrame({"timestamp": ts, "value": np.arange(60.0)}).drop(index=[10, 11])
    series, freq = regularise(frame)
    assert freq == "h" and len(series) == 60 and series.iloc[10] == pytest.approx(10.0)
    with pytest.raises(DataError, match="daily"):
        weekly_outlook(frame, method="sarimax")
    with pytest.raises(DataError, match="method"):
        weekly_outlook(daily(), method="prophet")
    with pytest.raises(DataError, match="freq"):
        regularise(frame, "W")
    with pytest.raises(DataError, match="at least"):
        weekly_outlook(daily(5))
