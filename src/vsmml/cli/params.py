"""Checks of option values that Typer's ranges cannot express (a NaN passes every range)."""

from __future__ import annotations

import math

import typer


def finite(value: float | None) -> float | None:
    """Option callback: refuse NaN and infinities (None, an unset option, passes)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value
