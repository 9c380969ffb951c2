"""Shared shape of metric output: grouping keys, period starts, quantiles and the tidy layout.

Every metric function returns a tidy frame with the group columns (``service``, ``team`` or
``repo``; none for the whole organisation; events naming none form the group
``(unattributed)``), ``period`` (UTC start of the day / ISO week / month;
NaT when ``freq`` is None, meaning the whole range), ``metric``, ``value`` and ``n`` (how many
observations the value summarises), sorted by group, period and metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.events.schema import STR_DTYPE, TS_DTYPE
from vsmml.metrics.profiles import Profile, SpanRounding, span_hours

GROUPS: Final = ("service", "team", "repo")
UNATTRIBUTED: Final = "(unattributed)"
"""The group of events that name no service (team, repo): a group of its own, never a blank."""
FREQS: Final = ("D", "W", "M")
TIDY: Final = ("period", "metric", "value", "n")
By = str | Sequence[str] | None


def group_columns(by: By) -> list[str]:
    """The grouping columns named by `by` (None → whole organisation), checked."""
    cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    bad = [c for c in cols if c not in GROUPS]
    if bad:
        raise DataError(f"by: unknown group(s) {bad}; choose from {list(GROUPS)}")
    return cols


def period_start(ts: pd.Series, freq: str | None) -> pd.Series:
    """Start of the day, Monday-based week or month containing each timestamp (UTC)."""
    if freq is None:
        return pd.Series(pd.NaT, index=ts.index, dtype=TS_DTYPE)
    if freq not in FREQS:
        raise DataError(f"freq: must be one of {list(FREQS)} or None, got {freq!r}")
    day: pd.Series = ts.astype(TS_DTYPE).dt.floor("D")
    if freq == "W":
        day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    elif freq == "M":
        day = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return day


def keyed(frame: pd.DataFrame, ts: pd.Series, by: By, freq: str | None) -> pd.DataFrame:
    """`frame` plus group columns as text (`UNATTRIBUTED` where missing or blank) and a
    ``period`` column from `ts`."""
    cols = group_columns(by)
    out = pd.DataFrame({c: _group_text(frame[c]) for c in cols}, index=frame.index)
    out["period"] = period_start(ts, freq)
    return out


def _group_text(values: pd.Series) -> pd.Series:
    text = values.astype(STR_DTYPE)
    return text.where(text.str.strip() != "").fillna(UNATTRIBUTED)


def quantile_metrics(
    values: pd.Series,
    keys: pd.DataFrame,
    profile: Profile,
    name: str,
    quantiles: Sequence[tuple[str, float]] = (("median", 0.5), ("p85", 0.85)),
) -> pd.DataFrame:
    """Tidy rows ``{name}_{label}`` with the profile's quantiles of `values` per key group."""
    ok = values.notna().to_numpy()
    data = keys.loc[ok].assign(_v=values.loc[ok].to_numpy(dtype="float64"))
    cols = [*(c for c in keys.columns if c != "period"), "period"]
    if data.empty:
        return empty_tidy(cols[:-1])
    g = data.groupby(cols, sort=True, dropna=False)["_v"]
    parts = []
    n = g.size()
    for label, q in quantiles:
        part = g.quantile(q, interpolation=profile.interpolation).rename("value").to_frame()
        part["metric"] = f"{name}_{label}"
        part["n"] = n
        parts.append(part.reset_index())
    return finish(pd.concat(parts, ignore_index=True), cols[:-1])


def ratio_metric(
    num: pd.Series,
    den: pd.Series,
    name: str,
    group_cols: Sequence[str],
    n: pd.Series | None = None,
) -> pd.DataFrame:
    """Tidy rows of num/den (both indexed by group columns + period); n defaults to den."""
    frame = pd.DataFrame({"num": num, "den": den}).fillna(0.0)
    frame["n"] = frame["den"] if n is None else n.reindex(frame.index).fillna(0)
    frame = frame.loc[frame["den"] > 0]
    out = pd.DataFrame(
        {"value": frame["num"] / frame["den"], "n": frame["n"].astype("int64")},
        index=frame.index,
    ).reset_index()
    out["metric"] = name
    return finish(out, group_cols)


def count_metric(counts: pd.Series, name: str, group_cols: Sequence[str]) -> pd.DataFrame:
    """Tidy rows of a count (indexed by group columns + period); n equals the count."""
    out = counts.rename("value").reset_index()
    out["n"] = out["value"].astype("int64")
    out["value"] = out["value"].astype("float64")
    out["metric"] = name
    return finish(out, group_cols)


def full_grid(keys: pd.DataFrame, freq: str | None) -> pd.Index:
    """Every group present in `keys` × every period from the first to the last (zero-filling)."""
    cols = [c for c in keys.columns if c != "period"]
    if freq is None or keys.empty:
        uniq = keys[[*cols, "period"]].drop_duplicates()
        if not cols:
            flat: pd.Index = pd.Index(uniq["period"], name="period")
            return flat
        multi: pd.Index = pd.MultiIndex.from_frame(uniq)
        return multi
    lo, hi = keys["period"].min(), keys["period"].max()
    step = {"D": "D", "W": "W-MON", "M": "MS"}[freq]
    periods = pd.date_range(lo, hi, freq=step).as_unit("us")
    if not cols:
        return pd.Index(periods, name="period")
    groups = keys[cols].drop_duplicates()
    grid = groups.merge(pd.DataFrame({"period": periods}), how="cross")
    return pd.MultiIndex.from_frame(grid)


def empty_tidy(group_cols: Sequence[str]) -> pd.DataFrame:
    """A zero-row tidy frame with the right columns and dtypes."""
    data: dict[str, pd.Series] = {c: pd.Series(dtype=STR_DTYPE) for c in group_cols}
    data["period"] = pd.Series(dtype=TS_DTYPE)
    data["metric"] = pd.Series(dtype=STR_DTYPE)
    data["value"] = pd.Series(dtype="float64")
    data["n"] = pd.Series(dtype="int64")
    return pd.DataFrame(data)


def finish(frame: pd.DataFrame, group_cols: Sequence[str]) -> pd.DataFrame:
    """Order columns and rows of a tidy frame and fix its dtypes."""
    cols = [*group_cols, *TIDY]
    out = frame[cols].copy()
    for c in group_cols:
        out[c] = out[c].astype(STR_DTYPE)
    out["period"] = out["period"].astype(TS_DTYPE)
    out["metric"] = out["metric"].astype(STR_DTYPE)
    out["value"] = out["value"].astype("float64")
    out["n"] = out["n"].fillna(0).astype("int64")
    out = out.sort_values([*group_cols, "period", "metric"], kind="stable")
    return out.reset_index(drop=True)


def combine(parts: Sequence[pd.DataFrame], group_cols: Sequence[str]) -> pd.DataFrame:
    """Concatenate tidy frames into one, sorted."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_tidy(group_cols)
    return finish(pd.concat(parts, ignore_index=True), group_cols)


def hours_between(
    start: pd.Series,
    end: pd.Series,
    profile: Profile,
    rounding: SpanRounding | None = None,
) -> pd.Series:
    """end − start in hours (float; NaN when either is missing), rounded on exact microseconds.

    `rounding` defaults to the profile's `span_rounding` (change spans); incident spans pass
    ``profile.incident_rounding``.
    """
    how = profile.span_rounding if rounding is None else rounding
    a = pd.DatetimeIndex(start.astype(TS_DTYPE))
    b = pd.DatetimeIndex(end.astype(TS_DTYPE))
    micros = (b.asi8 - a.asi8).astype("float64")
    micros[np.asarray(a.isna()) | np.asarray(b.isna())] = np.nan
    return pd.Series(span_hours(micros, how), index=start.index)


def positive(values: pd.Series) -> pd.Series:
    """Negative spans (clock skew) become NaN rather than silently pulling medians down."""
    return values.where(values >= 0, np.nan)
