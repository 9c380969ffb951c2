"""Checks of option values that Typer's ranges cannot express (a NaN passes every range)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import pandas as pd


def finite(value: float | None) -> float | None:
    """Option callback: refuse NaN and infinities (None, an unset option, passes)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def utc_instant(text: str | None, option: str) -> pd.Timestamp | None:
    """A date or timestamp option as a UTC instant (naive means UTC; offsets are converted)."""
    import pandas as pd

    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: not a date or timestamp: {text!r}") from exc
    if pd.isna(ts):  # pandas reads 'nan' and 'NaT' as a missing time: no bound at all
        raise typer.BadParameter(f"{option}: not a date or timestamp: {text!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
