"""The delivery context the store knows for a change at the release gate, or that it is unknown.

The change is found by its sha among the stored events of the last `LOOKBACK` (or its service
is given). When the store has its change record, the context is `change_features`' row, the
definitions the risk model was trained on; what that row cannot know yet (the change has not
been deployed) is estimated as if it were deployed now: hours since the service's last
production deploy, and a batch of the changes merged since then plus this one. Without a store,
with the store held by a writer, or with the change and its service unknown, every value is
unknown (None) and the gate says why. This module imports pandas and DuckDB; the gate imports it
only when a store exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import correlate
from vsmml.errors import VsmmlError
from vsmml.events.change_metrics import CONTEXT_COLUMNS
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.features.change_features import change_features
from vsmml.metrics.pipeline import pipeline_runs
from vsmml.store import Store

LOOKBACK: Final = pd.Timedelta(days=60)
FLAKY_WINDOW: Final = pd.Timedelta(days=14)
FAILURE_WINDOW: Final = pd.Timedelta(days=28)


@dataclass(frozen=True)
class DeliveryContext:
    """Context values (None = unknown), where they came from, and what the change is."""

    values: dict[str, float | None]
    source: str
    service: str | None = None
    change_id: str | None = None
    fixed_flakiness: float | None = None
    notes: list[str] = field(default_factory=list)


def unknown(source: str, service: str | None = None) -> DeliveryContext:
    """Every context value unknown, with the reason."""
    return DeliveryContext(dict.fromkeys(CONTEXT_COLUMNS), source, service)


def _finite(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def delivery_context(
    settings: Settings, sha: str, now: pd.Timestamp, service: str | None = None
) -> DeliveryContext:
    """The context of the change `sha` from the store under `settings.home` (see above)."""
    if not settings.store_path.is_file():
        return unknown(f"no store at {settings.store_path}", service)
    try:
        with Store.from_settings(settings, read_only=True) as store:
            events = store.read_events(since=now - LOOKBACK, until=now, kinds=DELIVERY_KINDS)
    except VsmmlError as exc:
        return unknown(f"store not readable ({exc})", service)
    mine = events.loc[(events["sha"].astype(str) == sha).to_numpy(dtype=bool)]
    change_id = next((str(c) for c in mine["change_id"].dropna()), None)
    found = next((str(s) for s in mine["service"].dropna()), None)
    service = service or found
    if service is None:
        return unknown("the store knows neither this commit nor its service (give --service)")
    events = events.loc[(events["service"].astype(str) == service).to_numpy(dtype=bool)]
    if events.empty:
        return unknown(
            f"the store has no events of service {service!r} in the last 60 days", service
        )
    return _from_events(events, sha, change_id, service, now)


def _from_events(
    events: pd.DataFrame, sha: str, change_id: str | None, service: str, now: pd.Timestamp
) -> DeliveryContext:
    corr = correlate(events)
    feats = change_features(corr.changes, events, corr.deployments)
    row = feats.loc[(corr.changes["sha"].astype(str) == sha).to_numpy(dtype=bool)]
    values: dict[str, float | None] = dict.fromkeys(CONTEXT_COLUMNS)
    notes: list[str] = []
    if len(row):
        values |= {c: _finite(row[c].iloc[0]) for c in CONTEXT_COLUMNS if c in row}
        change_id = change_id or str(row["change_id"].iloc[0])
    else:
        notes.append("the change is not in the store yet: review depth unknown")
    runs = pipeline_runs(events)
    recent = runs.loc[
        ((runs["finished_at"] >= now - FLAKY_WINDOW) & (runs["finished_at"] < now)).to_numpy(bool)
    ]
    fixed = None
    if len(recent):
        failed = ~recent["success"].to_numpy(dtype=bool)
        if values["pipeline_flakiness"] is None:
            values["pipeline_flakiness"] = float(failed.mean())
        fixed = float((failed & ~recent["flaky"].to_numpy(dtype=bool)).mean())
    prod = corr.deployments
    prod = prod.loc[
        ((prod["env"] == "production") & ~prod["is_rollback"].astype(bool)).to_numpy(bool)
    ]
    if len(prod) and values["hours_since_last_deploy"] is None:
        last = prod["started_at"].max()
        values["hours_since_last_deploy"] = float((now - last).total_seconds() / 3600.0)
        merged = corr.changes["merged_at"]
        waiting = int(((merged > last) & (corr.changes["sha"].astype(str) != sha)).sum())
        if values["deploy_batch_size"] is None:
            values["deploy_batch_size"] = float(waiting + 1)
        notes.append("not deployed yet: deploy batch and hours since the last deploy as if now")
    if values["service_recent_failure_rate"] is None:
        ch = corr.changes
        shipped = ch.loc[((ch["production_deploy_started_at"] >= now - FAILURE_WINDOW)
                          & (ch["production_deploy_started_at"] < now)).to_numpy(bool)]  # fmt: skip
        if len(shipped):
            values["service_recent_failure_rate"] = float(shipped["failed"].fillna(False).mean())
    return DeliveryContext(values, "store", service, change_id, fixed, notes)
