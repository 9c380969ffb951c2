"""Calibrated anomaly likelihood: how rarely, per day, the series' own history is this extreme.

Each row gets two raw deviations: from the exponentially weighted level of the rows before it,
and from the median of the same time of day over the last `seasons` days. Each is turned into a
tail probability p under the series' own recent history of that deviation: an exponential tail
above the history's 90th percentile, its scale fixed by the 99.5th (robust to a few per cent of
anomalous rows, free of the values' unit). The seasonal view may make a value up to
`seasonal_margin` decades less rare (normal for its time of day), not rarer. A row that arrives
every Δ seconds with tail probability p recurs λ = p · day / Δ times a day, and the score is
1 / (1 + λ): 0.5 means "this extreme about once a day by chance", 0.9 once in 9 days, 0.99 once
in 99 days, so one threshold means the same on every series whatever its sampling interval, level
or noise. Rows outside the tail score 0; a row that does not exceed the previous `repeat_rows`
rows' maximum counts `repeat_decades` less rare (a burst reads as one alert).

Everything is causal (row t uses rows before it for every statistic), vectorised and
deterministic. Gaps and irregular sampling are handled by matching past days by timestamp and by
measuring Δ as the trailing median spacing; missing values score 0 and are left out of every
history; the first `min_history` rows with a raw deviation score 0 (cold start).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import register
from vsmml.anomaly.zscore import seasonal_expectation
from vsmml.errors import ConfigError

LN10 = float(np.log(10.0))
FLOOR_REL = 1e-4  # smallest tail scale, as a share of the level (constant stretches)


@dataclass(frozen=True)
class LikelihoodConfig(DetectorConfig):
    """Calibrated likelihood detector.

    Attributes:
        span: rows in the exponentially weighted level each value is compared with.
        seasons: past periods whose same-phase median is the seasonal expectation (0: none).
        period: season length in seconds (86400: daily).
        seasonal_margin: how many decades of rarity the seasonal view may take away when the
            value is normal for this time of day (e.g. a nightly batch job's spike).
        seasonal_boost: how many decades the seasonal view may add when the value is more
            unusual for its time of day than for its recent level (0: none).
        history: past rows whose raw deviations the tail is fitted on.
        min_history: raw deviations needed before a row is scored.
        q_low, q_high: the two quantiles of the history that fix the exponential tail.
        per: seconds of the rarity unit (86400: "expected times per day").
        repeat_rows: rows after a score in which a lower score counts as a repeat.
        repeat_decades: a repeat is made this many decades less rare (one alert per burst).
    """

    span: int = 10
    seasons: int = 7
    period: float = 86400.0
    seasonal_margin: float = 1.0
    seasonal_boost: float = 0.0
    history: int = 10000
    min_history: int = 50
    q_low: float = 0.9
    q_high: float = 0.995
    per: float = 86400.0
    repeat_rows: int = 10
    repeat_decades: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.q_low < self.q_high < 1.0:
            raise ConfigError(
                f"likelihood: need 0 < q_low < q_high < 1, got {self.q_low}, {self.q_high}"
            )
        for name in ("span", "history", "min_history"):
            if getattr(self, name) < 1:
                raise ConfigError(f"likelihood: {name!r} must be >= 1, got {getattr(self, name)}")
        if self.per <= 0 or self.period <= 0:
            raise ConfigError("likelihood: 'per' and 'period' must be > 0 seconds")


@register
class CalibratedLikelihood(Detector):
    """Score 1 / (1 + λ), λ = expected daily count of raw deviations this extreme (see module)."""

    name = "likelihood"
    config_class = LikelihoodConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, LikelihoodConfig)
        x = log_rarity(secs, values, cfg)
        with np.errstate(over="ignore"):
            out: FloatArray = 1.0 / (1.0 + np.power(10.0, -x))
        return out


def log_rarity(secs: FloatArray, values: FloatArray, cfg: LikelihoodConfig) -> FloatArray:
    """log10(1 / λ) per row, after the repeat rule; -inf where a row cannot be scored."""
    deviation, ewma = level_deviation(values, cfg.span)
    floor = FLOOR_REL * np.abs(np.nan_to_num(ewma))
    level = tail_decades(deviation, cfg, floor)
    x = level
    if cfg.seasons > 0:
        expected = seasonal_expectation(secs, values, cfg.period, cfg.seasons, 0.02)
        seasonal = tail_decades(np.abs(values - expected), cfg, floor)
        seasonal = np.where(np.isnan(seasonal), level, seasonal)  # no past day yet
        x = np.clip(seasonal, level - cfg.seasonal_margin, level + cfg.seasonal_boost)
    ordinary = np.isnan(x) | (x <= 0)  # not in the tail of the history: no anomaly at all
    x = np.where(ordinary, -np.inf, x - np.log10(cfg.per / row_interval(secs)))
    return damp_repeats(x, cfg.repeat_rows, cfg.repeat_decades)


def level_deviation(values: FloatArray, span: int) -> tuple[FloatArray, FloatArray]:
    """|x_t - EWMA of the values before t| and that EWMA (NaN for missing values, first row)."""
    level = pd.Series(values).ewm(span=span, ignore_na=True).mean().shift(1)
    ewma = level.to_numpy(dtype=np.float64)
    return np.abs(values - ewma), ewma


def tail_decades(raw: FloatArray, cfg: LikelihoodConfig, floor: FloatArray) -> FloatArray:
    """-log10 P(R >= r_t) under an exponential tail of the previous `history` raw values.

    The tail starts at the history's `q_low` quantile u₁ with P = 1 - q_low and its scale comes
    from the `q_high` quantile u₂: β = (u₂ - u₁) / ln((1 - q_low) / (1 - q_high)). Rows at or
    below u₁ get 0; NaN raw values (and rows with fewer than `min_history` past raw values) NaN.
    """
    u1 = past_quantile(raw, cfg.q_low, cfg.history, cfg.min_history)
    u2 = past_quantile(raw, cfg.q_high, cfg.history, cfg.min_history)
    span = np.log((1.0 - cfg.q_low) / (1.0 - cfg.q_high))
    beta = np.maximum((u2 - u1) / span, np.maximum(1e-3 * np.abs(u1), floor) + 1e-12)
    with np.errstate(invalid="ignore"):
        decades = -np.log10(1.0 - cfg.q_low) + (raw - u1) / (beta * LN10)
        out: FloatArray = np.where(raw > u1, decades, np.where(np.isnan(u1 + raw), np.nan, 0.0))
    return out


def past_quantile(raw: FloatArray, q: float, history: int, min_history: int) -> FloatArray:
    """Quantile q of the `history` values before each row (NaN values skipped; NaN when fewer
    than `min_history`)."""
    roll = pd.Series(raw).rolling(history, min_periods=min_history)
    return np.array(roll.quantile(q).shift(1), dtype=np.float64)


def row_interval(secs: FloatArray, rows: int = 100) -> FloatArray:
    """Trailing median spacing (seconds) of the last `rows` positive steps; 1 s before any."""
    steps = np.diff(secs, prepend=np.nan)
    steps = np.where(steps > 0, steps, np.nan)
    med = pd.Series(steps).rolling(rows, min_periods=1).median().ffill()
    out: FloatArray = med.fillna(1.0).to_numpy(dtype=np.float64)
    return out


def damp_repeats(x: FloatArray, rows: int, decades: float) -> FloatArray:
    """Make a row `decades` less rare when it does not exceed the previous `rows` rows' maximum."""
    if rows <= 0 or x.size == 0:
        return x
    prev = pd.Series(x).rolling(rows, min_periods=1).max().shift(1).to_numpy(dtype=np.float64)
    prev = np.where(np.isnan(prev), -np.inf, prev)
    out: FloatArray = np.where(x > prev, x, x - decades)
    return out
