"""Reliability rules on SLO burn: page alerts that are off, the burn outlook, a burning deploy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.effects import sufficiency
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule
from vsmml.slo import SLO, burn_rates

PAGE_RULES: Final[tuple[tuple[str, str, float], ...]] = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
"""The SRE workbook's two paging rules: (long window, short window, burn-rate factor)."""
SLACK: Final = pd.Timedelta(hours=1)


def _service_samples(ctx: Context, service: str, lead: pd.Timedelta) -> pd.DataFrame:
    s = ctx.inputs.slo_samples
    assert s is not None
    mine = s.loc[(s["service"] == service).to_numpy(dtype=bool)]
    keep = (mine["timestamp"] >= ctx.since - lead) & (mine["timestamp"] < ctx.until)
    return mine.loc[keep.to_numpy(dtype=bool)].sort_values("timestamp", kind="stable")


def _starts(flags: np.ndarray, quiet: int = 12) -> np.ndarray:
    """Where a page begins: firing after at least `quiet` quiet grid steps (an hour at 5 min),
    so an alert that flaps during one incident counts once, as an alert manager groups it."""
    fired = np.flatnonzero(flags)
    if fired.size == 0:
        return fired
    gaps = np.diff(fired, prepend=-(quiet + 1))
    return fired[gaps > quiet]


@dataclass(frozen=True)
class AlertTuningRule(Rule):
    """Page alerts that fire without an incident (loosen) or stay quiet through one (tighten)."""

    name = "alert-tuning"
    category = "reliability"
    why = (
        "alert tuning: the SRE workbook's multiwindow page rules are re-evaluated on the "
        "window's SLO samples with their factors scaled; a page with no incident within an hour "
        "is false, an incident that spent `significant` of the 30-day budget without a page is "
        "missed"
    )
    needs = ("slo_samples", "incidents")

    significant: float = 0.05
    min_false: int = 3
    loosen: tuple[float, ...] = (1.25, 1.5, 2.0, 3.0)
    tighten: tuple[float, ...] = (0.75, 0.5, 0.33)

    def run(self, ctx: Context) -> list[Recommendation]:
        """At most one recommendation per service with SLO samples in the window."""
        s = ctx.inputs.slo_samples
        assert s is not None
        out: list[Recommendation] = []
        for service in sorted(pd.unique(s["service"].astype(str))):
            rec = self._one(ctx, service)
            if rec is not None:
                out.append(rec)
        return out

    def _one(self, ctx: Context, service: str) -> Recommendation | None:
        samples = _service_samples(ctx, service, pd.Timedelta(hours=6))
        if samples.empty:
            return None
        objective = ctx.inputs.slo_objectives.get(service, ctx.inputs.default_objective)
        slo = SLO(service, objective)
        grid = pd.date_range(ctx.since, ctx.until, freq="5min", inclusive="left")
        rates = burn_rates(samples, slo, ["1h", "5min", "6h", "30min"], at=grid)
        inc = ctx.inputs.incidents
        assert inc is not None
        mine = inc.loc[(inc["service"] == service).to_numpy(dtype=bool)]
        start = mine["impact_started_at"].fillna(mine["opened_at"])
        end = mine["resolved_at"].fillna(ctx.until)
        inside = ctx.in_window(start)
        start, end, mine = start[inside], end[inside], mine.loc[inside]
        t = grid.as_unit("ns").asi8
        spent = self._spent(samples, slo, start, end)

        def count(m: float) -> tuple[int, int, list[int]]:
            page = np.zeros(len(grid), dtype=bool)
            for long, short, factor in PAGE_RULES:
                page |= (rates[long].to_numpy() > factor * m) & (
                    rates[short].to_numpy() > factor * m
                )
            near = np.zeros(len(grid), dtype=bool)
            paged_inc = []
            for s0, e0 in zip(start, end, strict=True):
                span = (t >= pd.Timestamp(s0 - SLACK).value) & (t <= pd.Timestamp(e0 + SLACK).value)
                near |= span
                paged_inc.append(bool((page & span).any()))
            false = [int(i) for i in _starts(page) if not near[i]]
            missed = sum(
                1 for p, b in zip(paged_inc, spent, strict=True) if not p and b >= self.significant
            )
            return len(false), missed, false

        f1, m1, false_at = count(1.0)
        if f1 >= self.min_false and m1 == 0:
            for m in self.loosen:
                fm, mm, _ = count(m)
                if mm == 0 and fm <= f1 / 2:
                    return self._emit(
                        ctx,
                        service,
                        "loosen_slo_alert",
                        m,
                        f1,
                        fm,
                        "false pages",
                        grid,
                        false_at,
                        mine,
                    )
        if m1 >= 1:
            for m in self.tighten:
                fm, mm, _ = count(m)
                if mm < m1:
                    return self._emit(
                        ctx,
                        service,
                        "tighten_slo_alert",
                        m,
                        m1,
                        mm,
                        "unpaged incidents",
                        grid,
                        false_at,
                        mine,
                    )
        return None

    def _spent(
        self, samples: pd.DataFrame, slo: SLO, start: pd.Series, end: pd.Series
    ) -> list[float]:
        """Per incident: the share of a 30-day error budget its interval spent."""
        per_sample = float(samples["total"].mean()) if len(samples) else 0.0
        diffs = samples["timestamp"].diff().dt.total_seconds()
        step_s = float(diffs.median()) if len(samples) > 1 else 300.0
        n_30d = slo.window.total_seconds() / step_s if step_s > 0 else 0.0
        budget = per_sample * n_30d * slo.error_budget
        out: list[float] = []
        for s0, e0 in zip(start, end, strict=True):
            rows = samples.loc[
                ((samples["timestamp"] > s0) & (samples["timestamp"] <= e0)).to_numpy(bool)
            ]
            bad = float((rows["total"] - rows["good"]).sum())
            out.append(bad / budget if budget > 0 else 0.0)
        return out

    def _sample_ids(self, ctx: Context, service: str, instants: list[pd.Timestamp]) -> list[str]:
        """The `slo.sample` event ids at (or just before) each instant: what paged."""
        s = ctx.inputs.slo_samples
        if s is None or "event_id" not in s.columns or not instants:
            return []
        mine = s.loc[(s["service"] == service).to_numpy(dtype=bool)].sort_values("timestamp")
        ts = mine["timestamp"].to_numpy(dtype="datetime64[us]")
        at = pd.DatetimeIndex(instants).tz_convert(None).to_numpy(dtype="datetime64[us]")
        j = np.clip(np.searchsorted(ts, at, side="right") - 1, 0, max(len(ts) - 1, 0))
        return [str(i) for i in mine["event_id"].to_numpy()[j]] if len(ts) else []

    def _emit(
        self,
        ctx: Context,
        service: str,
        action: str,
        m: float,
        before: int,
        after: int,
        what: str,
        grid: pd.DatetimeIndex,
        false_at: list[int],
        incidents: pd.DataFrame,
    ) -> Recommendation:
        value = float(after - before)
        half = 1.645 * math.sqrt(2.0 * max(before, 1))
        effect = ExpectedEffect(
            what,
            value,
            max(value - half, -float(before)),
            min(value + half, 0.0),
            "count",
            ctx.horizon,
            baseline=float(before),
            method=f"page rules re-evaluated with factors x{m:g} on the window's SLO samples "
            "(Poisson interval)",
        )
        ids, n_ids = ctx.events.lookup(
            "incident.opened", "incident_id", incidents["incident_id"].tolist()
        )
        if action == "loosen_slo_alert":
            ids, n_ids = self._sample_ids(ctx, service, [grid[i] for i in false_at]), len(false_at)
        when = ", ".join(str(grid[i]) for i in false_at[:5])
        evidence = [
            Evidence.of(
                f"{before} {what} between {ctx.since.date()} and {ctx.until.date()}"
                + (f" (false pages at {when})" if action == "loosen_slo_alert" and when else ""),
                {
                    what.replace(" ", "_"): before,
                    f"{what.replace(' ', '_')}_after": after,
                    "factor": m,
                },
                ctx.since,
                ctx.until,
                ids,
                n_ids,
            )
        ]
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{before} {what} in {service}; page factors x{m:g} give {after}",
            evidence,
            action,
            effect,
            sufficiency(float(before), 5.0),
            params={"factor": f"{14.4 * m:.1f}", "old_factor": "14.4"},
        )


@dataclass(frozen=True)
class BurnOutlookRule(Rule):
    """The burn model expects a page soon; pausing rollouts is re-scored by the caller's model.

    `Inputs.burn_outlook` rows: service, at, probability (of paging within `horizon_h`),
    probability_paused (the same model re-scored with no deploys in the horizon), horizon_h.
    """

    name = "burn-outlook"
    category = "reliability"
    why = (
        "burn outlook: the SLO burn model's probability of paging within its horizon is high; "
        "re-scored with no further deploys it drops by the effect shown"
    )
    needs = ("burn_outlook",)

    min_probability: float = 0.5
    recent_hours: float = 24.0

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose latest outlook is high and can be lowered."""
        o = ctx.inputs.burn_outlook
        assert o is not None
        if "probability_paused" not in o.columns:
            return []
        o = o.loc[
            (
                (o["at"] < ctx.until)
                & (o["at"] >= ctx.until - pd.Timedelta(hours=self.recent_hours))
            ).to_numpy(bool)
        ]
        out: list[Recommendation] = []
        for service, rows in o.sort_values("at").groupby("service", sort=True, observed=True):
            last = rows.iloc[-1]
            p, q = float(last["probability"]), float(last["probability_paused"])
            if p < self.min_probability or not q < p:
                continue
            hours = float(last.get("horizon_h", float("nan")))
            effect = ExpectedEffect(
                "probability of a page", q - p, q - p, q - p, "probability",
                f"next {hours:g} h" if math.isfinite(hours) else ctx.horizon,
                baseline=p, method="the burn model re-scored with no deploys in its horizon",
            )  # fmt: skip
            ids = (
                [str(last["event_id"])] if "event_id" in rows and pd.notna(last["event_id"]) else []
            )
            out.append(
                self.make(
                    Target(service=str(service), team=ctx.team_of(str(service))),
                    f"the burn model gives {service} {p:.0%} to page soon; without deploys {q:.0%}",
                    [
                        Evidence.of(
                            f"outlook at {last['at']}: {p:.2f}",
                            {"probability": p, "paused": q},
                            ctx.since,
                            ctx.until,
                            ids,
                        )
                    ],
                    "pause_rollout",
                    effect,
                    p,
                )
            )
        return out
