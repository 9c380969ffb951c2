"""The DORA summary as people read it: a table that fits 100 columns, or every column (`wide`).

`dora_summary` (`vsmml.metrics.bands`) has fifteen-odd columns; printed as is it wraps on any
terminal. The compact table keeps the group, the counts and the four keys with rework, and folds
the four 2023 bands into one column of letters (`BAND_LEGEND` says what they mean).
"""

from __future__ import annotations

import textwrap
from typing import Final

import pandas as pd

from vsmml.metrics.bands import INSUFFICIENT, MIN_DEPLOYMENTS, MIN_INCIDENTS
from vsmml.metrics.frames import GROUPS, UNATTRIBUTED

_CODES: Final = {"elite": "E", "high": "H", "medium": "M", "low": "L", INSUFFICIENT: "?"}
_KEYS: Final = (
    ("deploys", "deployments", 0),
    ("per day", "deployments_per_day", 2),
    ("lead h", "lead_time_median_h", 1),
    ("CFR", "change_failure_rate", 3),
    ("restore h", "time_to_restore_median_h", 1),
    ("recovery h", "recovery_time_median_h", 1),
    ("rework", "rework_rate", 3),
)
_BANDS_2023: Final = (
    "band_deployments_per_day_2023",
    "band_lead_time_median_h_2023",
    "band_change_failure_rate_2023",
    "band_recovery_time_median_h_2023",
)
BAND_LEGEND: Final = textwrap.fill(
    "bands 2023: deploys per day / lead time / change failure rate / recovery; "
    f"E elite, H high, M medium, L low, ? insufficient data (fewer than {MIN_DEPLOYMENTS} "
    f"deployments; restore: fewer than {MIN_INCIDENTS} incidents; CFR: no incident, rollback "
    "or revert in the data), - no value; --wide shows every column",
    width=100,
)
"""The lines printed under the compact table (each at most 100 characters)."""


def dora_summary_table(summary: pd.DataFrame, *, wide: bool = False) -> pd.DataFrame:
    """`summary` (from `dora_summary`) for reading: compact (about 80 columns with a 20-character
    group name), or every column when `wide`; groups that name nothing read `(unattributed)`."""
    out = summary.copy()
    groups = [c for c in GROUPS if c in out.columns]
    for col in groups:
        text = out[col].astype("string")
        out[col] = text.where(text.str.strip() != "").fillna(UNATTRIBUTED)
    if wide:
        return out.round(3)
    table = out[groups].copy()
    for label, col, digits in _KEYS:
        values = out[col] if col in out else pd.Series(float("nan"), index=out.index)
        table[label] = values.round(digits).astype("int64") if digits == 0 else values.round(digits)
    table["bands 2023"] = [
        " ".join(_CODES.get(str(out.at[i, b]), "-") if b in out else "-" for b in _BANDS_2023)
        for i in out.index
    ]
    return table.reset_index(drop=True)


def latest_period_table(
    tidy: pd.DataFrame, *, wide: bool = False, width: int = 100
) -> pd.DataFrame:
    """The latest period of `tidy` for reading: one row per metric and a column per group; when
    that is wider than `width` characters (many services) and not `wide`, one row per group and
    metric instead. Values are text with four significant digits."""
    if tidy.empty:
        return pd.DataFrame()
    last = tidy.loc[tidy["period"].isna() | (tidy["period"] == tidy["period"].max())]
    cols = [c for c in GROUPS if c in last.columns]
    if not cols:
        flat: pd.DataFrame = last.set_index("metric")[["value"]].map(_digits)
        return flat
    pivot: pd.DataFrame = last.pivot_table(
        index="metric", columns=cols, values="value", aggfunc="first"
    ).map(_digits)
    if wide or max(len(line) for line in pivot.to_string().split("\n")) <= width:
        return pivot
    long = last[[*cols, "metric", "value"]].copy()
    long["value"] = long["value"].map(_digits)
    out: pd.DataFrame = long.set_index([*cols, "metric"])
    return out


def _digits(value: float) -> str:
    return f"{value:.4g}"
