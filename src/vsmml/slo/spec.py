"""SLO definitions: the objective, its period and its multiwindow burn-rate alerts (SRE workbook
ch. 5, as Sloth generates them), with the policy for burn factors below 1.

Changes when how an SLO or an alert is specified changes; `vsmml.slo.budget` computes with them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from vsmml.errors import ConfigError, DataError

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
                f"{fmt_duration(short)} / {fmt_duration(long)}"
            )
        if not 0.0 < self.budget_share <= 1.0:
            raise ConfigError(
                f"alert {self.severity} {fmt_duration(long)}/{fmt_duration(short)}: "
                f"budget_share must be in (0, 1], got {self.budget_share}"
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
        labels = [a.severity + fmt_duration(parse_duration(a.long)) for a in self.alerts]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"SLO {self.service}: two alerts share a severity and long window")
        for spec in self.alerts:
            if parse_duration(spec.long) > self.window:
                raise ConfigError(
                    f"SLO {self.service}: alert long window "
                    f"{fmt_duration(parse_duration(spec.long))} "
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
        f"({w.budget_share:.0%} of the budget in {fmt_duration(w.long)}), so it would fire "
        f"while the service stays inside its budget; give it a budget share >= "
        f"{need_share:.1%} or a "
        f"long window <= {fmt_duration(w.budget_share * w.period)}"
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
        return f"{self.severity} {fmt_duration(self.long)}/{fmt_duration(self.short)}"


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


def fmt_duration(td: pd.Timedelta) -> str:
    """Prometheus-style duration: 5m, 1h, 1d, 3d."""
    secs = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"
