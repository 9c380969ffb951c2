"""Tests for the burn features: grid, causal burn rates, deploy context and the page label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.features.burn_features import (
    BURN_FEATURES,
    burn_features,
    burn_grid,
    page_condition,
    page_within,
)


def _samples(n: int = 48, bad_at: tuple[int, ...] = ()) -> pd.DataFrame:
    ts = pd.date_range("2026-01-05 00:05", periods=n, freq="5min", tz="UTC")
    total = np.full(n, 1000.0)
    bad = np.zeros(n)
    bad[list(bad_at)] = 50.0  # 5 % errors = 50x a 0.1 % budget
    return pd.DataFrame({"timestamp": ts, "service": "api", "good": total - bad, "total": total})


def test_grid_fills_missing_bins_with_zero() -> None:
    s = _samples(6).drop(index=[2, 3])
    g = burn_grid(s)
    assert len(g) == 6
    assert g["total"].tolist() == [1000.0, 1000.0, 0.0, 0.0, 1000.0, 1000.0]


def test_burn_rates_match_hand_computation_and_are_causal() -> None:
    f = burn_features(burn_grid(_samples(48, bad_at=(20,))), objective=0.999, detector=None)
    assert list(f.columns[2:]) == list(BURN_FEATURES)
    assert f.loc[19, "burn_5m"] == 0.0  # nothing before the burst leaks in
    assert f.loc[20, "burn_5m"] == pytest.approx(50.0)
    assert f.loc[20, "burn_30m"] == pytest.approx(50.0 / 6)
    assert f.loc[25, "burn_30m"] == pytest.approx(50.0 / 6)
    assert f.loc[26, "burn_30m"] == 0.0
    assert f.loc[31, "burn_1h"] == pytest.approx(50.0 / 12)
    assert f.loc[20, "slope_5m"] == pytest.approx(50.0)


def test_page_label_looks_ahead_only() -> None:
    bad = tuple(range(20, 34))  # 70 min at 50x: the 1 h window passes 14.4x
    f = burn_features(burn_grid(_samples(60, bad_at=bad)), objective=0.999, detector=None)
    page = page_condition(f).to_numpy()
    first = int(np.flatnonzero(page)[0])
    y = page_within(f, "1h").to_numpy()
    assert y[first - 1] == 1 and y[first - 12] == 1
    assert y[first - 13] == 0
    assert y[-1] == 0


def test_deploy_features_and_detector() -> None:
    g = burn_grid(_samples(24))
    deps = pd.DataFrame(
        {
            "service": ["api", "api"],
            "timestamp": pd.to_datetime(["2026-01-05 00:12", "2026-01-05 00:40"], utc=True),
            "risk": [0.5, 0.2],
        }
    )
    f = burn_features(g, objective={"api": 0.999}, deploys=deps, detector="robust_zscore")
    row = f.set_index("timestamp").loc[pd.Timestamp("2026-01-05 00:45", tz="UTC")]
    assert row["minutes_since_deploy"] == pytest.approx(5.0)
    assert row["last_deploy_risk"] == pytest.approx(0.2)
    assert row["deploy_risk_1h"] == pytest.approx(1 - 0.5 * 0.8)
    assert row["deploys_1h"] == 2.0
    assert np.isnan(f.loc[0, "minutes_since_deploy"])
    assert f["anomaly_score"].between(0, 1).all()


def test_bad_input_is_refused() -> None:
    with pytest.raises(DataError, match="miss"):
        burn_grid(pd.DataFrame({"timestamp": [], "good": []}))
    with pytest.raises(DataError, match="objective"):
        burn_features(burn_grid(_samples(4)), objective=1.5, detector=None)
    assert burn_grid(_samples(0)).empty


def test_elevated_stretch_and_page_evidence() -> None:
    bad = tuple(range(20, 26))  # 30 min at 50x, then quiet
    f = burn_features(burn_grid(_samples(40, bad_at=bad)), objective=0.999, detector=None)
    assert f.loc[19, "run_minutes"] == 0.0 and f.loc[19, "run_burn"] == 0.0
    assert f.loc[20, "run_minutes"] == 5.0 and f.loc[22, "run_minutes"] == 15.0
    assert f.loc[22, "run_burn"] == pytest.approx(50.0)
    # at 50x the 1 h window reaches 14.4x after 60 * 14.4 / 50 = 17.28 min of burning
    assert f.loc[22, "needs_minutes"] == pytest.approx(17.28 - 15.0)
    # 50 errors where the page rate expects 14.4: z = (50 - 14.4) / sqrt(14.4)
    assert f.loc[20, "z_page_5m"] == pytest.approx((50 - 14.4) / np.sqrt(14.4))
    assert f.loc[20, "run_z"] == pytest.approx(f.loc[20, "z_page_5m"])
    # the 15-min burn keeps the stretch open for two quiet steps, then it closes
    assert f.loc[27, "run_minutes"] == 40.0 and f.loc[28, "run_minutes"] == 0.0
    assert f.loc[27, "run_burn"] == pytest.approx(50.0 * 6 / 8)
    assert f.loc[15, "z_page_1h"] == pytest.approx(-np.sqrt(14.4 * 12))  # 12 quiet samples
    assert f.loc[30, "needs_minutes"] == 1440.0


def test_every_feature_at_t_uses_only_data_up_to_t() -> None:
    """Truncating the samples after any step leaves every earlier feature row unchanged."""
    rng = np.random.default_rng(3)
    bad_at = tuple(int(i) for i in np.sort(rng.choice(np.arange(5, 115), 30, replace=False)))
    samples = _samples(120, bad_at=bad_at)
    full = burn_features(burn_grid(samples), objective=0.999, detector=None)
    for cut in (30, 61, 97):
        part = burn_features(burn_grid(samples.iloc[:cut]), objective=0.999, detector=None)
        pd.testing.assert_frame_equal(part, full.iloc[: len(part)], check_exact=False, rtol=1e-9)
