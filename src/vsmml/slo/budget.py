"""Error budget, burn rates, multiwindow alert state and the exhaustion forecast of an SLO.

Every function is pure: frames with columns `timestamp` (UTC), `good`, `total` (and optionally
`service`) in; numbers or frames out. A window sum at time t covers samples in (t - w, t].
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.slo.spec import SLO, fmt_duration

SAMPLE_COLUMNS = ("timestamp", "good", "total")


def validate_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Check the columns and return the samples sorted by time with UTC timestamps, float counts."""
    missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise DataError(f"SLO samples: missing column(s) {missing}; got {list(samples.columns)}")
    out = samples.copy()
    ts = pd.to_datetime(out["timestamp"], utc=True)
    out["timestamp"] = ts
    for col in ("good", "total"):
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0.0).astype("float64")
    bad = out.index[(out["good"] > out["total"]) | (out["good"] < 0)]
    if len(bad):
        row = out.loc[bad[0]]
        raise DataError(
            f"SLO sample at {row['timestamp']}: need 0 <= good <= total, "
            f"got good={row['good']}, total={row['total']}"
        )
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def samples_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """`slo.sample` canonical events → (timestamp, service, good, total) samples.

    The counts come from each event's JSON `attrs` ({"good": ..., "total": ...}).
    """
    rows = events[events["kind"].astype("string") == "slo.sample"]
    good: list[float] = []
    total: list[float] = []
    for i, raw in zip(rows["event_id"], rows["attrs"], strict=True):
        attrs = json.loads(raw) if isinstance(raw, str) and raw else {}
        if "good" not in attrs or "total" not in attrs:
            raise DataError(f"slo.sample event {i}: attrs need 'good' and 'total', got {attrs}")
        good.append(float(attrs["good"]))
        total.append(float(attrs["total"]))
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(rows["ts"], utc=True).to_numpy(),
            "service": rows["service"].astype("string").to_numpy(),
            "good": np.asarray(good, dtype=np.float64),
            "total": np.asarray(total, dtype=np.float64),
        }
    )


def _window_sums(
    samples: pd.DataFrame, window: pd.Timedelta, at: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Sums of bad and total events in (t - window, t] for each t in `at`."""
    ts = samples["timestamp"].to_numpy(dtype="datetime64[ns]")
    bad_cum = np.concatenate([[0.0], np.cumsum(samples["total"] - samples["good"])])
    tot_cum = np.concatenate([[0.0], np.cumsum(samples["total"])])
    at_ns = at.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    hi = np.searchsorted(ts, at_ns, side="right")
    lo = np.searchsorted(ts, at_ns - np.timedelta64(window.value, "ns"), side="right")
    return bad_cum[hi] - bad_cum[lo], tot_cum[hi] - tot_cum[lo]


def _instants(samples: pd.DataFrame, at: pd.Timestamp | str | None) -> pd.DatetimeIndex:
    """The evaluation instant: `at` (naive means UTC), else the last sample's time."""
    if at is not None:
        stamp = pd.Timestamp(at)
        return pd.DatetimeIndex([stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp])
    if samples.empty:
        raise DataError("SLO samples: empty frame and no 'at' instant")
    return pd.DatetimeIndex([samples["timestamp"].iloc[-1]])


def error_ratio(
    samples: pd.DataFrame, window: pd.Timedelta | str, at: pd.Timestamp | str | None = None
) -> float:
    """Share of bad events in (at - window, at] (at defaults to the last sample); 0 if none."""
    s = validate_samples(samples)
    bad, tot = _window_sums(s, pd.Timedelta(window), _instants(s, at))
    return float(bad[0] / tot[0]) if tot[0] > 0 else 0.0


def burn_rate(
    samples: pd.DataFrame,
    slo: SLO,
    window: pd.Timedelta | str,
    at: pd.Timestamp | str | None = None,
) -> float:
    """Error ratio over the window divided by the error budget (1.0 = exactly on budget)."""
    return error_ratio(samples, window, at) / slo.error_budget


def budget_remaining(
    samples: pd.DataFrame, slo: SLO, at: pd.Timestamp | str | None = None
) -> float:
    """Share of the period's error budget left at `at`: 1 - error ratio / budget (may go < 0)."""
    return 1.0 - burn_rate(samples, slo, slo.window, at)


def burn_rates(
    samples: pd.DataFrame,
    slo: SLO,
    windows: list[pd.Timedelta | str],
    at: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Burn rate over each window at each instant (default: every sample time); one column each."""
    s = validate_samples(samples)
    instants = at if at is not None else pd.DatetimeIndex(s["timestamp"].unique())
    out = pd.DataFrame(index=instants)
    out.index.name = "timestamp"
    for w in windows:
        bad, tot = _window_sums(s, pd.Timedelta(w), instants)
        with np.errstate(all="ignore"):
            ratio = np.where(tot > 0, bad / tot, 0.0)
            out[fmt_duration(pd.Timedelta(w))] = ratio / slo.error_budget
    return out


def evaluate_alerts(
    samples: pd.DataFrame,
    slo: SLO,
    *,
    at: pd.DatetimeIndex | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """Multiwindow multi-burn-rate alert state at each instant.

    Instants: `at`, else a regular grid of `freq` from the first to the last sample, else every
    sample time. Columns: for each alert, `<label>` (firing: both windows' burn rates exceed its
    factor, as in Sloth's rules `(long > factor·budget) and (short > factor·budget)`), plus `page`
    and `ticket` (any alert of that severity firing).
    """
    s = validate_samples(samples)
    if at is None and freq is not None and not s.empty:
        at = pd.date_range(s["timestamp"].iloc[0], s["timestamp"].iloc[-1], freq=freq)
    rules = slo.alert_windows()
    windows = sorted({w for r in rules for w in (r.long, r.short)})
    rates = burn_rates(s, slo, list(windows), at)
    out = pd.DataFrame(index=rates.index)
    for r in rules:
        long, short = rates[fmt_duration(r.long)], rates[fmt_duration(r.short)]
        out[r.label] = (long > r.factor) & (short > r.factor)
    for sev in ("page", "ticket"):
        out[sev] = out[[r.label for r in rules if r.severity == sev]].any(axis=1)
    return out


def first_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Instants where an alert column turns from quiet to firing (column, start)."""
    rows = []
    for col in alerts.columns:
        fired = alerts[col].to_numpy(dtype=bool)
        starts = np.flatnonzero(fired & ~np.concatenate([[False], fired[:-1]]))
        rows += [(col, alerts.index[int(i)]) for i in starts]
    return pd.DataFrame(rows, columns=["alert", "start"]).sort_values("start", kind="stable")


@dataclass(frozen=True)
class ExhaustionForecast:
    """Budget left, the recent burn rate, and when the budget runs out at that rate (or None)."""

    budget_remaining: float
    burn_rate: float
    exhausted_at: pd.Timestamp | None
    hours_left: float | None


def exhaustion_forecast(
    samples: pd.DataFrame,
    slo: SLO,
    *,
    lookback: pd.Timedelta | str = "6h",
    at: pd.Timestamp | str | None = None,
) -> ExhaustionForecast:
    """When the error budget runs out if the burn rate of the last `lookback` continues.

    At burn rate b the whole budget lasts period / b, so the remaining share r lasts
    r · period / b. Returns exhausted_at=None when the recent burn is zero; `at` itself when the
    budget is already spent.
    """
    s = validate_samples(samples)
    now = _instants(s, at)[0]
    remaining = budget_remaining(s, slo, now)
    rate = burn_rate(s, slo, lookback, now)
    if remaining <= 0:
        return ExhaustionForecast(remaining, rate, now, 0.0)
    if rate <= 0:
        return ExhaustionForecast(remaining, rate, None, None)
    left = slo.window * (remaining / rate)
    return ExhaustionForecast(remaining, rate, now + left, left / pd.Timedelta(hours=1))


def status(
    samples: pd.DataFrame, slo: SLO, at: pd.Timestamp | str | None = None
) -> dict[str, object]:
    """One-line summary: budget left, burn rates, alerts firing, forecast (and `notes` when an
    alert's factor was clamped). Burn rates cover the shortest short window and every long one
    (5m, 1h, 6h, 1d, 3d for the default alerts)."""
    s = validate_samples(samples)
    now = _instants(s, at)
    alerts = evaluate_alerts(s, slo, at=now).iloc[0]
    fc = exhaustion_forecast(s, slo, at=now[0])
    rules = slo.alert_windows()
    windows = sorted({min(r.short for r in rules), *(r.long for r in rules)})
    rates = burn_rates(s, slo, list(windows), now).iloc[0]
    notes = "; ".join(
        f"{r.label} factor {r.sloth_factor:.3g} clamped to 1" for r in rules if r.clamped
    )
    return {
        "service": slo.service,
        "objective": slo.objective,
        "window_days": slo.window_days,
        "at": now[0],
        "budget_remaining": budget_remaining(s, slo, now[0]),
        **{f"burn_{k}": float(v) for k, v in rates.items()},
        "page": bool(alerts["page"]),
        "ticket": bool(alerts["ticket"]),
        "exhausted_at": fc.exhausted_at,
        **({"notes": notes} if notes else {}),
    }
