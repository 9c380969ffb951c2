"""Weekly outlook of a metric or SLI series: ETS (any resolution) or SARIMAX (daily only), with
prediction intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vsmml.anomaly.base import prepare_series
from vsmml.errors import DataError

SEASON_STEPS = {"h": 24, "D": 7}


def regularise(frame: pd.DataFrame, freq: str | None = None) -> tuple[pd.Series, str]:
    """Mean per `freq` bin ("h" or "D"; inferred from the median spacing), gaps interpolated.

    Returns the series (naive UTC index, as statsmodels wants) and the frequency used.
    """
    secs, values = prepare_series(frame)
    if freq is None:
        step = float(np.median(np.diff(secs))) if secs.size > 1 else 86400.0
        freq = "D" if step >= 86400 * 0.5 else "h"
    if freq not in SEASON_STEPS:
        raise DataError(f"forecast: 'freq' must be 'h' or 'D', got {freq!r}")
    index = pd.to_datetime(secs, unit="s")
    series = pd.Series(values, index=index).resample(freq).mean()
    return series.interpolate(limit_direction="both"), freq


def weekly_outlook(
    frame: pd.DataFrame,
    *,
    method: str = "ets",
    freq: str | None = None,
    level: float = 0.9,
    days: int = 7,
) -> pd.DataFrame:
    """Forecast the next `days` days with a `level` prediction interval.

    Args:
        frame: columns timestamp and value.
        method: "ets" (additive error, damped trend, seasonal when two seasons exist) or
            "sarimax" (daily series only: seasonal ARIMA (1,1,1)x(1,0,1,7)).
        freq: "h" or "D"; inferred when None.
        level: coverage of the interval, e.g. 0.9.
        days: horizon.

    Returns:
        Frame with timestamp, forecast, lower, upper.
    """
    y, freq = regularise(frame, freq)
    season = SEASON_STEPS[freq]
    horizon = days * (24 if freq == "h" else 1)
    if y.dropna().size < max(10, season + 2):
        raise DataError(
            f"forecast: need at least {max(10, season + 2)} {freq} points, got {y.size}"
        )
    alpha = 1.0 - level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ets":
            table = _ets(y, season, horizon, alpha)
        elif method == "sarimax":
            if freq != "D":
                raise DataError("forecast: SARIMAX is only offered at daily resolution (freq='D')")
            table = _sarimax(y, horizon, alpha)
        else:
            raise DataError(f"forecast: 'method' must be 'ets' or 'sarimax', got {method!r}")
    future = pd.date_range(y.index[-1], periods=horizon + 1, freq=freq, tz="UTC")[1:]
    return pd.DataFrame(
        {
            "timestamp": future,
            "forecast": table[:, 0],
            "lower": table[:, 1],
            "upper": table[:, 2],
        }
    )


def _ets(y: pd.Series, season: int, horizon: int, alpha: float) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "add" if y.size >= 2 * season else None
    model = ETSModel(
        y,
        error="add",
        trend="add",
        damped_trend=True,
        seasonal=seasonal,
        seasonal_periods=season if seasonal else None,
    )
    fit = model.fit(disp=False)
    pred = fit.get_prediction(start=y.size, end=y.size + horizon - 1)
    sf = pred.summary_frame(alpha=alpha)
    return np.column_stack([sf["mean"], sf["pi_lower"], sf["pi_upper"]])


def _sarimax(y: pd.Series, horizon: int, alpha: float) -> np.ndarray:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(y, order=(1, 1, 1), seasonal_order=(1, 0, 1, 7))
    fit = model.fit(disp=False)
    sf = fit.get_forecast(horizon).summary_frame(alpha=alpha)
    return np.column_stack([sf["mean"], sf["mean_ci_lower"], sf["mean_ci_upper"]])
