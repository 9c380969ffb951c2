"""ISO weeks in UTC: parse ``2026-W47``, the week holding an instant, the latest complete week."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

import pandas as pd

from vsmml.errors import DataError

_WEEK_RE: Final = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
TREND_WEEKS: Final[int] = 4
"""The report's trend window: the DORA trend, the calibration and the recommendations look at
the four weeks ending with the report week."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO 8601 week: Monday 00:00 UTC (``start``) to the next Monday (``end``, exclusive)."""

    year: int
    week: int

    def __post_init__(self) -> None:
        """Refuse a week number the ISO year does not have (W53 exists in some years only)."""
        try:
            dt.date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise DataError(f"week: {self.year} has no ISO week {self.week}") from None

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` (also ``2026W47``, ``2026-w7``) as a week; a one-line error otherwise."""
        m = _WEEK_RE.match(text or "")
        if m is None:
            raise DataError(f"--week: expected an ISO week like 2026-W47, got {text!r}")
        try:
            return cls(int(m.group(1)), int(m.group(2)))
        except DataError as exc:
            raise DataError(f"--{exc}") from None

    @classmethod
    def of(cls, ts: pd.Timestamp) -> IsoWeek:
        """The ISO week holding the instant `ts` (timezone-aware; read in UTC)."""
        t = pd.Timestamp(ts)
        if t.tzinfo is None:
            raise DataError(f"timestamps must be timezone-aware UTC, got {ts!r}")
        iso = t.tz_convert("UTC").isocalendar()
        return cls(int(iso[0]), int(iso[1]))

    @property
    def start(self) -> pd.Timestamp:
        """Monday 00:00 UTC."""
        return pd.Timestamp(dt.date.fromisocalendar(self.year, self.week, 1), tz="UTC")

    @property
    def end(self) -> pd.Timestamp:
        """The next Monday 00:00 UTC (exclusive)."""
        return self.start + pd.Timedelta(days=7)

    @property
    def label(self) -> str:
        """``2026-W07``."""
        return f"{self.year}-W{self.week:02d}"

    @property
    def span(self) -> str:
        """``22 Jun – 28 Jun 2026`` (the days it covers, for people)."""
        last = self.end - pd.Timedelta(days=1)
        return f"{self.start.strftime('%d %b')} – {last.strftime('%d %b %Y')}"

    def shifted(self, weeks: int) -> IsoWeek:
        """The week `weeks` later (negative: earlier)."""
        return IsoWeek.of(self.start + pd.Timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.label


def latest_complete_week(last_work: pd.Timestamp, now: pd.Timestamp | None = None) -> IsoWeek:
    """The newest week that ended before the week holding `last_work` (the latest commit or
    opened change: deploys and incidents trail the work, so they do not count) and before
    `now`: the data of the week holding `last_work` is still coming in."""
    week = IsoWeek.of(last_work).shifted(-1)
    if now is not None:
        week = min(week, IsoWeek.of(now).shifted(-1))
    return week
