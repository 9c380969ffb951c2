"""Number formats people read in the report: hours, rates, shares, signed changes."""

from __future__ import annotations

import math
from typing import Any


def _nan(v: Any) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def hours(v: Any) -> str:
    """``3.2 h``, ``41 h``, ``2.5 d`` beyond 72 h."""
    if _nan(v):
        return "–"
    h = float(v)
    if abs(h) >= 72:
        return f"{h / 24:.1f} d"
    return f"{h:.1f} h" if abs(h) < 10 else f"{h:.0f} h"


def rate(v: Any) -> str:
    """A probability or rate as a percentage: ``12.5%``."""
    return "–" if _nan(v) else f"{float(v) * 100:.1f}%"


def per_day(v: Any) -> str:
    """Deployments per day: ``1.86 /day``."""
    return "–" if _nan(v) else f"{float(v):.2f} /day"


def number(v: Any, digits: int = 2) -> str:
    """A plain number with `digits` decimals (thousands separated)."""
    return "–" if _nan(v) else f"{float(v):,.{digits}f}"


def count(v: Any) -> str:
    """An integer count."""
    return "–" if _nan(v) else f"{int(v):,}"


def signed(v: Any, unit: str = "") -> str:
    """A change with its sign: ``+3.1 h``, ``-12.0%``."""
    if _nan(v):
        return "–"
    x = float(v)
    if unit == "%":
        return f"{x * 100:+.1f} pp"
    return f"{x:+.2f}{(' ' + unit) if unit else ''}"


def seconds(v: Any) -> str:
    """A duration given in seconds, in the unit that reads best."""
    if _nan(v):
        return "–"
    s = float(v)
    if abs(s) < 120:
        return f"{s:.0f} s"
    if abs(s) < 7200:
        return f"{s / 60:.0f} min"
    return hours(s / 3600)
