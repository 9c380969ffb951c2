"""The DORA section: this week against last week and the 4-week trend, bands, what moved most."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.metrics.bands import BANDS, band
from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table
from vsmml.report.week import TREND_WEEKS


@dataclass(frozen=True)
class Key:
    """One DORA key as the report shows it: the tidy metric, its band metric, unit and sense."""

    metric: str
    title: str
    band_metric: str | None
    scale: float
    show: Callable[[Any], str]
    higher_is_better: bool
    min_n: int = 3


KEYS: Final[tuple[Key, ...]] = (
    Key("deployments", "deployment frequency", "deployments_per_day", 1 / 7, fmt.per_day, True, 0),
    Key(
        "lead_time_median",
        "lead time for changes (median)",
        "lead_time_median_h",
        1.0,
        fmt.hours,
        False,
    ),
    Key("change_failure_rate", "change failure rate", "change_failure_rate", 1.0, fmt.rate, False),
    Key(
        "recovery_time_median",
        "failed-deployment recovery time (median)",
        "recovery_time_median_h",
        1.0,
        fmt.hours,
        False,
        1,
    ),
    Key(
        "time_to_restore_median",
        "time to restore service (median, all incidents)",
        None,
        1.0,
        fmt.hours,
        False,
        1,
    ),
)
STEADY: Final[float] = 0.05
"""A 4-week change under this share of the mean is "steady"."""


def _series(tidy: pd.DataFrame, key: Key, weeks: list[pd.Timestamp]) -> tuple[np.ndarray, ...]:
    rows = tidy.loc[tidy["metric"] == key.metric].set_index("period")
    vals = rows["value"].reindex(weeks).to_numpy(dtype=float) * key.scale
    n = rows["n"].reindex(weeks).fillna(0).to_numpy(dtype=float)
    if key.metric == "deployments":
        vals = np.nan_to_num(vals, nan=0.0)
    return vals, n


def _band(key: Key, v: float) -> str | None:
    return None if key.band_metric is None or not math.isfinite(v) else band(key.band_metric, v)


def _trend(values: np.ndarray, key: Key) -> str:
    """improving / worsening / steady over the 4 weeks (least-squares slope × 3 weeks)."""
    ok = np.isfinite(values)
    if ok.sum() < 2:
        return "too few weeks"
    x = np.flatnonzero(ok).astype(float)
    slope = float(np.polyfit(x, values[ok], 1)[0]) * (len(values) - 1)
    mean = float(np.mean(values[ok]))
    if mean == 0 or abs(slope) < STEADY * abs(mean):
        return "steady"
    better = slope > 0 if key.higher_is_better else slope < 0
    return "improving" if better else "worsening"


def _moved(key: Key, before: float, after: float) -> tuple[int, float, bool] | None:
    """(band steps moved, relative change, better) or None when it cannot be told."""
    if not (math.isfinite(before) and math.isfinite(after)) or before == after:
        return None
    rel = (after - before) / abs(before) if before != 0 else math.inf
    better = after > before if key.higher_is_better else after < before
    b0, b1 = _band(key, before), _band(key, after)
    steps = abs(BANDS.index(b1) - BANDS.index(b0)) if b0 and b1 else 0
    return steps, rel, better


def changed_most(
    scope: pd.DataFrame, services: pd.DataFrame, week: pd.Timestamp, top: int = 3
) -> pd.DataFrame:
    """The largest moves from last week to this week, for the scope and each service.

    Ranked by band steps moved, then by the relative change; a quantile needs `Key.min_n`
    observations in both weeks so one slow change does not headline the report.
    """
    last = week - pd.Timedelta(weeks=1)
    frames = [scope.assign(service="(all)"), services]
    rows = []
    for frame in frames:
        if frame.empty:
            continue
        for name, g in frame.groupby("service", sort=True):
            for key in KEYS:
                (v0, v1), (n0, n1) = _series(g, key, [last, week])
                if key.metric != "deployments" and min(n0, n1) < key.min_n:
                    continue
                if key.metric == "deployments" and max(v0, v1) * 7 < 3:
                    continue
                moved = _moved(key, v0, v1)
                if moved is None:
                    continue
                steps, rel, better = moved
                rows.append(
                    (
                        str(name),
                        key.metric,
                        key.title,
                        v0,
                        v1,
                        rel,
                        steps,
                        better,
                        _band(key, v0),
                        _band(key, v1),
                    )
                )
    cols = [
        "service",
        "metric",
        "title",
        "last",
        "this",
        "relative",
        "band_steps",
        "better",
        "band_last",
        "band_this",
    ]
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    out["size"] = out["relative"].abs().clip(upper=10.0)
    out = out.sort_values(["band_steps", "size"], ascending=False, kind="stable")
    return out.head(top).drop(columns="size").reset_index(drop=True)


def _move_sentence(row: pd.Series) -> str:
    key = next(k for k in KEYS if k.metric == row["metric"])
    who = "overall" if row["service"] == "(all)" else row["service"]
    verdict = "better" if row["better"] else "worse"
    text = f"{who}: {row['title']} {key.show(row['last'])} → {key.show(row['this'])} ({verdict}"
    if row["band_steps"]:
        text += f"; band {row['band_last']} → {row['band_this']}"
    return text + ")"


def dora_section(
    scope: pd.DataFrame, services: pd.DataFrame, week: pd.Timestamp, scope_name: str
) -> Section:
    """Build the DORA section.

    Args:
        scope: tidy weekly DORA metrics of the report's scope (period, metric, value, n),
            the report week and the weeks before it.
        services: the same per service (service, period, metric, value, n).
        week: the report week's Monday.
        scope_name: how the scope reads ("the organisation", "service checkout").
    """
    weeks = [week - pd.Timedelta(weeks=i) for i in range(TREND_WEEKS - 1, -1, -1)]
    last = week - pd.Timedelta(weeks=1)
    table_rows: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}
    for key in KEYS:
        (v_last, v_this), _ = _series(scope, key, [last, week])
        trend, _ = _series(scope, key, weeks)
        row = {
            "key": key.title,
            "this": v_this,
            "last": v_last,
            "change": v_this - v_last,
            "band": _band(key, v_this) or "–",
            "band_last": _band(key, v_last) or "–",
            "mean4": float(np.nanmean(trend)) if np.isfinite(trend).any() else math.nan,
            "trend": _trend(trend, key),
        }
        table_rows.append(row)
        facts[key.metric] = {
            "this_week": v_this,
            "last_week": v_last,
            "four_weeks": [float(v) for v in trend],
            "band": _band(key, v_this),
            "trend": row["trend"],
        }
    frame = pd.DataFrame(table_rows)
    shows = {r["key"]: k.show for r, k in zip(table_rows, KEYS, strict=True)}
    table = Table(
        f"The DORA keys of {scope_name}, this week against last week (2023 bands)",
        ("key", "this week", "band", "last week", "band last week", "4-week mean", "4-week trend"),
        tuple(
            (
                r["key"],
                shows[r["key"]](r["this"]),
                r["band"],
                shows[r["key"]](r["last"]),
                r["band_last"],
                shows[r["key"]](r["mean4"]),
                r["trend"],
            )
            for r in table_rows
        ),
        tuple(
            (r["key"], r["this"], r["band"], r["last"], r["band_last"], r["mean4"], r["trend"])
            for r in table_rows
        ),
        note="deployments per day are the week's successful production deployments ÷ 7",
    )
    moves = changed_most(scope, services, week)
    facts["changed_most"] = moves.to_dict("records")
    summary = [_headline(frame, scope_name)]
    summary += [f"Changed most: {_move_sentence(r)}." for _, r in moves.iterrows()]
    if moves.empty:
        summary.append("No key moved enough from last week to single out (or too few changes).")
    context = [week - pd.Timedelta(weeks=i) for i in range(2 * TREND_WEEKS - 1, -1, -1)]
    weekly = _trend_frame(scope, context)
    plot = Plot(
        "dora-trend",
        "DORA keys, week by week (the report week outlined)",
        plots.dora_trend(weekly, [(k.metric, k.title) for k in KEYS[:4]], week),
        caption="The last eight weeks of the scope; points are the week's value.",
        data={"weeks": [p.isoformat() for p in context], "values": weekly.to_dict("list")},
    )
    return Section("dora", "DORA", tuple(summary), facts, (table,), (plot,))


def _trend_frame(scope: pd.DataFrame, weeks: list[pd.Timestamp]) -> pd.DataFrame:
    parts = []
    for key in KEYS:
        vals, _ = _series(scope, key, weeks)
        bands = [_band(key, float(v)) for v in vals]
        parts.append(
            pd.DataFrame({"period": weeks, "metric": key.metric, "value": vals, "band": bands})
        )
    return pd.concat(parts, ignore_index=True)


def _headline(frame: pd.DataFrame, scope_name: str) -> str:
    r = frame.set_index("key")
    dep, lead, cfr = (r.loc[k.title] for k in KEYS[:3])
    return (
        f"This week {scope_name} deployed {fmt.per_day(dep['this'])} ({dep['band']}), with a "
        f"median lead time of {fmt.hours(lead['this'])} ({lead['band']}) and a change failure "
        f"rate of {fmt.rate(cfr['this'])} ({cfr['band']}); last week: "
        f"{fmt.per_day(dep['last'])}, {fmt.hours(lead['last'])}, {fmt.rate(cfr['last'])}."
    )
