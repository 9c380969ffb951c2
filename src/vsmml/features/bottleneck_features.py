"""Per service-period stage features (trailing medians, p85, shares, trend, last-week change and
its projection, queues and their share, WIP, reviewer load, and the signs of a constraint
building up: the share's 3-week change and waits growing through the week faster than the other
stages', `late1`/`late2`) and the dominant-stage label, from the per-change waits of
`stage_waits`.

A period is a Monday-based week and a change belongs to the week of its first commit (as the
metrics and the synthetic organisation count it). Features of period p are computed at its
start (the cutoff) from waits that were known before the cutoff: rows whose `known_at` is
earlier, plus the waits in progress at the cutoff (queues). The label of period p is the stage
with the largest total wait among the changes first committed in p.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError

FloatArray = npt.NDArray[np.float64]
WEEK: Final = pd.Timedelta(days=7)
WEEK_US: Final = 7 * 86_400_000_000
STAGE_STATS: Final[tuple[str, ...]] = (
    "med4",
    "p85_4",
    "mean4",
    "share4",
    "share1",
    "med1",
    "trend",
    "queue",
    "open_wait_h",
    "share2",
    "delta1",
    "proj",
    "open_share",
    "delta3",
    "late1",
    "late2",
)
"""Per-stage columns of `period_features`, named ``<stage>__<stat>``."""
SERVICE_STATS: Final[tuple[str, ...]] = ("n_changes_1", "n_known_4", "wip", "review_load")


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of each timestamp's week."""
    t = pd.to_datetime(ts, utc=True)
    out: pd.Series = (t.dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D")).astype(
        "datetime64[us, UTC]"
    )
    return out


def stage_list(waits: pd.DataFrame, stages: list[str] | tuple[str, ...] | None) -> list[str]:
    """The stage vocabulary: as given, else in order of first appearance in `waits`."""
    if stages is not None:
        return list(stages)
    return list(dict.fromkeys(waits["stage"].astype("str").tolist()))


def _check(waits: pd.DataFrame) -> None:
    need = ["change_id", "service", "first_commit_at", "stage", "started_at", "known_at", "wait_h"]
    missing = [c for c in need if c not in waits.columns]
    if missing:
        raise DataError(f"bottleneck features: waits miss column(s) {missing}")


def _us(ts: pd.Series, missing: int = 0) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch (UTC); NaT becomes `missing`."""
    t = pd.to_datetime(ts, utc=True).astype("datetime64[us, UTC]")
    values = t.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
    out = values.astype(np.int64)
    out[np.isnat(values)] = missing
    return out


def _stage_block(code: npt.NDArray[Any], wait: FloatArray, n_stages: int, q: float) -> FloatArray:
    """Per-stage quantile q of `wait` (NaN for stages with no rows)."""
    out = np.full(n_stages, np.nan)
    for s in range(n_stages):
        v = wait[code == s]
        if v.size:
            out[s] = float(np.quantile(v, q))
    return out


def _shares(code: npt.NDArray[Any], wait: FloatArray, n_stages: int) -> FloatArray:
    sums = np.bincount(code, weights=wait, minlength=n_stages)
    total = sums.sum()
    out: FloatArray = sums / total if total > 0 else np.full(n_stages, np.nan)
    return out


def _late_growth(code: npt.NDArray[Any], wait: FloatArray, frac: FloatArray, n: int) -> FloatArray:
    """Per stage, how much faster its waits grow through the week than the service's others.

    The least-squares slope of log wait on the change's position in its week (`frac`, 0 on
    Monday 00:00, 1 at the end) for each stage with at least 4 waits, minus the median slope
    over the stages. A queue that keeps growing through the week (a constraint building up)
    has a clearly positive value; subtracting the median removes what all queues share (a
    congested week). 0 for stages without enough waits (no evidence either way).
    """
    ok = wait > 0
    c, x, y = code[ok], frac[ok], np.log(wait[ok])
    cnt = np.bincount(c, minlength=n).astype(np.float64)
    sx, sy = np.bincount(c, x, n), np.bincount(c, y, n)
    sxx, sxy = np.bincount(c, x * x, n), np.bincount(c, x * y, n)
    var = sxx - sx * sx / np.maximum(cnt, 1.0)
    fit = (cnt >= 4) & (var > 1e-9)
    slope = np.full(n, np.nan)
    slope[fit] = (sxy[fit] - sx[fit] * sy[fit] / cnt[fit]) / var[fit]
    out = np.zeros(n)
    if fit.any():
        out[fit] = slope[fit] - float(np.median(slope[fit]))
    return out


def _service_rows(
    part: pd.DataFrame, stages: list[str], periods: pd.DatetimeIndex
) -> list[dict[str, Any]]:
    n_s = len(stages)
    code = part["stage"].map({s: i for i, s in enumerate(stages)}).to_numpy()
    keep = ~pd.isna(code)
    part, code = part.loc[keep], code[keep].astype(np.intp)
    wait = part["wait_h"].to_numpy(dtype=np.float64)
    week = _us(week_start(part["first_commit_at"]))
    known = _us(part["known_at"], missing=np.iinfo(np.int64).max)
    started = _us(part["started_at"], missing=np.iinfo(np.int64).max)
    change = part["change_id"].to_numpy()
    is_prod = code == (stages.index("production") if "production" in stages else -1)
    frac = (_us(part["first_commit_at"]) - week).astype(np.float64) / WEEK_US
    rows = []
    for p in periods:
        cut = int(p.value // 1000)
        seen = known < cut
        in4 = seen & (week >= cut - 4 * WEEK_US) & (week < cut)
        in1 = seen & (week >= cut - WEEK_US) & (week < cut)
        prev = in4 & ~in1
        in2 = seen & (week >= cut - 2 * WEEK_US) & (week < cut - WEEK_US)
        med4 = _stage_block(code[in4], wait[in4], n_s, 0.5)
        share1, share_prev = (
            _shares(code[in1], wait[in1], n_s),
            _shares(code[prev], wait[prev], n_s),
        )
        open_ = (started <= cut) & (known >= cut)
        open_h = (cut - started[open_]).astype(np.float64) / 3.6e9
        open_wait = np.bincount(code[open_], weights=open_h, minlength=n_s)
        share2 = _shares(code[in2], wait[in2], n_s)
        in3 = seen & (week >= cut - 3 * WEEK_US) & (week < cut - 2 * WEEK_US)
        # the week's waits, with those still running at the cutoff counted as far as they went
        part1 = (week >= cut - WEEK_US) & (week < cut) & (seen | open_)
        wait1 = np.where(seen, wait, (cut - started).astype(np.float64) / 3.6e9)
        part2 = in2
        stats = {
            "med4": med4,
            "p85_4": _stage_block(code[in4], wait[in4], n_s, 0.85),
            "mean4": np.bincount(code[in4], weights=wait[in4], minlength=n_s)
            / np.maximum(np.bincount(code[in4], minlength=n_s), 1),
            "share4": _shares(code[in4], wait[in4], n_s),
            "share1": share1,
            "med1": _stage_block(code[in1], wait[in1], n_s, 0.5),
            "trend": share1 - share_prev,
            "queue": np.bincount(code[open_], minlength=n_s).astype(np.float64),
            "open_wait_h": open_wait,
            "share2": share2,
            "delta1": share1 - share2,
            "proj": 2 * share1 - share2,
            "open_share": open_wait / open_wait.sum() if open_wait.sum() > 0 else open_wait,
            "delta3": share1 - _shares(code[in3], wait[in3], n_s),
            "late1": _late_growth(code[part1], wait1[part1], frac[part1], n_s),
            "late2": _late_growth(code[part2], wait[part2], frac[part2], n_s),
        }
        started_changes = set(change[week < cut].tolist())
        shipped = set(change[is_prod & seen].tolist())
        row: dict[str, Any] = {
            "period_start": p,
            "n_changes_1": float(len(set(change[(week == cut - WEEK_US)]))),
            "n_known_4": float(len(set(change[in4].tolist()))),
            "wip": float(len(started_changes - shipped)),
            "review_queue": stats["queue"][stages.index("review")] if "review" in stages else 0.0,
        }
        for name, values in stats.items():
            for s, v in zip(stages, values, strict=True):
                row[f"{s}__{name}"] = float(v)
        row["baseline_stage"] = stages[int(np.nanargmax(med4))] if np.isfinite(med4).any() else ""
        rows.append(row)
    return rows


def period_features(
    waits: pd.DataFrame,
    *,
    stages: list[str] | tuple[str, ...] | None = None,
    next_period: bool = True,
) -> pd.DataFrame:
    """Features of every (service, period) from the service's second week on.

    Args:
        waits: long per-change waits (`stage_waits` output; `team` optional).
        stages: stage vocabulary (default: order of first appearance).
        next_period: also add the period after the last one (what to predict now).

    Returns:
        `service`, `team`, `period_start`, the `SERVICE_STATS` columns, ``<stage>__<stat>`` for
        each stage and stat in `STAGE_STATS`, and `baseline_stage` (largest trailing 4-week
        median wait, the naive forecast).
    """
    _check(waits)
    names = stage_list(waits, stages)
    out = []
    for service, part in waits.groupby("service", sort=True, observed=True):
        weeks = week_start(part["first_commit_at"])
        first, last = weeks.min(), weeks.max() + (WEEK if next_period else pd.Timedelta(0))
        periods = pd.date_range(first + WEEK, last, freq="7D")
        rows = _service_rows(part, names, periods)
        team = str(part["team"].iloc[0]) if "team" in part.columns else str(service)
        out += [{"service": str(service), "team": team, **r} for r in rows]
    if not out:
        raise DataError("bottleneck features: no service has two weeks of waits")
    frame = pd.DataFrame(out)
    frame["period_start"] = pd.to_datetime(frame["period_start"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    load = frame.groupby(["team", "period_start"])["review_queue"].transform("sum")
    frame["review_load"] = load.astype(np.float64)
    frame = frame.drop(columns="review_queue")
    return frame.astype({"service": "str", "team": "str", "baseline_stage": "str"})


def dominant_stages(
    waits: pd.DataFrame, *, stages: list[str] | tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Label per (service, period): the stage with the largest total wait, and every share."""
    _check(waits)
    names = stage_list(waits, stages)
    w = waits.loc[waits["stage"].isin(names)].assign(
        period_start=week_start(waits["first_commit_at"])
    )
    sums = w.pivot_table(
        index=["service", "period_start"], columns="stage", values="wait_h", aggfunc="sum"
    )
    sums = sums.reindex(columns=names).fillna(0.0)
    total = sums.sum(axis=1)
    shares = sums.div(total.where(total > 0), axis=0)
    out = shares.add_prefix("share__").reset_index()
    out["stage"] = np.array(names)[np.argmax(sums.to_numpy(), axis=1)]
    out["n_changes"] = (
        w.groupby(["service", "period_start"])["change_id"].nunique().reindex(sums.index).to_numpy()
    )
    return out.astype({"service": "str", "stage": "str"})


STAGE_ROW_STATS: Final[tuple[str, ...]] = STAGE_STATS
"""Stage-specific columns of `stage_rows` (named ``s_<stat>``)."""


def stage_rows(features: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """One row per (feature row, stage): the stage's own stats as generic ``s_<stat>`` columns,
    the stage index `stage_code`, the service-level stats, and `row` (position in `features`)."""
    parts = []
    for i, s in enumerate(stages):
        block = pd.DataFrame(
            {f"s_{stat}": features[f"{s}__{stat}"].to_numpy() for stat in STAGE_ROW_STATS}
        )
        block.insert(0, "stage_code", float(i))
        block.insert(0, "stage", s)
        block.insert(0, "row", np.arange(len(features)))
        for col in SERVICE_STATS:
            block[col] = features[col].to_numpy()
        parts.append(block)
    return pd.concat(parts, ignore_index=True)


def quantile_rows(features: pd.DataFrame, waits: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """Training rows for the duration-quantile models: every change's wait in every stage,
    joined to the stage's features of the change's (service, period); target column `wait_h`."""
    rows = stage_rows(features, stages)
    rows["service"] = features["service"].to_numpy()[rows["row"].to_numpy()]
    rows["period_start"] = features["period_start"].to_numpy()[rows["row"].to_numpy()]
    w = waits.assign(period_start=week_start(waits["first_commit_at"]))
    w = w[["service", "period_start", "stage", "wait_h"]]
    out = rows.merge(w, on=["service", "period_start", "stage"], how="inner")
    return out.reset_index(drop=True)
