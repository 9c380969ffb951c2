"""Settings of the synthetic organisation (`SynthConfig`) and the stage vocabulary it plants."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from numbers import Integral
from typing import Any, Final

import pandas as pd

from vsmml.errors import ConfigError

PIPELINE_STAGES: Final[tuple[str, ...]] = (
    "build",
    "unit-tests",
    "integration-tests",
    "security-scan",
    "package",
)
"""CI stages, in the order they run inside one pipeline attempt."""

WAIT_STAGES: Final[tuple[str, ...]] = ("review", *PIPELINE_STAGES, "staging", "production")
"""Value-stream stages that carry wait time; the planted bottleneck is one of them."""

WORK_TYPES: Final[tuple[str, ...]] = ("feature", "defect", "risk", "debt")

_PRESETS: Final[dict[str, dict[str, Any]]] = {
    "demo": {},
    "tiny": {"n_services": 3, "n_teams": 2, "days": 14},
    "year50": {
        "n_services": 50,
        "n_teams": 10,
        "days": 365,
        "start": pd.Timestamp("2025-11-10", tz="UTC"),
    },
    "year200": {
        "n_services": 200,
        "n_teams": 30,
        "days": 365,
        "start": pd.Timestamp("2025-11-10", tz="UTC"),
    },
}


MIN_MOVE_EVERY_WEEKS: Final = 4
"""Smallest `bottleneck_move_every_weeks`: two moves need room for the next one's ramp."""


@dataclass(frozen=True)
class WaitCut:
    """An intervention: from week `from_week` on, `stage`'s wait is `factor` times what it was.

    Weeks count from the period's start (0 = the first Monday week, as `BottleneckRegime.week`).
    `services` names the services it applies to (empty: every service). Everything else of the
    organisation (arrivals, random draws, the other stages' plan) stays as it was, so comparing
    a cut organisation with the uncut one of the same seed measures the cut's own effect.
    """

    stage: str
    factor: float
    from_week: int = 0
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a stage that carries no wait, a negative factor or week, naming the field."""
        if self.stage not in WAIT_STAGES:
            raise ConfigError(
                f"WaitCut.stage: {self.stage!r} is not a wait stage; "
                f"choose from {list(WAIT_STAGES)}"
            )
        factor = float(self.factor)
        if not 0.0 <= factor <= 10.0:
            raise ConfigError(f"WaitCut.factor: must be in [0, 10], got {self.factor!r}")
        if isinstance(self.from_week, bool) or not isinstance(self.from_week, Integral):
            raise ConfigError(f"WaitCut.from_week: must be a whole week, got {self.from_week!r}")
        if self.from_week < 0:
            raise ConfigError(f"WaitCut.from_week: must be >= 0, got {self.from_week}")
        if isinstance(self.services, str):
            raise ConfigError("WaitCut.services: a tuple of service names, not one string")
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "from_week", int(self.from_week))
        object.__setattr__(self, "services", tuple(str(s) for s in self.services))

    def applies_to(self, service: str) -> bool:
        """True when the cut covers `service`."""
        return not self.services or service in self.services


def _valid_move_every(value: object) -> bool:
    """None, or a whole number of weeks of at least `MIN_MOVE_EVERY_WEEKS` (not a bool)."""
    if value is None:
        return True
    return (
        isinstance(value, Integral)
        and not isinstance(value, bool)
        and int(value) >= MIN_MOVE_EVERY_WEEKS
    )


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of the generator; the same config and seed always give the same organisation.

    `start` must be a Monday at 00:00 UTC so that service-weeks (Monday-based) align with the
    period. The year presets start in November 2025 so that a year of history ends before today
    (the canonical validator refuses events in the future).
    """

    seed: int = 42
    n_services: int = 12
    n_teams: int = 4
    days: int = 180
    start: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2026-01-05", tz="UTC"))
    slo_interval_minutes: int = 5
    slo_target: float = 0.999
    changes_per_service_day: float = 3.0
    batching_share: float = 0.4
    monorepo: bool = False
    flag_share: float = 0.15
    moving_bottleneck_share: float = 0.4
    spontaneous_incidents_per_30d: float = 0.8
    explicit_incident_link_share: float = 0.5
    rollback_share: float = 0.6
    security_finding_rate: float = 0.03
    devs_per_team: int = 6
    bottleneck_move_every_weeks: int | None = None
    """None: a moving service's bottleneck moves once or twice in the period (the default).
    N: an organisation in flux; a moving service's bottleneck moves about every N weeks."""
    wait_cuts: tuple[WaitCut, ...] = ()
    """Interventions on stage waits (`WaitCut`); empty (the default) changes nothing."""

    def __post_init__(self) -> None:
        """Refuse values the generator cannot honour, naming the field."""
        checks: list[tuple[bool, str, object]] = [
            (self.n_services >= 1, "n_services", self.n_services),
            (1 <= self.n_teams <= self.n_services, "n_teams", self.n_teams),
            (self.days >= 7, "days", self.days),
            (self.slo_interval_minutes >= 1, "slo_interval_minutes", self.slo_interval_minutes),
            (0.9 < self.slo_target < 1.0, "slo_target", self.slo_target),
            (
                self.changes_per_service_day > 0,
                "changes_per_service_day",
                self.changes_per_service_day,
            ),
            (0.0 <= self.batching_share <= 1.0, "batching_share", self.batching_share),
            (0.0 <= self.flag_share <= 1.0, "flag_share", self.flag_share),
            (
                0.0 <= self.moving_bottleneck_share <= 1.0,
                "moving_bottleneck_share",
                self.moving_bottleneck_share,
            ),
            (self.devs_per_team >= 3, "devs_per_team", self.devs_per_team),
        ]
        for ok, name, value in checks:
            if not ok:
                raise ConfigError(f"SynthConfig.{name}: value {value!r} is out of range")
        if not _valid_move_every(self.bottleneck_move_every_weeks):
            raise ConfigError(
                "SynthConfig.bottleneck_move_every_weeks: must be None (moves once or twice) or "
                f"a whole number of weeks >= {MIN_MOVE_EVERY_WEEKS}, "
                f"got {self.bottleneck_move_every_weeks!r}"
            )
        if self.bottleneck_move_every_weeks is not None:
            object.__setattr__(
                self, "bottleneck_move_every_weeks", int(self.bottleneck_move_every_weeks)
            )
        cuts = tuple(self.wait_cuts)
        if not all(isinstance(c, WaitCut) for c in cuts):
            raise ConfigError(f"SynthConfig.wait_cuts: expected WaitCut items, got {cuts!r}")
        object.__setattr__(self, "wait_cuts", cuts)
        start = pd.Timestamp(self.start)
        if start.tzinfo is None:
            raise ConfigError(f"SynthConfig.start: must be timezone-aware UTC, got {start!r}")
        start = start.tz_convert("UTC")
        if start.day_of_week != 0 or start != start.normalize():
            raise ConfigError(f"SynthConfig.start: must be a Monday 00:00 UTC, got {start}")
        object.__setattr__(self, "start", start)

    @property
    def end(self) -> pd.Timestamp:
        """End of the period (exclusive); work arrives in [start, end)."""
        return self.start + pd.Timedelta(days=self.days)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SynthConfig:
        """A named configuration: demo, tiny, year50 or year200 (keyword overrides win)."""
        if name not in _PRESETS:
            raise ConfigError(
                f"SynthConfig.preset: unknown preset {name!r}; known: {list(_PRESETS)}"
            )
        return replace(cls(), **{**_PRESETS[name], **overrides})
