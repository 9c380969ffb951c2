"""Contract tests for every registered anomaly detector, plus the registry and each detector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from vsmml.anomaly import (
    SeasonalZScore,
    available,
    build_detector,
    get_detector,
    prepare_series,
)
from vsmml.anomaly.base import Detector, suppress_repeats
from vsmml.anomaly.changepoint import cusum
from vsmml.anomaly.seasonal_fit import fit_profile, to_grid
from vsmml.anomaly.zscore import seasonal_expectation
from vsmml.errors import ConfigError, DataError

ALL = available()


def hourly(rows: int = 24 * 21, seed: int = 0, tz: str | None = None) -> pd.DataFrame:
    """Three weeks hourly: daily cycle, noise, a spike at row 400 and a level shift at 450."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    value = 50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, rows)
    if rows > 450:
        value[400] += 40
        value[450:] += 25
    ts = pd.date_range("2024-03-01", periods=rows, freq="h", tz=tz)
    return pd.DataFrame({"timestamp": ts, "value": value})


@pytest.mark.parametrize("name", ALL)
def test_scores_are_in_unit_interval_one_per_row(name: str) -> None:
    scores = get_detector(name).score(hourly())
    assert scores.shape == (24 * 21,)
    assert np.isfinite(scores).all()
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


@pytest.mark.parametrize("name", ALL)
def test_causal_prefix_gives_identical_scores(name: str) -> None:
    frame = hourly()
    det = get_detector(name)
    full = det.score(frame)
    for cut in (5, 30, 200, 401, 451):
        np.testing.assert_array_equal(det.score(frame.iloc[:cut]), full[:cut])


@pytest.mark.parametrize("name", ALL)
def test_deterministic_and_naive_equals_utc(name: str) -> None:
    det = get_detector(name)
    naive = det.score(hourly())
    np.testing.assert_array_equal(naive, det.score(hourly(tz="UTC")))
    np.testing.assert_array_equal(naive, get_detector(name).score(hourly()))


@pytest.mark.parametrize("name", ALL)
def test_awkward_inputs_do_not_crash(name: str) -> None:
    det = get_detector(name)
    frame = hourly()
    rng = np.random.default_rng(1)
    keep = np.sort(rng.choice(len(frame), size=300, replace=False))
    irregular = frame.iloc[keep].reset_index(drop=True)  # irregular spacing and gaps
    with_nan = frame.assign(value=frame["value"].where(frame.index % 7 != 0))
    constant = frame.assign(value=3.0)
    zeros_then_jump = frame.assign(value=np.where(frame.index < 300, 0.0, 5.0))
    inf = frame.assign(value=frame["value"].where(frame.index != 10, np.inf))
    for case in (
        irregular,
        with_nan,
        constant,
        zeros_then_jump,
        inf,
        frame.iloc[:1],
        frame.iloc[:0],
    ):
        s = det.score(case)
        assert s.shape == (len(case),)
        assert np.isfinite(s).all()
        assert ((s >= 0) & (s <= 1)).all()
    assert (det.score(constant) == 0).all()
    assert (det.score(with_nan)[with_nan["value"].isna().to_numpy()] == 0).all()


@pytest.mark.parametrize("name", ["default", "robust_zscore", "seasonal_zscore", "stl", "mstl"])
def test_spike_scores_higher_than_normal_rows(name: str) -> None:
    scores = get_detector(name).score(hourly())
    assert scores[400] > np.quantile(scores[200:390], 0.99)


def test_cusum_fires_on_level_shift_not_before() -> None:
    scores = get_detector("cusum").score(hourly())
    assert scores[450:460].max() > 0.5
    assert scores[250:395].max() < scores[450:460].max()


def test_timestamps_as_strings_unsorted_and_missing_are_repaired_causally() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": ["2024-01-01T00:00:00Z", None, "2024-01-01T02:00:00+02:00", "bad"],
            "value": ["1", "2", "x", 4],
        }
    )
    secs, values = prepare_series(frame)
    assert np.all(np.diff(secs) >= 0)
    assert np.isnan(values[2])
    assert values[3] == 4.0
    all_missing = pd.DataFrame({"timestamp": [None, None], "value": [1.0, 2.0]})
    np.testing.assert_array_equal(prepare_series(all_missing)[0], [0.0, 1.0])


def test_bad_frames_raise_data_error() -> None:
    with pytest.raises(DataError, match="missing column"):
        get_detector().score(pd.DataFrame({"ts": [1], "value": [1.0]}))
    with pytest.raises(DataError, match="DataFrame"):
        get_detector().score([1, 2])  # type: ignore[arg-type]


def test_registry_builds_from_plain_dicts() -> None:
    det = build_detector({"name": "seasonal_zscore", "seasons": 3, "period": 3600.0})
    assert isinstance(det, SeasonalZScore)
    assert det.config.to_dict()["seasons"] == 3
    assert get_detector("robust_zscore", window=50).config.to_dict()["window"] == 50
    assert "default" in ALL and "windowed_gaussian" in ALL
    assert "SeasonalZScore" in repr(det)
    with pytest.raises(ConfigError, match="unknown detector"):
        get_detector("nope")
    with pytest.raises(ConfigError, match="bad settings"):
        build_detector({"name": "cusum", "nonsense": 1})
    with pytest.raises(ConfigError, match="name"):
        build_detector({"window": 3})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "ensemble", "members": ()}, "empty"),
        ({"name": "ensemble", "combine": "median"}, "combine"),
        ({"name": "ensemble", "combine": "mean", "weights": (1.0,)}, "weights"),
    ],
)
def test_ensemble_rejects_bad_settings(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_detector(spec).score(hourly(48))


def test_ensemble_mean_and_max_combine_members() -> None:
    frame = hourly()
    a = get_detector("robust_zscore").score(frame)
    b = get_detector("seasonal_zscore").score(frame)
    members = ({"name": "robust_zscore"}, {"name": "seasonal_zscore"})
    mx = build_detector({"name": "ensemble", "members": members}).score(frame)
    mean = build_detector(
        {"name": "ensemble", "members": members, "combine": "mean", "weights": (3.0, 1.0)}
    ).score(frame)
    np.testing.assert_allclose(mx, np.maximum(a, b))
    np.testing.assert_allclose(mean, (3 * a + b) / 4)


@pytest.mark.parametrize("name", ["robust_zscore", "stl"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_direction_ignores_the_other_side(name: str, direction: str) -> None:
    frame = hourly()
    frame = frame.assign(value=frame["value"].where(frame.index != 300, -100.0))
    s = get_detector(name, direction=direction).score(frame)
    assert (s[300] > 0.5) == (direction == "down")


def test_suppress_repeats_damps_bursts_but_keeps_new_highs() -> None:
    s = np.array([0.1, 0.9, 0.9, 0.8, 0.95, 0.2])
    np.testing.assert_allclose(suppress_repeats(s, 2, 0.5), [0.1, 0.9, 0.45, 0.4, 0.95, 0.1])
    np.testing.assert_array_equal(suppress_repeats(s, 0, 0.5), s)


def test_cusum_statistic_accumulates_and_resets() -> None:
    up, down = cusum(np.array([1.0, 1.0, 1.0, -3.0, 0.0]), drift=0.5, reset_at=1.2)
    np.testing.assert_allclose(up, [0.5, 1.0, 1.5, 0.0, 0.0])
    np.testing.assert_allclose(down, [0.0, 0.0, 0.0, 2.5, 0.0])


def test_seasonal_expectation_matches_by_timestamp() -> None:
    secs = np.array([0.0, 10.0, 20.0, 100.0, 110.0, 120.0])
    values = np.array([1.0, 2.0, 3.0, 7.0, 8.0, 9.0])
    exp = seasonal_expectation(secs, values, period=100.0, seasons=1, tolerance=0.02)
    np.testing.assert_array_equal(exp[3:], [1.0, 2.0, 3.0])
    assert np.isnan(exp[:3]).all()


def test_stl_profile_recovers_a_daily_cycle() -> None:
    frame = hourly()
    secs, values = prepare_series(frame.iloc[:240])
    profile = fit_profile(secs, values, (86400.0,), 96)
    assert profile is not None
    assert profile.strength > 0.8
    assert profile.values.size == 24
    assert np.ptp(profile.values) == pytest.approx(20, rel=0.15)
    assert fit_profile(secs[:3], values[:3], (86400.0,), 96) is None
    assert to_grid(secs[:2], values[:2], 3600.0) is None


def test_base_detector_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Detector().score(hourly(10))
