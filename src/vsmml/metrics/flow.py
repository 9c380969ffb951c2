"""Flow Framework metrics: flow time, efficiency, load (WIP), velocity and distribution.

Work items come from ``work.created`` / ``work.started`` / ``work.done`` events (``attrs.work_id``,
else the change id; ``attrs.work_type`` one of feature / defect / risk / debt):

- flow time: work started → done (hours), in the period the item was done;
- flow velocity: items done per period;
- flow load: items in progress (started, not done) at the end of each period;
- flow distribution: share of the items done in a period by work type
  (``flow_distribution_<type>``);
- flow efficiency: active ÷ total time of deployed changes (ratio of sums over the group), where
  total runs from first commit to production and active is the stage active time of
  `vsmml.metrics.stages` (coding, review, CI runs, deploy runs), in the first-commit period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.correlate.extract import attr_text, group_sum, of_kind
from vsmml.correlate.records import Correlation
from vsmml.events.schema import STR_DTYPE, TS_DTYPE
from vsmml.metrics.frames import (
    By,
    combine,
    count_metric,
    full_grid,
    group_columns,
    hours_between,
    keyed,
    positive,
    quantile_metrics,
    ratio_metric,
)
from vsmml.metrics.profiles import Profile, get_profile
from vsmml.metrics.stages import STAGES, change_stage_spans


def work_items(events: pd.DataFrame) -> pd.DataFrame:
    """One row per work item: work_id, change_id, service, team, repo, work_type, created_at,
    started_at, done_at (earliest event of each kind)."""
    work = of_kind(events, ("work.created", "work.started", "work.done"))
    wid = attr_text(work, "work_id").fillna(work["change_id"].astype(STR_DTYPE))
    frame = pd.DataFrame(
        {
            "work_id": wid.to_numpy(),
            "kind": work["kind"].astype(STR_DTYPE).to_numpy(),
            "ts": work["ts"].array,
            "change_id": work["change_id"].astype(STR_DTYPE).to_numpy(),
            "service": work["service"].astype(STR_DTYPE).to_numpy(),
            "team": work["team"].astype(STR_DTYPE).to_numpy(),
            "repo": work["repo"].astype(STR_DTYPE).to_numpy(),
            "work_type": attr_text(work, "work_type").to_numpy(),
        }
    ).dropna(subset=["work_id"])
    first = frame.groupby("work_id", sort=True).first()
    times = frame.pivot_table(index="work_id", columns="kind", values="ts", aggfunc="min")
    out = first.drop(columns=["kind", "ts"])
    for kind, col in (
        ("work.created", "created_at"),
        ("work.started", "started_at"),
        ("work.done", "done_at"),
    ):
        series = times[kind] if kind in times else pd.Series(pd.NaT, index=out.index)
        out[col] = pd.to_datetime(series.reindex(out.index), utc=True).astype(TS_DTYPE)
    return out.reset_index()


def flow_metrics(
    events: pd.DataFrame,
    corr: Correlation | None = None,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """Every Flow Framework metric as one tidy frame (efficiency only when `corr` is given)."""
    prof = get_profile(profile)
    cols = group_columns(by)
    items = work_items(events)
    parts = [flow_time(items, by, freq, prof), flow_velocity(items, by, freq)]
    parts += [flow_distribution(items, by, freq), flow_load(items, by, freq)]
    if corr is not None:
        parts.append(flow_efficiency(corr, by, freq, prof))
    return combine(parts, cols)


def flow_time(
    items: pd.DataFrame,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``flow_time_median`` / ``flow_time_p85``, hours from started (else created) to done."""
    prof = get_profile(profile)
    done = items.loc[items["done_at"].notna()]
    start = done["started_at"].fillna(done["created_at"])
    hours = positive(hours_between(start, done["done_at"], prof))
    return quantile_metrics(hours, keyed(done, done["done_at"], by, freq), prof, "flow_time")


def flow_velocity(items: pd.DataFrame, by: By = "service", freq: str | None = "W") -> pd.DataFrame:
    """``flow_velocity``: work items done per period (0 for quiet periods)."""
    cols = group_columns(by)
    done = items.loc[items["done_at"].notna()]
    keys = keyed(done, done["done_at"], by, freq)
    if keys.empty:
        return combine([], cols)
    n = keys.groupby([*cols, "period"], dropna=False).size().reindex(full_grid(keys, freq))
    return count_metric(n.fillna(0).astype("int64"), "flow_velocity", cols)


def flow_distribution(
    items: pd.DataFrame, by: By = "service", freq: str | None = "W"
) -> pd.DataFrame:
    """``flow_distribution_<type>``: share of done items of each work type (n = items done)."""
    cols = group_columns(by)
    done = items.loc[items["done_at"].notna()]
    keys = keyed(done, done["done_at"], by, freq)
    idx = [*cols, "period"]
    total = keys.groupby(idx, dropna=False).size()
    wtype = done["work_type"].fillna("unknown").to_numpy()
    parts = []
    for name in sorted(set(wtype)):
        num = keys.loc[wtype == name].groupby(idx, dropna=False).size()
        parts.append(
            ratio_metric(num.reindex(total.index), total, f"flow_distribution_{name}", cols)
        )
    return combine(parts, cols)


def flow_load(items: pd.DataFrame, by: By = "service", freq: str | None = "W") -> pd.DataFrame:
    """``flow_load``: work items in progress at the end of each period (started, not yet done).

    With ``freq=None`` it is the load at the end of the data (the last event's time).
    """
    cols = group_columns(by)
    started = items.loc[items["started_at"].notna()]
    if started.empty:
        return combine([], cols)
    if freq is None:
        end = pd.concat([started["started_at"], started["done_at"]]).max()
        wip = started["done_at"].isna() | (started["done_at"] > end)
        keys = keyed(started, started["started_at"], by, None)
        n = keys.assign(w=wip.to_numpy()).groupby([*cols, "period"], dropna=False)["w"].sum()
        return count_metric(n.astype("int64"), "flow_load", cols)
    s_keys = keyed(started, started["started_at"], by, freq)
    done = started.loc[started["done_at"].notna()]
    d_keys = keyed(done, done["done_at"], by, freq)
    grid = full_grid(pd.concat([s_keys, d_keys]), freq)
    idx = [*cols, "period"]
    delta = s_keys.groupby(idx, dropna=False).size().reindex(grid, fill_value=0) - d_keys.groupby(
        idx, dropna=False
    ).size().reindex(grid, fill_value=0)
    wip = delta.groupby(level=cols, sort=False).cumsum() if cols else delta.cumsum()
    return count_metric(wip.astype("int64"), "flow_load", cols)


def flow_efficiency(
    corr: Correlation,
    by: By = "service",
    freq: str | None = "W",
    profile: str | Profile | None = None,
) -> pd.DataFrame:
    """``flow_efficiency``: Σ active ÷ Σ (first commit → production) over deployed changes."""
    prof = get_profile(profile)
    cols = group_columns(by)
    spans = change_stage_spans(corr, prof)
    total = positive(
        hours_between(corr.changes["first_commit_at"], corr.changes["production_deployed_at"], prof)
    )
    active = spans[[f"{s}_active" for s in STAGES]].sum(axis=1, min_count=1)
    ok = (total.notna() & (total > 0) & active.notna()).to_numpy()
    keys = keyed(spans.loc[ok], spans.loc[ok, "first_commit_at"], by, freq)
    if keys.empty:
        return combine([], cols)
    idx = [*cols, "period"]
    act = np.minimum(active.loc[ok].to_numpy(), total.loc[ok].to_numpy())
    data = keys.assign(a=act, t=total.loc[ok].to_numpy())
    sums = group_sum(data, idx, ["a", "t"])
    n = data.groupby(idx, dropna=False).size()
    return ratio_metric(sums["a"], sums["t"], "flow_efficiency", cols, n=n)
