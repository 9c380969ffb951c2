"""Reads of the store that several use cases share: events, the delivery flow, SLI samples."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import correlate
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.graph.flow import FlowData, flow_data
from vsmml.pipeline.service_store import open_for_reading


def read_events(
    settings: Settings | None = None,
    *,
    kinds: Sequence[str] | None = None,
    services: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    ordered: bool = True,
) -> pd.DataFrame:
    """Events from the store under VSMML_HOME, opened for reading; an empty store is an error."""
    with open_for_reading(settings) as store:
        events = store.read_events(kinds=kinds, services=services, columns=columns, ordered=ordered)
    if events.empty:
        raise DataError("store: no events; run `vsmml demo` or `vsmml ingest` first")
    return events


def delivery_flow(settings: Settings | None = None, *, service: str | None = None) -> FlowData:
    """Stored delivery events → change records → per-change stage times (one service or all)."""
    events = read_events(settings, kinds=DELIVERY_KINDS)
    flow = flow_data(correlate(events).changes, events)
    if service is None:
        return flow
    known = sorted(set(flow.changes["service"].dropna()))
    if service not in known:
        raise DataError(f"--service: no deployed changes for {service!r}; services: {known}")
    return flow.for_service(service)


def slo_samples(
    settings: Settings | None = None, *, services: Sequence[str] | None = None
) -> pd.DataFrame:
    """Stored `slo.sample` events as (timestamp, service, good, total)."""
    with open_for_reading(settings) as store:
        return store.read_slo_samples(services=services)
