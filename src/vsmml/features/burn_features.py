"""Lagged SLI features per service on a regular grid, and the "page within the horizon" label.

Every feature at grid time t uses samples with timestamps <= t and deployments finished <= t
only (causal), so a model trained on them can run live. Burn rate over a window = bad / total
events in (t - window, t], divided by the error budget (1 - objective), as in `vsmml.slo`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError

FloatArray = npt.NDArray[np.float64]

BURN_WINDOWS: Final[dict[str, pd.Timedelta]] = {
    "5m": pd.Timedelta("5min"),
    "15m": pd.Timedelta("15min"),
    "30m": pd.Timedelta("30min"),
    "1h": pd.Timedelta("1h"),
    "6h": pd.Timedelta("6h"),
}
PAGE_FACTOR: Final[float] = 14.4
"""SRE workbook page threshold: 2 % of a 30-day budget in one hour."""
DEPLOY_WINDOW: Final[pd.Timedelta] = pd.Timedelta("1h")
MAX_MINUTES: Final[float] = 1440.0

BURN_FEATURES: Final[tuple[str, ...]] = (
    "burn_5m",
    "burn_15m",
    "burn_30m",
    "burn_1h",
    "burn_6h",
    "slope_5m",
    "slope_30m",
    "slope_1h",
    "max_burn_5m_30m",
    "minutes_to_page",
    "log_traffic_1h",
    "bad_30m",
    "minutes_since_deploy",
    "last_deploy_risk",
    "deploy_risk_1h",
    "deploys_1h",
    "anomaly_score",
    "hour",
    "weekday",
    "run_minutes",
    "run_burn",
    "run_z",
    "needs_minutes",
    "z_page_5m",
    "z_page_15m",
    "z_page_30m",
    "z_page_1h",
)
"""Model inputs produced by `burn_features`, in order."""
ELEVATED: Final[float] = 2.0
"""Burn rate (5 or 15 min) above which a grid time belongs to an elevated stretch: the smallest
burn episodes are about 2x, a healthy service's base error rate stays well under 1x."""
Z_WINDOWS: Final[dict[str, pd.Timedelta]] = {
    name: BURN_WINDOWS[name] for name in ("5m", "15m", "30m", "1h")
}


def _steps(window: pd.Timedelta, step: pd.Timedelta) -> int:
    k = int(window / step)
    if k < 1 or k * step != window:
        raise DataError(f"burn features: window {window} is not a multiple of the step {step}")
    return k


def burn_grid(samples: pd.DataFrame, *, step: str | pd.Timedelta = "5min") -> pd.DataFrame:
    """Good/total counts per service on a regular grid of `step` (missing bins count zero).

    Args:
        samples: columns `timestamp` (UTC; the end of each sample's interval), `service`,
            `good`, `total`, as `vsmml.slo.samples_from_events` returns.
        step: grid spacing; a sample falls in the bin whose end is the next multiple of it.
    """
    missing = [c for c in ("timestamp", "service", "good", "total") if c not in samples.columns]
    if missing:
        raise DataError(f"burn_grid: samples miss column(s) {missing}; got {list(samples)}")
    st = pd.Timedelta(step)
    ts = pd.to_datetime(samples["timestamp"], utc=True).dt.ceil(st)
    frame = pd.DataFrame(
        {
            "service": samples["service"].astype("str").to_numpy(),
            "timestamp": ts.to_numpy(),
            "good": pd.to_numeric(samples["good"]).to_numpy(dtype=np.float64),
            "total": pd.to_numeric(samples["total"]).to_numpy(dtype=np.float64),
        }
    )
    sums = frame.groupby(["service", "timestamp"], sort=True).sum()
    parts = []
    for service, part in sums.groupby(level="service", sort=True):
        times = part.index.get_level_values("timestamp")
        full = pd.date_range(times.min(), times.max(), freq=st)
        p = part.droplevel("service").reindex(full, fill_value=0.0)
        parts.append(
            pd.DataFrame(
                {
                    "service": str(service),
                    "timestamp": full,
                    "good": p["good"].to_numpy(),
                    "total": p["total"].to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "service": pd.Series(dtype="str"),
                "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
                "good": pd.Series(dtype="float64"),
                "total": pd.Series(dtype="float64"),
            }
        )
    out = pd.concat(parts, ignore_index=True)
    out["timestamp"] = out["timestamp"].astype("datetime64[us, UTC]")
    return out.astype({"service": "str"})


def _window_sum(cum: FloatArray, k: int) -> FloatArray:
    """Sum over the last k rows (inclusive) from a zero-prefixed cumulative sum."""
    idx = np.arange(1, cum.size)
    out: FloatArray = cum[idx] - cum[np.maximum(idx - k, 0)]
    return out


def _burns(good: FloatArray, total: FloatArray, k: int, budget: float) -> FloatArray:
    bad_c = np.concatenate([[0.0], np.cumsum(total - good)])
    tot_c = np.concatenate([[0.0], np.cumsum(total)])
    bad, tot = _window_sum(bad_c, k), _window_sum(tot_c, k)
    with np.errstate(all="ignore"):
        out: FloatArray = np.where(tot > 0, bad / np.where(tot > 0, tot, 1.0), 0.0) / budget
    return out


def _lag_diff(x: FloatArray, k: int) -> FloatArray:
    out = np.zeros_like(x)
    out[k:] = x[k:] - x[:-k]
    return out


def _evidence(bad: FloatArray, total: FloatArray, budget: float, factor: float) -> FloatArray:
    """Poisson z-score of `bad` errors in `total` requests against the page rate.

    Positive when the errors exceed what a burn of exactly `factor` would give; its size grows
    with traffic, so the model can tell a sure 20x on a busy service from a noisy 20x on a
    quiet one (0 where there was no traffic).
    """
    lam = factor * budget * total
    with np.errstate(all="ignore"):
        out: FloatArray = np.where(lam > 0, (bad - lam) / np.sqrt(np.maximum(lam, 1e-12)), 0.0)
    return out


def _stretch_features(
    good: FloatArray, total: FloatArray, step: pd.Timedelta, budget: float, factor: float
) -> dict[str, FloatArray]:
    """The current elevated stretch: how long, how hard it burns, and how sure that is.

    Burn episodes start abruptly, so the errors since the stretch began are the sharpest
    estimate of the episode's burn rate; `needs_minutes` is how much longer it must last at
    that rate for the 1 h burn to reach `factor` (negative once it has).
    """
    bad = total - good
    n = total.size
    b5 = _burns(good, total, 1, budget)
    b15 = _burns(good, total, _steps(pd.Timedelta("15min"), step), budget)
    elevated = (b5 >= ELEVATED) | (b15 >= ELEVATED)
    idx = np.arange(n)
    begins = np.where(elevated & ~np.r_[False, elevated[:-1]], idx, 0)
    start = np.maximum.accumulate(begins) if n else begins
    bad_c = np.concatenate([[0.0], np.cumsum(bad)])
    tot_c = np.concatenate([[0.0], np.cumsum(total)])
    run_bad, run_tot = bad_c[idx + 1] - bad_c[start], tot_c[idx + 1] - tot_c[start]
    minutes = np.where(elevated, (idx - start + 1) * step / pd.Timedelta("1min"), 0.0)
    with np.errstate(all="ignore"):
        rate = np.where(elevated & (run_tot > 0), run_bad / np.maximum(run_tot, 1.0) / budget, 0.0)
        needs = np.where(rate > 0, 60.0 * factor / np.maximum(rate, 1e-12) - minutes, MAX_MINUTES)
    return {
        "run_minutes": minutes,
        "run_burn": rate,
        "run_z": np.where(elevated, _evidence(run_bad, run_tot, budget, factor), 0.0),
        "needs_minutes": np.clip(needs, -60.0, MAX_MINUTES),
    }


def _deploy_features(
    ts: npt.NDArray[np.int64], deploys: pd.DataFrame | None, window_us: int
) -> dict[str, FloatArray]:
    """Time since the last deploy, its risk, and the chance any deploy of the last window fails."""
    n = ts.size
    nan = np.full(n, np.nan)
    if deploys is None or deploys.empty:
        return {
            "minutes_since_deploy": nan,
            "last_deploy_risk": nan.copy(),
            "deploy_risk_1h": np.zeros(n),
            "deploys_1h": np.zeros(n),
        }
    d = deploys.sort_values("timestamp", kind="stable")
    dts = _micros(d["timestamp"])
    risk = (
        pd.to_numeric(d["risk"], errors="coerce").to_numpy(dtype=np.float64)
        if "risk" in d.columns
        else np.full(len(d), np.nan)
    )
    j = np.searchsorted(dts, ts, side="right") - 1
    has = j >= 0
    jj = np.maximum(j, 0)
    since = np.where(has, (ts - dts[jj]) / 60e6, np.nan)
    last_risk = np.where(has, risk[jj], np.nan)
    lo = np.searchsorted(dts, ts - window_us, side="right")
    log_ok = np.concatenate([[0.0], np.cumsum(np.log1p(-np.clip(np.nan_to_num(risk), 0, 0.999)))])
    any_fail = 1.0 - np.exp(log_ok[j + 1] - log_ok[lo])
    return {
        "minutes_since_deploy": np.minimum(since, MAX_MINUTES),
        "last_deploy_risk": last_risk,
        "deploy_risk_1h": any_fail,
        "deploys_1h": (j + 1 - lo).astype(np.float64),
    }


def _micros(ts: pd.Series) -> npt.NDArray[np.int64]:
    values = pd.to_datetime(ts, utc=True).astype("datetime64[us, UTC]")
    out: npt.NDArray[np.int64] = values.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return out


def _service_features(
    part: pd.DataFrame,
    budget: float,
    step: pd.Timedelta,
    deploys: pd.DataFrame | None,
    detector: Any,
    factor: float,
) -> pd.DataFrame:
    good = part["good"].to_numpy(dtype=np.float64)
    total = part["total"].to_numpy(dtype=np.float64)
    ts = _micros(part["timestamp"])
    out = pd.DataFrame({"service": part["service"].to_numpy(), "timestamp": part["timestamp"]})
    burn = {name: _burns(good, total, _steps(w, step), budget) for name, w in BURN_WINDOWS.items()}
    for name, values in burn.items():
        out[f"burn_{name}"] = values
    k30, k1h = _steps(pd.Timedelta("30min"), step), _steps(pd.Timedelta("15min"), step)
    out["slope_5m"] = _lag_diff(burn["5m"], 1)
    out["slope_30m"] = _lag_diff(burn["30m"], k1h)
    out["slope_1h"] = _lag_diff(burn["1h"], k1h)
    out["max_burn_5m_30m"] = pd.Series(burn["5m"]).rolling(k30, min_periods=1).max().to_numpy()
    with np.errstate(all="ignore"):
        to_page = (factor - burn["1h"]) * 60.0 / np.maximum(burn["15m"], 1e-3)
    out["minutes_to_page"] = np.clip(to_page, 0.0, MAX_MINUTES)
    tot_c = np.concatenate([[0.0], np.cumsum(total)])
    bad_c = np.concatenate([[0.0], np.cumsum(total - good)])
    out["log_traffic_1h"] = np.log1p(_window_sum(tot_c, _steps(pd.Timedelta("1h"), step)))
    out["bad_30m"] = _window_sum(bad_c, k30)
    service = str(part["service"].iloc[0])
    mine = None
    if deploys is not None:
        mine = deploys.loc[deploys["service"].astype("str") == service]
    for name, values in _deploy_features(ts, mine, int(DEPLOY_WINDOW.value // 1000)).items():
        out[name] = values
    if detector is not None:
        with np.errstate(all="ignore"):
            ratio = np.where(total > 0, (total - good) / np.where(total > 0, total, 1.0), np.nan)
        frame = pd.DataFrame({"timestamp": part["timestamp"].to_numpy(), "value": ratio})
        out["anomaly_score"] = np.asarray(detector.score(frame), dtype=np.float64)
    else:
        out["anomaly_score"] = np.nan
    stamps = pd.DatetimeIndex(part["timestamp"])
    out["hour"] = stamps.hour.to_numpy(dtype=np.float64)
    out["weekday"] = stamps.day_of_week.to_numpy(dtype=np.float64)
    for name, values in _stretch_features(good, total, step, budget, factor).items():
        out[name] = values
    for name, w in Z_WINDOWS.items():
        k = _steps(w, step)
        out[f"z_page_{name}"] = _evidence(
            _window_sum(bad_c, k), _window_sum(tot_c, k), budget, factor
        )
    return out


def burn_features(
    grid: pd.DataFrame,
    *,
    objective: float | dict[str, float],
    deploys: pd.DataFrame | None = None,
    detector: Any = "default",
    step: str | pd.Timedelta = "5min",
    factor: float = PAGE_FACTOR,
) -> pd.DataFrame:
    """Causal features per (service, timestamp) of a `burn_grid` frame.

    Args:
        grid: output of `burn_grid` (regular per service).
        objective: SLO target (e.g. 0.999), or one per service.
        deploys: production deployments with columns `service`, `timestamp` (finished) and
            optionally `risk` (failure probability of the deploy, e.g. from ChangeRiskModel or
            1 - prod(1 - p) over its changes).
        detector: an object with `score(frame)` (see `vsmml.anomaly`), a registered detector
            name, or None to skip the anomaly score (the column is then NaN).
        step: the grid spacing used by `burn_grid`.
        factor: page threshold used by the `minutes_to_page` projection.

    Returns:
        `service`, `timestamp` and the `BURN_FEATURES` columns, one row per grid row.
    """
    st = pd.Timedelta(step)
    if isinstance(detector, str):
        from vsmml.anomaly import get_detector

        detector = get_detector(detector)
    parts = []
    for service, part in grid.groupby("service", sort=True, observed=True):
        target = objective[str(service)] if isinstance(objective, dict) else objective
        if not 0.0 < target < 1.0:
            raise DataError(f"burn_features: objective of {service!r} must be in (0, 1)")
        p = part.sort_values("timestamp", kind="stable")
        parts.append(_service_features(p, 1.0 - target, st, deploys, detector, factor))
    if not parts:
        raise DataError("burn_features: the grid is empty")
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"service": "str"})


def page_condition(features: pd.DataFrame, factor: float = PAGE_FACTOR) -> pd.Series:
    """The SRE workbook's fast page rule at each row: 1 h and 5 min burn both above `factor`."""
    fired = (features["burn_1h"] > factor) & (features["burn_5m"] > factor)
    return fired.rename("page")


def page_within(
    features: pd.DataFrame,
    horizon: str | pd.Timedelta = "1h",
    *,
    step: str | pd.Timedelta = "5min",
    factor: float = PAGE_FACTOR,
) -> pd.Series:
    """Label: does the page condition hold at any grid time in (t, t + horizon]? (0/1 per row).

    Rows must be sorted by service then timestamp, as `burn_features` returns them. The last
    rows of a service see a shorter future (their label only covers what is observed).
    """
    k = _steps(pd.Timedelta(horizon), pd.Timedelta(step))
    page = page_condition(features, factor).to_numpy(dtype=np.float64)
    out = np.zeros(page.size)
    for _, idx in features.groupby("service", sort=False, observed=True).indices.items():
        p = page[idx]
        future = pd.Series(p[::-1]).rolling(k, min_periods=1).max().to_numpy()[::-1]
        shifted = np.zeros_like(p)
        shifted[:-1] = future[1:]
        out[idx] = shifted
    return pd.Series(out.astype(np.int64), index=features.index, name="page_within")
