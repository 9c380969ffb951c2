"""The calibrated likelihood detector: calibration across series, events, cold start, settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.anomaly import DEFAULT_THRESHOLD, CalibratedLikelihood, get_detector
from vsmml.anomaly.likelihood import (
    LikelihoodConfig,
    damp_repeats,
    row_interval,
    tail_decades,
)
from vsmml.errors import ConfigError


def noise(days: float, step_s: int, kind: str, seed: int = 1, scale: float = 1.0) -> pd.DataFrame:
    n = int(days * 86400 / step_s)
    rng = np.random.default_rng(seed)
    values = {
        "gauss": lambda: rng.normal(0, 1, n),
        "laplace": lambda: rng.laplace(0, 1, n),
        "poisson": lambda: rng.poisson(3, n).astype(float),
        "daily": lambda: (
            10 * np.sin(2 * np.pi * np.arange(n) * step_s / 86400) + rng.normal(0, 1, n)
        ),
    }[kind]()
    ts = pd.date_range("2024-01-01", periods=n, freq=f"{step_s}s", tz="UTC")
    return pd.DataFrame({"timestamp": ts, "value": 100 + scale * values})


def alerts_per_day(scores: np.ndarray, days: float, threshold: float = DEFAULT_THRESHOLD) -> float:
    warm = scores.size // 5  # leave the first fifth (cold start) out
    return float((scores[warm:] >= threshold).sum() / (days * 0.8))


CASES = [
    ("gauss", 60, 20.0, 1.0),  # 1-minute samples, unit noise
    ("gauss", 3600, 60.0, 1.0),  # hourly: 60 times fewer rows a day
    ("laplace", 300, 20.0, 1e3),  # heavy tails, a thousand times the scale
    ("poisson", 3600, 60.0, 1.0),  # small counts
    ("daily", 300, 20.0, 1.0),  # a strong daily cycle
]


def test_one_threshold_means_the_same_rate_on_very_different_series() -> None:
    det = get_detector()
    rates, row_quantiles = [], []
    for kind, step, days, scale in CASES:
        s = det.score(noise(days, step, kind, scale=scale))
        rates.append(alerts_per_day(s, days))
        row_quantiles.append(np.quantile(s, 0.99))
    # "as extreme as (1 - t) / t times a day": about twice a day at 0.35 on every series,
    # although the rows per day differ 60-fold and the per-row 99th percentiles 10-fold
    assert all(0.2 <= r <= 4.0 for r in rates), rates
    assert max(row_quantiles) / min(row_quantiles) > 10
    assert max(rates) / min(rates) < 6


def test_scores_do_not_depend_on_the_unit() -> None:
    frame = noise(10, 300, "laplace")
    scaled = frame.assign(value=frame["value"] * 1e6)
    det = get_detector()
    np.testing.assert_allclose(det.score(scaled), det.score(frame), atol=1e-9)


def test_spike_and_level_shift_alert_once_each() -> None:
    frame = noise(20, 300, "daily", seed=3)
    v = frame["value"].to_numpy().copy()
    v[3000] += 25  # a spike, ~25 sigma
    v[4000:] += 15  # a level shift that stays
    scores = get_detector().score(frame.assign(value=v))
    assert scores[3000] > 0.99
    assert scores[4000:4003].max() > 0.9
    # the spike pulls the level up, so the next row deviates too: a repeat, one decade less rare
    assert (scores[3001:3010] >= DEFAULT_THRESHOLD).sum() <= 1
    assert scores[3001:3010].max() < scores[3000]
    quiet = np.r_[scores[1000:2990], scores[4300:]]
    assert alerts_per_day(quiet, len(quiet) * 300 / 86400 / 0.8) < 3


def test_a_spike_at_the_same_time_every_day_becomes_ordinary() -> None:
    frame = noise(14, 300, "gauss", seed=5)
    v = frame["value"].to_numpy().copy()
    daily_job = np.arange(36, v.size, 288)  # 03:00 every day
    v[daily_job] += 6
    scores = get_detector().score(frame.assign(value=v))
    first, later = scores[daily_job[1:3]].mean(), scores[daily_job[-4:]].mean()
    assert later < first
    no_season = get_detector(seasons=0).score(frame.assign(value=v))
    assert scores[daily_job[-4:]].mean() < no_season[daily_job[-4:]].mean()


def test_cold_start_gaps_and_missing_values() -> None:
    frame = noise(3, 300, "gauss")
    scores = get_detector().score(frame)
    assert (scores[:51] == 0).all()  # min_history raw deviations before any score
    gappy = frame.drop(index=range(200, 400)).reset_index(drop=True)  # 200 rows (16 h) missing
    s = get_detector().score(gappy)
    assert np.isfinite(s).all() and s.shape == (len(gappy),)
    assert s[200] < 0.99  # a gap alone is not an anomaly
    holes = frame.assign(value=frame["value"].where(frame.index % 5 != 0))
    sh = get_detector().score(holes)
    assert (sh[holes["value"].isna().to_numpy()] == 0).all()


def test_irregular_sampling_is_measured_by_the_trailing_median_step() -> None:
    secs = np.cumsum(np.r_[0.0, np.full(50, 60.0), np.full(300, 600.0)])
    steps = row_interval(secs)
    assert steps[0] == 1.0  # no spacing known yet
    assert steps[40] == 60.0
    assert steps[-1] == 600.0


def test_tail_decades_on_a_known_history() -> None:
    cfg = LikelihoodConfig(history=1000, min_history=100, q_low=0.9, q_high=0.99)
    raw = np.r_[np.arange(1000) / 100.0, [9.0, 20.0, 1.0, np.nan]]  # uniform 0..9.99, probes
    d = tail_decades(raw, cfg, np.zeros(raw.size))
    assert np.isnan(d[:100]).all()  # too little history
    for row, value in ((1000, 9.0), (1001, 20.0)):  # the previous 1000 raw values are the history
        u1, u2 = np.quantile(raw[row - 1000 : row], [0.9, 0.99])
        beta = (u2 - u1) / np.log(10)  # ln((1 - 0.9) / (1 - 0.99))
        assert d[row] == pytest.approx(1 + (value - u1) / (beta * np.log(10)))
    assert d[1002] == 0.0  # below the tail
    assert np.isnan(d[1003])


def test_repeats_are_damped_unless_they_rise() -> None:
    x = np.array([0.0, 3.0, 3.0, 2.0, 4.0, -1.0, 3.5])
    np.testing.assert_allclose(damp_repeats(x, 2, 1.0), [0.0, 3.0, 2.0, 1.0, 4.0, -2.0, 2.5])
    np.testing.assert_array_equal(damp_repeats(x, 0, 1.0), x)


@pytest.mark.parametrize(
    "bad",
    [{"q_low": 0.99, "q_high": 0.9}, {"history": 0}, {"span": 0}, {"per": 0.0}],
)
def test_bad_settings_raise_config_error(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        get_detector("likelihood", **bad)


def test_default_is_the_likelihood_with_a_threshold_in_the_unit_interval() -> None:
    assert isinstance(get_detector(), CalibratedLikelihood)
    assert 0.0 < DEFAULT_THRESHOLD < 1.0
