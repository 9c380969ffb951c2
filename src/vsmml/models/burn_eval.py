"""Event-level evaluation of burn warnings: precision, recall and warning lead time.

A burn event is a run of grid times where the budget burns faster than the paging threshold
(on the synthetic organisation: the planted 1 h burn from the ground-truth episodes; on real
data: the observed page condition or labelled anomalies). A warning is a run of alerting grid
times (runs closer than `merge_gap` merge, for every detector alike). A warning run is a true
positive when it overlaps [event start - horizon, event end] of some event; an event is
detected when an alert falls in that window, and its lead time is event start minus the first
such alert (positive = before the threshold is crossed).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError

FloatArray = npt.NDArray[np.float64]
PAGE_FACTOR: Final[float] = 14.4


def runs(frame: pd.DataFrame, column: str, merge_gap: pd.Timedelta | str = "0min") -> pd.DataFrame:
    """Runs of True in `column` per service as (service, start, end) rows.

    `frame` holds `service`, `timestamp` and the boolean column on a regular grid; runs whose gap
    is at most `merge_gap` merge into one.
    """
    gap = pd.Timedelta(merge_gap).value // 1000
    services, starts_all, ends_all = [], [], []
    on_all = frame[column].to_numpy(dtype=bool)
    ts_all = _us(frame["timestamp"])
    groups = frame.groupby("service", sort=True, observed=True).indices
    for service, rows in groups.items():
        idx = np.asarray(rows)[np.argsort(ts_all[rows], kind="stable")]
        on, ts = on_all[idx], ts_all[idx]
        s = np.flatnonzero(on & ~np.r_[False, on[:-1]])
        e = np.flatnonzero(on & ~np.r_[on[1:], False])
        if s.size == 0:
            continue
        new = np.r_[True, ts[s[1:]] - ts[e[:-1]] > gap]
        group = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        last = np.r_[first[1:] - 1, group.size - 1]
        services += [str(service)] * first.size
        starts_all.append(ts[s[first]])
        ends_all.append(ts[e[last]])

    def stamps(parts: list[npt.NDArray[np.int64]]) -> pd.Series:
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return pd.Series(pd.to_datetime(values, unit="us", utc=True))

    res = pd.DataFrame({"service": services, "start": stamps(starts_all), "end": stamps(ends_all)})
    return res.astype({"service": "str"})


def planted_burn(
    episodes: pd.DataFrame, grid: pd.DataFrame, window: str | pd.Timedelta = "1h"
) -> pd.Series:
    """The planted burn rate over `window` at each grid row, from ground-truth episodes.

    Mirrors the generator: a sample whose interval end lies in (start, end + one step] carries
    the episode's `burn_rate` (the base error rate, under 0.4x, is left out). Returns a series
    aligned with `grid` (rows: service, timestamp on a regular grid).
    """
    out = np.zeros(len(grid))
    for service, idx in grid.groupby("service", sort=False, observed=True).indices.items():
        ts = grid["timestamp"].iloc[idx].to_numpy(dtype="datetime64[us]").astype(np.int64)
        step = int(np.median(np.diff(ts))) if ts.size > 1 else 300_000_000
        k = max(int(pd.Timedelta(window).value // 1000 // step), 1)
        rate = np.zeros(ts.size)
        eps = episodes.loc[episodes["service"].astype("str") == str(service)]
        on = _us(eps["start"])
        off = _us(eps["end"])
        for o, e, b in zip(on, off, eps["burn_rate"].to_numpy(dtype=np.float64), strict=True):
            lo = np.searchsorted(ts, o, side="right")
            hi = np.searchsorted(ts, e, side="right") + 1
            rate[lo:hi] += b
        out[idx] = pd.Series(rate).rolling(k, min_periods=1).sum().to_numpy() / k
    return pd.Series(out, index=grid.index, name="planted_burn")


def _us(ts: pd.Series) -> npt.NDArray[np.int64]:
    values = pd.to_datetime(ts, utc=True).astype("datetime64[us, UTC]")
    out: npt.NDArray[np.int64] = values.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return out


@dataclass(frozen=True)
class AlertScore:
    """Event-level quality of one detector."""

    precision: float
    recall: float
    median_lead_min: float
    n_warnings: int
    n_events: int
    n_detected: int
    leads: pd.DataFrame  # one row per event: service, start, lead_min (NaN when missed)

    def as_row(self, name: str) -> dict[str, object]:
        """Flat summary for a results table."""
        return {
            "detector": name,
            "precision": self.precision,
            "recall": self.recall,
            "median_lead_min": self.median_lead_min,
            "warnings": self.n_warnings,
            "events": self.n_events,
            "detected": self.n_detected,
        }


def score_alerts(
    alerts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    column: str = "alert",
    horizon: str | pd.Timedelta = "1h",
    merge_gap: str | pd.Timedelta = "15min",
) -> AlertScore:
    """Precision (warning runs), recall and median lead time (events) of one detector.

    Args:
        alerts: `service`, `timestamp` and the boolean `column`.
        events: `service`, `start`, `end` of the burn events in the same period.
        horizon: how early a warning may come and still count for an event.
        merge_gap: warning runs closer than this are one warning.
    """
    if column not in alerts.columns:
        raise DataError(f"score_alerts: alerts miss column {column!r}")
    h = pd.Timedelta(horizon)
    warn = runs(alerts, column, merge_gap)
    fired = alerts.loc[alerts[column].astype(bool), ["service", "timestamp"]]
    by_service = {str(s): _us(g["timestamp"]) for s, g in fired.groupby("service", observed=True)}
    h_us = int(h.value // 1000)
    ev_start, ev_end = _us(events["start"]), _us(events["end"])
    ev_service = events["service"].astype("str").tolist()
    lead = np.full(len(events), np.nan)
    for i, service in enumerate(ev_service):
        t = by_service.get(service, np.zeros(0, dtype=np.int64))
        hit = t[(t >= ev_start[i] - h_us) & (t <= ev_end[i])]
        if hit.size:
            lead[i] = (ev_start[i] - hit.min()) / 60e6
    lead_frame = pd.DataFrame(
        {"service": ev_service, "start": events["start"].to_numpy(), "lead_min": lead}
    )
    tp = 0
    ev_by = {
        str(s): (_us(g["start"]) - h.value // 1000, _us(g["end"]))
        for s, g in events.groupby("service", observed=True)
    }
    w_start, w_end = _us(warn["start"]), _us(warn["end"])
    for i, service in enumerate(warn["service"].tolist()):
        if service in ev_by:
            lo_e, hi_e = ev_by[service]
            tp += int(bool(((lo_e <= w_end[i]) & (hi_e >= w_start[i])).any()))
    n_det = int(lead_frame["lead_min"].notna().sum())
    return AlertScore(
        precision=tp / len(warn) if len(warn) else float("nan"),
        recall=n_det / len(events) if len(events) else float("nan"),
        median_lead_min=float(lead_frame["lead_min"].median()) if n_det else float("nan"),
        n_warnings=len(warn),
        n_events=len(events),
        n_detected=n_det,
        leads=lead_frame,
    )


THRESHOLD_GRID: Final[tuple[float, ...]] = tuple(np.round(np.arange(0.05, 0.991, 0.01), 4))
"""Candidate warning thresholds (calibrated page probabilities)."""


def choose_threshold(
    proba: npt.ArrayLike,
    frame: pd.DataFrame,
    events: pd.DataFrame,
    target_precision: float,
    *,
    grid: npt.ArrayLike | None = None,
    z: float = 0.0,
    horizon: str | pd.Timedelta = "1h",
    merge_gap: str | pd.Timedelta = "15min",
) -> float:
    """The lowest threshold whose warnings reach `target_precision` on these (validation) rows.

    Lower thresholds warn earlier and catch more, so the lowest one that keeps the precision is
    preferred. With `z` > 0 the precision must hold with a margin: precision minus `z` binomial
    standard errors (over the warning runs) must reach the target, so a precision measured on
    few warnings does not pass by luck. If no threshold qualifies, the one with the best
    (margin-adjusted) precision is returned.
    """
    p = np.asarray(proba, dtype=np.float64)
    cands = np.asarray(grid if grid is not None else THRESHOLD_GRID, dtype=np.float64)
    best = (-np.inf, float(cands.max()))
    for thr in sorted(cands.tolist()):
        alerts = frame[["service", "timestamp"]].assign(alert=p >= thr)
        sc = score_alerts(alerts, events, horizon=horizon, merge_gap=merge_gap)
        prec = sc.precision if np.isfinite(sc.precision) else 0.0
        low = prec - z * np.sqrt(prec * (1.0 - prec) / max(sc.n_warnings, 1))
        if sc.n_warnings and low >= target_precision:
            return float(thr)
        if low > best[0]:
            best = (low, float(thr))
    return best[1]


def paired_lead_gain(model: AlertScore, rule: AlertScore) -> float:
    """Median over events both detect of (model lead - rule lead), minutes."""
    both = model.leads["lead_min"].notna() & rule.leads["lead_min"].notna()
    if not both.any():
        return float("nan")
    diff = model.leads.loc[both, "lead_min"].to_numpy() - rule.leads.loc[both, "lead_min"]
    return float(np.median(diff))


BoolArray = npt.NDArray[np.bool_]


def time_folds(
    timestamps: pd.Series, n_folds: int = 5, first: float = 1.0 / 3.0
) -> list[tuple[BoolArray, BoolArray]]:
    """Expanding-window folds over a period: (fit rows, predicted rows) per fold.

    The first `first` share of the period is only ever fitted on; the rest is cut into
    `n_folds` equal time blocks, and block k is predicted by a model fitted on every row
    before it, as a live model would be.
    """
    if n_folds < 1 or not 0.0 < first < 1.0:
        raise DataError(f"time_folds: need n_folds >= 1 and 0 < first < 1, got {n_folds}, {first}")
    ts = pd.to_datetime(timestamps, utc=True)
    lo, hi = ts.min(), ts.max()
    cuts = [lo + (hi - lo) * (first + (1.0 - first) * k / n_folds) for k in range(n_folds + 1)]
    cuts[-1] = hi + pd.Timedelta(1, "us")
    out = []
    for a, b in itertools.pairwise(cuts):
        out.append(((ts < a).to_numpy(), ((ts >= a) & (ts < b)).to_numpy()))
    return out


@dataclass(frozen=True)
class ThresholdChoice:
    """The warning threshold and what it was chosen on (pooled out-of-fold predictions)."""

    threshold: float
    target_precision: float  # the rule's precision on the pooled rows
    precision: float  # the model's pooled out-of-fold precision at the threshold
    recall: float
    median_lead_min: float
    n_events: int
    n_warnings: int
    out_of_fold: FloatArray  # page probability per row (NaN where not predicted)


def cross_validated_threshold(
    factory: Callable[[], Any],
    X: pd.DataFrame,
    y: pd.Series,
    keys: pd.DataFrame,
    events: pd.DataFrame,
    rule_alert: npt.ArrayLike,
    *,
    n_folds: int = 5,
    first: float = 1.0 / 3.0,
    z: float = 1.0,
    grid: npt.ArrayLike | None = None,
    horizon: str | pd.Timedelta = "1h",
    merge_gap: str | pd.Timedelta = "15min",
) -> ThresholdChoice:
    """Choose the warning threshold on time-ordered out-of-fold predictions of the period.

    Each fold's model (``factory().fit``) predicts the block after its fit rows; the blocks
    are pooled, so the threshold is chosen on several times the events a single validation
    window holds. The target is the rule's precision on the same pooled rows; the threshold is
    the lowest whose precision reaches it with a margin of `z` standard errors
    (`choose_threshold`).

    Args:
        factory: builds an unfitted model with ``fit(X, y)`` and ``predict_proba(X)``.
        X: features plus the model's time column; y: its labels; keys: `service` and
            `timestamp` of each row (same index order).
        events: burn events of the period (`service`, `start`, `end`).
        rule_alert: the baseline rule's alert per row.
    """
    rule = np.asarray(rule_alert, dtype=bool)
    if not len(X) == len(y) == len(keys) == rule.size:
        raise DataError(
            f"cross_validated_threshold: X, y, keys and rule_alert differ in length "
            f"({len(X)}, {len(y)}, {len(keys)}, {rule.size})"
        )
    oof = np.full(len(X), np.nan)
    stamps = pd.to_datetime(keys["timestamp"], utc=True).reset_index(drop=True)
    for fold, (fit_rows, pred_rows) in enumerate(time_folds(keys["timestamp"], n_folds, first)):
        if not pred_rows.any():
            continue
        try:
            model = factory().fit(X[fit_rows], y[fit_rows])
        except DataError as err:
            raise DataError(
                f"cross_validated_threshold: fold {fold + 1} of {n_folds} (fitted on the rows "
                f"before {stamps[pred_rows].min()}) cannot be fitted: {err}; "
                "the period needs pages early enough for every fold: use a longer period or "
                "fewer folds"
            ) from err
        oof[pred_rows] = model.predict_proba(X[pred_rows])[:, 1]
    pooled = np.isfinite(oof)
    k = keys.loc[pooled, ["service", "timestamp"]]
    t_lo, t_hi = k["timestamp"].min(), k["timestamp"].max()
    ev = events.loc[(events["start"] >= t_lo) & (events["start"] <= t_hi)].reset_index(drop=True)
    kw: dict[str, Any] = {"horizon": horizon, "merge_gap": merge_gap}
    target = score_alerts(k.assign(alert=rule[pooled]), ev, **kw).precision
    target = float(np.nan_to_num(target))
    thr = choose_threshold(oof[pooled], k, ev, target, grid=grid, z=z, **kw)
    at = score_alerts(k.assign(alert=oof[pooled] >= thr), ev, **kw)
    return ThresholdChoice(
        threshold=thr,
        target_precision=target,
        precision=at.precision,
        recall=at.recall,
        median_lead_min=at.median_lead_min,
        n_events=at.n_events,
        n_warnings=at.n_warnings,
        out_of_fold=oof,
    )
