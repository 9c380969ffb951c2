"""SLOs on `slo.sample` good/total counts: error budget, burn rates, multiwindow multi-burn-rate
alerts (SRE workbook ch. 5, as Sloth generates them) and a budget-exhaustion forecast.

Every function is pure: frames with columns `timestamp` (UTC), `good`, `total` (and optionally
`service`) in; numbers or frames out. A window sum at time t covers samples in (t - w, t].
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vsmml.errors import ConfigError, DataError

SAMPLE_COLUMNS = ("timestamp", "good", "total")


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: pd.Timedelta | str) -> pd.Timedelta:
    """A Prometheus duration ("5m", "1h30m", "3d", "2w") or a pandas one ("5min", "1D")."""
    if isinstance(value, pd.Timedelta):
        return value
    text = str(value).strip()
    parts = re.fullmatch(r"(?:\d+(?:ms|s|m|h|d|w))+", text)
    if parts:
        secs = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w)", text))
        return pd.Timedelta(seconds=secs)
    try:
        return pd.Timedelta(text)
    except ValueError as exc:
        raise ConfigError(f"bad duration {value!r}: use e.g. 5m, 1h, 3d") from exc


LOW_FACTOR_POLICIES = ("clamp", "refuse", "allow")


@dataclass(frozen=True)
class AlertSpec:
    """One multiwindow alert as Sloth's AlertWindows spec describes it.

    Attributes:
        severity: "page" or "ticket".
        long: the long window (e.g. "1h"); its burn decides how much budget the alert allows.
        short: the short window (e.g. "5m"); it makes the alert reset soon after the errors stop.
        budget_share: share of the period's error budget the long window may consume before
            the alert fires (0.02 = Sloth's errorBudgetPercent 2).
    """

    severity: str
    long: pd.Timedelta | str
    short: pd.Timedelta | str
    budget_share: float

    def __post_init__(self) -> None:
        if self.severity not in ("page", "ticket"):
            raise ConfigError(f"alert: severity must be 'page' or 'ticket', got {self.severity!r}")
        long, short = parse_duration(self.long), parse_duration(self.short)
        if not pd.Timedelta(0) < short < long:
            raise ConfigError(
                f"alert {self.severity}: need 0 < short window < long window, got "
                f"{_fmt(short)} / {_fmt(long)}"
            )
        if not 0.0 < self.budget_share <= 1.0:
            raise ConfigError(
                f"alert {self.severity} {_fmt(long)}/{_fmt(short)}: budget_share must be in "
                f"(0, 1], got {self.budget_share}"
            )
        object.__setattr__(self, "long", long)
        object.__setattr__(self, "short", short)


# The SRE workbook's (and Sloth's default) windows and budget shares.
DEFAULT_ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec("page", "1h", "5m", 0.02),
    AlertSpec("page", "6h", "30m", 0.05),
    AlertSpec("ticket", "1d", "2h", 0.10),
    AlertSpec("ticket", "3d", "6h", 0.10),
)


@dataclass(frozen=True)
class SLO:
    """A service-level objective on a ratio SLI (good / total events).

    Attributes:
        service: the service it belongs to.
        objective: target share of good events, e.g. 0.999.
        window_days: compliance period in days (28 and 30 are usual; 7 works with care).
        name: what the SLI measures ("availability", "latency" ...).
        alerts: the multiwindow alerts (windows and budget shares), Sloth's defaults unless
            given, e.g. from `alerts_from_sloth`.
        low_factor: what to do when an alert's burn factor falls below 1 (it would fire while
            the service is on course to stay inside its budget, as the 3d ticket does for a
            7-day period: 0.233): "clamp" it to 1 (default; the alert notes it), "refuse"
            (ConfigError) or "allow" (keep it, as Sloth does).
    """

    service: str
    objective: float
    window_days: int = 30
    name: str = "availability"
    alerts: tuple[AlertSpec, ...] = DEFAULT_ALERTS
    low_factor: str = "clamp"

    def __post_init__(self) -> None:
        if not 0.0 < self.objective < 1.0:
            raise DataError(
                f"SLO {self.service}: 'objective' must be in (0, 1), got {self.objective}"
            )
        if self.window_days <= 0:
            raise DataError(
                f"SLO {self.service}: 'window_days' must be > 0, got {self.window_days}"
            )
        if self.low_factor not in LOW_FACTOR_POLICIES:
            raise ConfigError(
                f"SLO {self.service}: 'low_factor' must be one of {LOW_FACTOR_POLICIES}, "
                f"got {self.low_factor!r}"
            )
        if not self.alerts:
            raise ConfigError(f"SLO {self.service}: 'alerts' is empty; give at least one")
        labels = [a.severity + _fmt(parse_duration(a.long)) for a in self.alerts]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"SLO {self.service}: two alerts share a severity and long window")
        for spec in self.alerts:
            if parse_duration(spec.long) > self.window:
                raise ConfigError(
                    f"SLO {self.service}: alert long window {_fmt(parse_duration(spec.long))} "
                    f"is longer than the {self.window_days}-day period"
                )
        self.alert_windows()  # a "refuse" policy fails here, when the SLO is defined

    @property
    def error_budget(self) -> float:
        """Allowed share of bad events (1 - objective)."""
        return 1.0 - self.objective

    @property
    def window(self) -> pd.Timedelta:
        """The compliance period as a duration."""
        return pd.Timedelta(days=self.window_days)

    def alert_windows(self) -> list[AlertWindow]:
        """This SLO's alerts with their burn factors, after the `low_factor` policy."""
        out = []
        for spec in self.alerts:
            long, short = parse_duration(spec.long), parse_duration(spec.short)
            w = AlertWindow(spec.severity, long, short, spec.budget_share, self.window)
            raw = w.sloth_factor
            if raw < 1.0 and self.low_factor != "allow":
                fix = _low_factor_advice(w, raw)
                if self.low_factor == "refuse":
                    raise ConfigError(f"SLO {self.service}: {fix}")
                w = dataclasses.replace(w, clamped=True, note=f"{fix}; clamped to 1")
            out.append(w)
        return out


def _low_factor_advice(w: AlertWindow, raw: float) -> str:
    """The clear message for a burn factor below 1."""
    need_share = w.long / w.period
    return (
        f"alert {w.label} has burn factor {raw:.3g} < 1 for a {w.period.days}-day period "
        f"({w.budget_share:.0%} of the budget in {_fmt(w.long)}), so it would fire while the "
        f"service stays inside its budget; give it a budget share >= {need_share:.1%} or a "
        f"long window <= {_fmt(w.budget_share * w.period)}"
    )


@dataclass(frozen=True)
class AlertWindow:
    """One multiwindow burn-rate alert: both windows must burn faster than `factor`.

    `budget_share` is the share of the whole period's error budget the long window may consume
    before the alert fires; the factor follows from it (Sloth's rule):
    factor = budget_share · period / long window. `clamped` says the factor was raised to 1
    (see `SLO.low_factor`) and `note` says why.
    """

    severity: str
    long: pd.Timedelta
    short: pd.Timedelta
    budget_share: float
    period: pd.Timedelta
    clamped: bool = False
    note: str = ""

    @property
    def sloth_factor(self) -> float:
        """The factor as Sloth computes it, before any clamping."""
        return self.budget_share * (self.period / self.long)

    @property
    def factor(self) -> float:
        """Burn-rate threshold (14.4 for 2 % of a 30-day budget in one hour)."""
        return max(1.0, self.sloth_factor) if self.clamped else self.sloth_factor

    @property
    def label(self) -> str:
        """E.g. "page 1h/5m"."""
        return f"{self.severity} {_fmt(self.long)}/{_fmt(self.short)}"


def alert_windows(window_days: int = 30, low_factor: str = "allow") -> list[AlertWindow]:
    """The default four alerts with their factors for a period (Sloth's numbers by default).

    For 30 days: page 1h & 5m at 14.4x, page 6h & 30m at 6x, ticket 1d & 2h at 3x, ticket 3d &
    6h at 1x (2 %, 5 %, 10 %, 10 % of the budget); for 28 days the same shares give 13.44, 5.6,
    2.8 and 0.933, as Sloth generates. `low_factor` applies `SLO.low_factor`'s policy.
    """
    return SLO("-", 0.999, window_days, low_factor=low_factor).alert_windows()


def alerts_from_sloth(spec: Mapping[str, Any]) -> tuple[AlertSpec, ...]:
    """Alerts from a Sloth `AlertWindows` spec (its `spec:` mapping, or the whole document).

    Expects `page` and/or `ticket`, each with `quick` and/or `slow` entries holding
    `errorBudgetPercent`, `shortWindow` and `longWindow` (Prometheus durations such as "5m").
    """
    body = spec.get("spec", spec)
    if not isinstance(body, Mapping):
        raise ConfigError(
            f"Sloth AlertWindows: 'spec' must be a mapping, got {type(body).__name__}"
        )
    out = []
    for severity in ("page", "ticket"):
        part = body.get(severity) or {}
        for speed in ("quick", "slow"):
            entry = part.get(speed)
            if entry is None:
                continue
            missing = {"errorBudgetPercent", "shortWindow", "longWindow"} - set(entry)
            if missing:
                raise ConfigError(
                    f"Sloth AlertWindows {severity}.{speed}: missing {sorted(missing)}"
                )
            out.append(
                AlertSpec(
                    severity,
                    str(entry["longWindow"]),
                    str(entry["shortWindow"]),
                    float(entry["errorBudgetPercent"]) / 100.0,
                )
            )
    if not out:
        raise ConfigError("Sloth AlertWindows: no page or ticket alerts found")
    return tuple(out)


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
            out[_fmt(pd.Timedelta(w))] = np.where(tot > 0, bad / tot, 0.0) / slo.error_budget
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
        out[r.label] = (rates[_fmt(r.long)] > r.factor) & (rates[_fmt(r.short)] > r.factor)
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


def _fmt(td: pd.Timedelta) -> str:
    """Prometheus-style duration: 5m, 1h, 1d, 3d."""
    secs = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"
