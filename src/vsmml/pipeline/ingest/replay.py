"""Re-convert stored raw payloads after a converter or rule fix, and retry quarantined records.

Both are idempotent: events already stored with the same content count as duplicates, a reject
already in quarantine is not stored again (the store keys it by content), and a quarantined
record that now converts cleanly is marked resolved. A record that still fails, however it
fails (too deep, not JSON, refused again), stays quarantined once and is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from vsmml.deferred import deferred
from vsmml.errors import VsmmlError
from vsmml.events.connectors import files
from vsmml.events.connectors.base import Conversion
from vsmml.events.schema import EVENT_COLUMNS
from vsmml.pipeline.ingest import DEFAULT_MAX_DEPTH, located_validation
from vsmml.pipeline.ingest.gc_pause import gc_paused
from vsmml.pipeline.ingest.limits import too_deep
from vsmml.pipeline.ingest.registry import get_source, known_sources, stored_source
from vsmml.pipeline.ingest.rules import build_rules

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.store import Store
else:
    pd = deferred("pandas")

_CANONICAL: Final = frozenset(EVENT_COLUMNS)


@dataclass
class ReplayReport:
    """Per source: payloads re-converted, events accepted/duplicate, rejects, resolved."""

    payloads: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    resolved: int = 0
    still_failing: int = 0
    skipped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        read = ", ".join(f"{s} {n}" for s, n in sorted(self.payloads.items())) or "none"
        line = (
            f"payloads re-converted: {read}; accepted {self.accepted}, duplicates "
            f"{self.duplicates}, quarantined {self.quarantined}, resolved {self.resolved}"
        )
        if self.still_failing:
            line += f", still failing {self.still_failing} (left in quarantine)"
        return line

    def _add(self, written: Any) -> None:
        self.accepted += written.accepted
        self.duplicates += written.duplicates
        self.quarantined += written.quarantined
        self.messages.extend(written.messages[: max(50 - len(self.messages), 0)])


def replay(
    store: Store,
    *,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
    batch_size: int = 20_000,
) -> ReplayReport:
    """Re-convert every stored raw payload (of one source, or all) with today's converters.

    `rules` maps source names to rule mappings (as in a rules file). Each batch is one
    transaction; open quarantine rows of a replayed location that now converts are resolved.
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
            with gc_paused():
                conv = located_validation(spec.convert(batch, rule_obj))
                written = store.write_events(
                    conv.events, rejects=conv.rejects_frame(), validated=True
                )
            report._add(written)
            still_bad = {r.location.split("[")[0] for r in conv.rejects}
            landed = {u[0] for u in batch} - still_bad
            report.resolved += _resolve_at(store, {r.source for r in conv.rejects} | {name}, landed)
            store.commit_point()
    return report


def _resolve_at(store: Store, sources: set[str], locations: set[str]) -> int:
    """Resolve open quarantine rows of these sources at locations that now convert cleanly."""
    if not locations:
        return 0
    frames = [store.read_quarantine(source=s) for s in sorted(sources)]
    open_q = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if open_q.empty:
        return 0
    done = open_q.loc[open_q["location"].isin(locations), "quarantine_id"]
    return store.resolve_quarantine([int(i) for i in done])


def retry_quarantine(
    store: Store,
    *,
    ids: Sequence[int] | None = None,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ReplayReport:
    """Convert quarantined records again (with today's rules); resolve those that now land.

    A record holding a canonical event (refused by validation) is retried as a canonical row;
    any other record goes back through its source's converter. Records that fail again, in any
    way, stay quarantined (not duplicated) and are counted as still failing.
    """
    report = ReplayReport()
    q = store.read_quarantine(source=stored_source(source))
    if ids is not None:
        q = q[q["quarantine_id"].isin(list(ids))]
    landed: list[tuple[int, Conversion]] = []
    for _, row in q.iterrows():
        conv = _retry_one(row, rules or {}, max_depth)
        if conv is None or conv.rejects or conv.events.empty:
            report.still_failing += 1
            continue
        landed.append((int(row["quarantine_id"]), conv))
        src = str(row["source"])
        report.payloads[src] = report.payloads.get(src, 0) + 1
    if not landed:
        return report
    events = pd.concat([c.events for _, c in landed], ignore_index=True)
    written = store.write_events(events, validated=True)
    report._add(written)
    if written.quarantined == 0:
        report.resolved += store.resolve_quarantine([qid for qid, _ in landed])
    return report


def _retry_one(row: pd.Series, rules: Mapping[str, Any], max_depth: int) -> Conversion | None:
    """Today's conversion of one quarantined record, validated; None when it cannot be tried."""
    source, location, record = str(row["source"]), str(row["location"]), str(row["record"])
    if too_deep(record, max_depth) is not None:
        return None
    try:
        value = json.loads(record)
    except (ValueError, RecursionError):
        return None
    try:
        if isinstance(value, dict) and value and set(value) <= _CANONICAL:
            conv = files.to_events([(location, value)], files.FileRules(source=source))
        else:
            name = source if source in known_sources() else {"file": "jsonl"}.get(source)
            if name is None or get_source(name).convert is None:
                return None
            spec = get_source(name)
            assert spec.convert is not None
            conv = spec.convert([(location, record)], build_rules(spec, rules.get(name)))
        return located_validation(conv)
    except (VsmmlError, ValueError, TypeError, KeyError, RecursionError):
        return None
