"""Re-convert stored raw payloads after a converter or rule fix, and retry quarantined records.

Both are idempotent: events already stored with the same content count as duplicates, a reject
already in quarantine (same source, location, field and reason) is not stored twice, and a
quarantined record that now converts cleanly is marked resolved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from vsmml.events.connectors import files
from vsmml.events.connectors.base import Conversion
from vsmml.events.schema import EVENT_COLUMNS, validate_events
from vsmml.pipeline.ingest import located_validation
from vsmml.pipeline.ingest.registry import get_source, known_sources
from vsmml.pipeline.ingest.rules import build_rules

if TYPE_CHECKING:
    from vsmml.store import Store

_CANONICAL = frozenset(EVENT_COLUMNS)


@dataclass
class ReplayReport:
    """Per source: payloads re-converted, events accepted/duplicate, new rejects, resolved."""

    payloads: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    resolved: int = 0
    skipped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        read = ", ".join(f"{s} {n}" for s, n in sorted(self.payloads.items())) or "none"
        return (
            f"payloads re-converted: {read}; accepted {self.accepted}, duplicates "
            f"{self.duplicates}, newly quarantined {self.quarantined}, resolved {self.resolved}"
        )


def _open_rejects(store: Store, source: str) -> pd.DataFrame:
    return store.read_quarantine(source=source)


def replay(
    store: Store,
    *,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
    batch_size: int = 20_000,
) -> ReplayReport:
    """Re-convert every stored raw payload (of one source, or all) with today's converters.

    `rules` maps source names to rule mappings (as in a rules file).
    """
    report = ReplayReport()
    raw = store.read_raw(source=source)
    for name, group in raw.groupby("source", sort=True):
        name = str(name)
        if name not in known_sources() or get_source(name).convert is None:
            report.skipped.append(name)
            continue
        spec = get_source(name)
        assert spec.convert is not None
        rule_obj = build_rules(spec, (rules or {}).get(name))
        units = list(zip(group["location"].astype(str), group["payload"].astype(str), strict=True))
        report.payloads[name] = len(units)
        for start in range(0, len(units), batch_size):
            batch = units[start : start + batch_size]
            conv = located_validation(spec.convert(batch, rule_obj))
            _write(store, name, conv, {u[0] for u in batch}, report)
    return report


def _write(
    store: Store, name: str, conv: Conversion, locations: set[str], report: ReplayReport
) -> None:
    """Write a re-conversion: only new rejects, and resolve what converts cleanly now."""
    sources = {r.source for r in conv.rejects} | {name}
    open_q = pd.concat([_open_rejects(store, s) for s in sorted(sources)], ignore_index=True)
    seen = set(
        zip(open_q["source"], open_q["location"], open_q["field"], open_q["reason"], strict=True)
    )
    fresh = [r for r in conv.rejects if (r.source, r.location, r.field, r.reason) not in seen]
    written = store.write_events(conv.events, rejects=Conversion(rejects=fresh).rejects_frame())
    report.accepted += written.accepted
    report.duplicates += written.duplicates
    report.quarantined += written.quarantined
    report.messages.extend(written.messages[: max(50 - len(report.messages), 0)])
    still_bad = {r.location.split("[")[0] for r in conv.rejects}
    done = open_q[open_q["location"].isin(locations) & ~open_q["location"].isin(still_bad)][
        "quarantine_id"
    ]
    if len(done):
        report.resolved += store.resolve_quarantine([int(i) for i in done])


def retry_quarantine(
    store: Store,
    *,
    ids: Sequence[int] | None = None,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
) -> ReplayReport:
    """Convert quarantined records again (with today's rules); resolve those that now land.

    A record holding a canonical event (refused by validation) is retried as a canonical row;
    any other record goes back through its source's converter. Records that fail again stay
    quarantined and are not duplicated.
    """
    report = ReplayReport()
    q = store.read_quarantine(source=source)
    if ids is not None:
        q = q[q["quarantine_id"].isin(list(ids))]
    for _, row in q.iterrows():
        conv = _retry_one(row, rules or {})
        if conv is None or conv.rejects or conv.events.empty:
            continue
        checked = validate_events(conv.events)
        if not checked.ok:
            continue
        written = store.write_events(checked.events)
        report.payloads[str(row["source"])] = report.payloads.get(str(row["source"]), 0) + 1
        report.accepted += written.accepted
        report.duplicates += written.duplicates
        report.quarantined += written.quarantined
        report.messages.extend(written.messages[: max(50 - len(report.messages), 0)])
        if written.quarantined == 0:
            report.resolved += store.resolve_quarantine([int(row["quarantine_id"])])
    return report


def _retry_one(row: pd.Series, rules: Mapping[str, Any]) -> Conversion | None:
    source, location, record = str(row["source"]), str(row["location"]), str(row["record"])
    try:
        value = json.loads(record)
    except ValueError:
        return None
    if isinstance(value, dict) and value and set(value) <= _CANONICAL:
        return files.to_events([(location, value)], files.FileRules(source=source))
    name = source if source in known_sources() else {"file": "jsonl"}.get(source)
    if name is None or get_source(name).convert is None:
        return None
    spec = get_source(name)
    assert spec.convert is not None
    return spec.convert([(location, record)], build_rules(spec, rules.get(name)))
