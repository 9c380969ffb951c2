"""The DORA keys per service / team / repo and period, under a named metric profile.

All functions take a `Correlation` (see `vsmml.correlate.correlate`) and return tidy frames
(`vsmml.metrics.frames`). Definitions (``vsmml`` profile; other profiles switch the parts named
in `vsmml.metrics.profiles.Profile`):

- deployments: successful production deployments that are not rollbacks, counted in the period
  the deployment finished; ``deployment_days`` counts days with at least one.
- lead time for changes: first commit → the first successful production deployment that shipped
  the change (hours), counted in the period of that deployment (``devlake``: the changes of a
  scope's first deployment get none).
- change failure rate: Σ failure weight ÷ deployments, where a deployment's weight is 1 when it
  was rolled back, a change it shipped was reverted (git: a later release shipped the revert) or
  an incident names it, else the confidence of the time-window incident link.
- failed-deployment recovery time: failed deployment finished → restored (the earlier of its
  rollback and the resolution of its incident).
- time to restore: incident opened → resolved, for every incident (caused by a deployment or not).
- deployment rework rate: share of production deployments (rollbacks included) that were
  unplanned: rollbacks, deployments that shipped a revert of an earlier deployment's change, and
  deployments finished while an incident of the same service was open.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate.extract import group_sum, lookup, member
from vsmml.correlate.links import scope_of
from vsmml.correlate.records import Correlation
from vsmml.metrics.frames import (
    By,
    combine,
    count_metric,
    empty_tidy,
    full_grid,
    group_columns,
    hours_between,
    keyed,
    period_start,
    positive,
    quantile_metrics,
    ratio_metric,
)
from vsmml.metrics.profiles import Profile, get_profile

HOUR: Final = 1.0
DAY_H: Final = 24.0
WEEK_H: Final = 7 * DAY_H
MONTH_H: Final = 30 * DAY_H


def _profiled(corr: Correlation, profile: Profile) -> Correlation:
    return corr.relink(profile.incident_linking, profile.window_hours)


def production_deployments(corr: Correlation, profile: str | Profile | None = None) -> pd.DataFrame:
    """Successful production deployments that are not rollbacks (every profile counts them)."""
    get_profile(profile)
    deps = corr.deployments
    mask = (deps["env"] == "production") & (deps["status"] == "success") & ~deps["is_rollback"]
    return deps.loc[mask.to_numpy(dtype=bool)]


def _first_of_scope(deps: pd.DataFrame) -> np.ndarray:
    order = deps.sort_values(["finished_at", "deploy_id"], kind="stable")
    scope = scope_of(order)
    first = ~scope.duplicated()
    ids = set(order.loc[first.to_numpy(), "deploy_id"])
    return member(deps["deploy_id"], ids)


def deployment_frequency(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``deployments``, ``deployment_days`` and ``deployment_frequency`` (the profile's unit).

    Periods without a deployment are listed with 0 between the first and last period seen.
    """
    prof = get_profile(profile)
    cols = group_columns(by)
    deps = production_deployments(corr, prof)
    keys = keyed(deps, deps["finished_at"], by, freq)
    if keys.empty:
        return combine([], cols)
    grid = full_grid(keys, freq)
    idx = [*cols, "period"]
    n = keys.groupby(idx, sort=True, dropna=False).size().reindex(grid, fill_value=0)
    days = keys.assign(day=deps["finished_at"].dt.floor("D").to_numpy())
    n_days = days.groupby(idx, sort=True, dropna=False)["day"].nunique().reindex(grid, fill_value=0)
    chosen = n if prof.frequency_unit == "deployments" else n_days
    return combine(
        [
            count_metric(n, "deployments", cols),
            count_metric(n_days, "deployment_days", cols),
            count_metric(chosen, "deployment_frequency", cols),
        ],
        cols,
    )


def change_lead_times(corr: Correlation, profile: str | Profile | None = None) -> pd.DataFrame:
    """Per deployed change: change_id, service, team, repo, start, deployed_at, lead_time_h.

    The start follows the profile (first commit, PR opened, or merge; a trunk commit without a PR
    starts at its commit for every rule); changes shipped in a deployment the profile does not
    count are left out.
    """
    prof = get_profile(profile)
    ch = corr.changes
    deps = production_deployments(corr, prof)
    if not prof.count_first_deployment:
        deps = deps.loc[~_first_of_scope(deps)]
    ch = ch.loc[member(ch["production_deploy_id"], deps["deploy_id"])]
    start_col = {"first_commit": "first_commit_at", "opened": "opened_at", "merged": "merged_at"}
    start = ch[start_col[prof.lead_time_start]].fillna(ch["first_commit_at"])
    out = ch[["change_id", "service", "team", "repo", "production_deploy_id"]].copy()
    out["start"] = start
    out["deployed_at"] = ch["production_deployed_at"]
    if prof.lead_time_parts:
        lead = _summed_parts(ch, start, prof)
    else:
        lead = positive(hours_between(start, ch["production_deployed_at"], prof))
    if prof.span_rounding == "floor_minute":
        lead = lead.where(lead > 0)
    out["lead_time_h"] = lead
    out = out.loc[out["lead_time_h"].notna().to_numpy() | (prof.span_rounding != "floor_minute")]
    return out.reset_index(drop=True)


_PARTS: Final = {
    "first_commit": ("first_commit_at", "opened_at", "merged_at"),
    "opened": ("opened_at", "merged_at"),
    "merged": ("merged_at",),
}


def _summed_parts(ch: pd.DataFrame, start: pd.Series, prof: Profile) -> pd.Series:
    """Lead time as the sum of its parts (start → opened → merged → deployed), each rounded on
    its own; a missing or negative part adds nothing (DevLake's ``pr_cycle_time``)."""
    marks = [
        start,
        *(ch[c] for c in _PARTS[prof.lead_time_start][1:]),
        ch["production_deployed_at"],
    ]
    total = pd.Series(0.0, index=ch.index)
    for a, b in pairwise(marks):
        total = total + positive(hours_between(a, b, prof)).fillna(0.0)
    return total.where(ch["production_deployed_at"].notna())


def _aggregated(
    values: pd.Series,
    frame: pd.DataFrame,
    ts: pd.Series,
    by: By,
    freq: str | None,
    prof: Profile,
    name: str,
) -> pd.DataFrame:
    """Median and p85 of `values` per group and period of `ts`, under the profile's
    `range_aggregation`: pooled, or over the daily medians (then ``n`` counts days)."""
    if prof.range_aggregation == "pooled" or freq == "D":
        return quantile_metrics(values, keyed(frame, ts, by, freq), prof, name)
    cols = group_columns(by)
    days = keyed(frame, ts, by, "D")
    ok = values.notna().to_numpy()
    data = days.loc[ok].assign(_v=values.loc[ok].to_numpy(dtype="float64"))
    if data.empty:
        return empty_tidy(cols)
    daily = data.groupby([*cols, "period"], sort=True, dropna=False)["_v"].quantile(
        0.5, interpolation=prof.interpolation
    )
    per_day = daily.reset_index()
    keys = per_day[cols].copy()
    keys["period"] = period_start(per_day["period"], freq)
    return quantile_metrics(per_day["_v"], keys, prof, name)


def lead_time(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``lead_time_median`` and ``lead_time_p85`` in hours per group and period of deployment
    (GitLab: of the daily medians)."""
    prof = get_profile(profile)
    lt = change_lead_times(corr, prof)
    return _aggregated(lt["lead_time_h"], lt, lt["deployed_at"], by, freq, prof, "lead_time")


def _failure_weight(corr: Correlation, deps: pd.DataFrame, profile: Profile) -> pd.Series:
    """Per counted deployment, how much of a failure it is under the profile's incident rule."""
    linked = _profiled(corr, profile)
    per = linked.deployments.set_index("deploy_id")
    weight = deps["deploy_id"].map(per["failure_weight"]).fillna(0.0)
    if profile.incident_linking != "confidence":
        # compatible profiles count incident-linked deployments only, not bare rollbacks
        inc = linked.incidents
        hit = set(inc.loc[inc["deploy_id_linked"].notna(), "deploy_id_linked"])
        weight = pd.Series(member(deps["deploy_id"], hit), index=deps.index).astype("float64")
    return weight.astype("float64")


def change_failure_rate(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``change_failure_rate``: failed deployments ÷ deployments (n = deployments).

    Under ``one_to_one`` incident linking (GitLab) the numerator is the number of incidents
    opened in the group and period, whatever their cause, and the denominator is never below one
    (``SUM(incidents_count) / GREATEST(SUM(deployment_frequency), 1)``): a period with incidents
    and no deployment has a rate of its incident count.
    """
    prof = get_profile(profile)
    cols = group_columns(by)
    deps = production_deployments(corr, prof)
    keys = keyed(deps, deps["finished_at"], by, freq)
    idx = [*cols, "period"]
    den = keys.groupby(idx, sort=True, dropna=False).size()
    if prof.incident_linking == "one_to_one":
        inc = corr.incidents
        ikeys = keyed(inc, inc["opened_at"], by, freq)
        num = ikeys.groupby(idx, sort=True, dropna=False).size()
        return _at_least_one_deployment(num, den, cols)
    else:
        weight = _failure_weight(corr, deps, prof)
        num = group_sum(keys.assign(w=weight.to_numpy()), idx, ["w"])["w"]
    if den.empty:
        return combine([], cols)
    return ratio_metric(num.reindex(den.index), den, "change_failure_rate", cols)


def _at_least_one_deployment(num: pd.Series, den: pd.Series, cols: list[str]) -> pd.DataFrame:
    """incidents ÷ max(deployments, 1) for every group and period with either (n = deployments)."""
    both = pd.DataFrame({"num": num, "den": den}).fillna(0.0)
    if both.empty:
        return combine([], cols)
    value = both["num"] / both["den"].clip(lower=1.0)
    return ratio_metric(value, pd.Series(1.0, index=both.index), "change_failure_rate", cols,
                        n=both["den"])  # fmt: skip


def recovery_time(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``recovery_time_median``/``_p85`` (hours): failed deployment finished → restored.

    With ``recovery_per_incident`` (DevLake) one value per linked, resolved incident: its
    deployment finished → the incident resolved. Counted in the period the deployment finished.
    """
    prof = get_profile(profile)
    linked = _profiled(corr, prof)
    deps = production_deployments(linked, prof)
    if prof.recovery_per_incident:
        inc = linked.incidents
        inc = inc.loc[
            member(inc["deploy_id_linked"], deps["deploy_id"]) & inc["resolved_at"].notna()
        ]
        per = deps.drop_duplicates("deploy_id").set_index("deploy_id")
        cols = [c for c in ("service", "team", "repo", "finished_at") if c in per.columns]
        rows = pd.DataFrame({c: lookup(inc["deploy_id_linked"], per[c]) for c in cols})
        ends = inc["resolved_at"]
    else:
        is_failed = (_failure_weight(corr, deps, prof) >= 0.5).to_numpy()
        rows = deps.loc[is_failed & deps["restored_at"].notna().to_numpy()]
        ends = rows["restored_at"]
    spans = hours_between(rows["finished_at"], ends, prof, prof.incident_rounding)
    keys = keyed(rows, rows["finished_at"], by, freq)
    return quantile_metrics(positive(spans), keys, prof, "recovery_time")


def time_to_restore(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``time_to_restore_median``/``_p85`` (hours): incident opened → resolved, every incident.

    Profile switches: ``incident_start`` (Four Keys starts at the root cause's deployment when
    that is earlier), ``incident_rounding``, ``restore_period`` (GitLab counts an incident on
    the day it was resolved) and ``range_aggregation`` (GitLab: median of daily medians).
    """
    prof = get_profile(profile)
    inc = corr.incidents.loc[corr.incidents["resolved_at"].notna()]
    start = inc["opened_at"]
    if prof.incident_start == "root_cause_deploy":
        linked = _profiled(corr, prof)
        link = lookup(
            inc["incident_id"],
            linked.incidents.drop_duplicates("incident_id").set_index("incident_id")[
                "deploy_id_linked"
            ],
        )
        fin = linked.deployments.drop_duplicates("deploy_id").set_index("deploy_id")["finished_at"]
        shipped = lookup(link, fin)
        earlier = (shipped < start).fillna(False).to_numpy(dtype=bool)
        start = start.where(~earlier, shipped)
    hours = positive(hours_between(start, inc["resolved_at"], prof, prof.incident_rounding))
    when = inc["resolved_at"] if prof.restore_period == "resolved" else start
    return _aggregated(hours, inc, when, by, freq, prof, "time_to_restore")


def rework_flags(corr: Correlation) -> pd.DataFrame:
    """Production deployments (rollbacks included) with ``rework``: a rollback, a deployment that
    shipped a revert of a change an earlier one shipped, or one finished while an incident of
    the same scope was open (a fix-forward)."""
    deps = corr.deployments
    mask = (deps["env"] == "production") & (deps["status"] == "success")
    deps = deps.loc[mask.to_numpy(dtype=bool)].copy()
    planned_back = deps["is_rollback"].to_numpy(dtype=bool)
    if "reverts_shipped" in deps:
        planned_back = planned_back | (deps["reverts_shipped"].to_numpy() > 0)
    inc = corr.incidents
    left = pd.DataFrame(
        {
            "row": np.arange(len(deps)),
            "scope": scope_of(deps).to_numpy(),
            "at": deps["finished_at"].array,
        }
    ).sort_values("at", kind="stable")
    ends = inc["resolved_at"].fillna(pd.Timestamp.max.tz_localize("UTC").floor("D"))
    right = pd.DataFrame(
        {"scope": scope_of(inc).to_numpy(), "at": inc["opened_at"].array, "end": ends.array}
    ).sort_values("at", kind="stable")
    right["end"] = right.groupby("scope")["end"].cummax()
    if right.empty or left.empty:
        deps["rework"] = planned_back
        return deps
    hit = pd.merge_asof(left, right, on="at", by="scope", direction="backward").sort_values("row")
    during = (hit["end"] >= hit["at"]).fillna(False).to_numpy(dtype=bool)
    deps["rework"] = planned_back | during
    return deps


def rework_rate(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``rework_rate``: unplanned production deployments ÷ all production deployments."""
    get_profile(profile)
    cols = group_columns(by)
    deps = rework_flags(corr)
    keys = keyed(deps, deps["finished_at"], by, freq)
    if keys.empty:
        return combine([], cols)
    idx = [*cols, "period"]
    g = keys.assign(r=deps["rework"].astype("float64").to_numpy()).groupby(
        idx, sort=True, dropna=False
    )["r"]
    return ratio_metric(g.sum(), g.size(), "rework_rate", cols)


def dora(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Every DORA key as one tidy frame."""
    prof = get_profile(profile)
    cols = group_columns(by)
    parts = [
        f(corr, by, freq, prof)
        for f in (
            deployment_frequency,
            lead_time,
            change_failure_rate,
            recovery_time,
            time_to_restore,
            rework_rate,
        )
    ]
    return combine(parts, cols)
