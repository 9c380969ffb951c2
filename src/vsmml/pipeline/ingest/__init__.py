"""Ingestion pipeline: read files, keep each raw payload, convert it, store events and quarantine.

`ingest_paths(store, "cdevents", ["events/"])` reads files, folders, globs or standard input
(`"-"`), stores every raw payload in `raw_payloads` *before* converting it (so a converter fix can
be replayed), converts with the source's pure connector, and writes the events and every reject
through `Store.write_events` (which validates, de-duplicates and quarantines). Work goes in
batches of `batch_size` payloads so a large file never sits in memory as one frame.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vsmml.errors import SchemaError
from vsmml.events.catalog import Catalog, attribute, parse_catalog
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES
from vsmml.events.schema import validate_events
from vsmml.pipeline.ingest.readers import expand, split_csv_rows, split_text
from vsmml.pipeline.ingest.registry import Source, Unit, get_source
from vsmml.pipeline.ingest.rules import build_rules

if TYPE_CHECKING:
    from vsmml.store import Store, WriteReport

__all__ = [
    "IngestReport",
    "ingest_paths",
    "ingest_units",
    "load_catalog",
    "located_validation",
]


def load_catalog(paths: Sequence[str | Path]) -> Catalog:
    """Read service catalogue files (our YAML or Backstage catalog-info.yaml) into one catalogue."""
    texts = []
    for path in paths:
        try:
            texts.append(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SchemaError(f"catalogue {path}: cannot read ({exc.strerror})") from exc
    return parse_catalog(texts)


_MAX_MESSAGES = 50


@dataclass
class IngestReport:
    """What one ingest did: files and payloads read, events accepted, duplicates, quarantined."""

    source: str
    files: int = 0
    payloads: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    missing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def nothing_read(self) -> bool:
        """True when not a single payload or event could be read (the CLI exits non-zero)."""
        return self.payloads == 0 and self.accepted + self.duplicates == 0

    def add(self, written: WriteReport) -> None:
        """Fold one store write into the totals."""
        self.accepted += written.accepted
        self.duplicates += written.duplicates
        self.quarantined += written.quarantined
        room = _MAX_MESSAGES - len(self.messages)
        self.messages.extend(written.messages[: max(room, 0)])

    def count_skipped(self, skipped: dict[str, int]) -> None:
        """Add a conversion's deliberately skipped records (by type) to the totals."""
        for kind, n in skipped.items():
            self.skipped[kind] = self.skipped.get(kind, 0) + n

    def summary(self) -> str:
        """One line for people: counts per outcome (skipped types listed when there are any)."""
        line = (
            f"{self.source}: {self.files} file(s), {self.payloads} payload(s) read; "
            f"accepted {self.accepted}, duplicates {self.duplicates}, "
            f"quarantined {self.quarantined}"
        )
        if self.skipped:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.skipped.items()))
            line += f", skipped {sum(self.skipped.values())} ({kinds})"
        return line


def ingest_paths(
    store: Store,
    source: str,
    paths: Sequence[str | Path],
    *,
    rules: Any = None,
    batch_size: int = 20_000,
    stdin: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> IngestReport:
    """Ingest files, folders, globs or `-` (standard input) of one source into `store`.

    `rules` is the source's rule object or a mapping of its fields (None: defaults). Paths that
    match nothing are listed in the report (and quarantined nowhere: there is no record). With a
    service `catalog`, events are attributed to services and teams before they are stored.
    """
    spec = get_source(source)
    rule_obj = build_rules(spec, rules)
    report = IngestReport(source=source)
    if spec.read is not None:
        return _ingest_whole_paths(store, spec, paths, rule_obj, report, catalog)
    max_bytes = int(getattr(rule_obj, "max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES))
    named = [p for p in paths if str(p) != "-"]
    found, report.missing = expand(named, spec.suffixes)
    report.files = len(found) + (len(paths) - len(named))

    def items() -> Iterator[Unit | Reject]:
        for item in paths:
            if str(item) == "-":
                text = "".join(stdin) if stdin is not None else sys.stdin.read()
                yield from _split_stdin(spec, text, max_bytes)
        for path in found:
            assert spec.split is not None
            yield from spec.split(path, max_bytes)

    return ingest_units(
        store, spec, items(), rule_obj, report, batch_size=batch_size, catalog=catalog
    )


def _split_stdin(spec: Source, text: str, max_bytes: int) -> Iterator[Unit | Reject]:
    event_source = spec.event_source or spec.name
    if ".csv" in spec.suffixes and ".json" not in spec.suffixes:
        yield from split_csv_rows(None, max_bytes, source=event_source, text=text)
    else:
        yield from split_text(text, "stdin", max_bytes, source=event_source)


def ingest_units(
    store: Store,
    spec: Source | str,
    items: Iterable[Unit | Reject],
    rules: Any = None,
    report: IngestReport | None = None,
    *,
    batch_size: int = 20_000,
    catalog: Catalog | None = None,
) -> IngestReport:
    """Store, convert and write raw payloads (and reader rejects) in batches.

    The HTTP service can call this with `[(location, body)]` to get the same behaviour.
    """
    spec = get_source(spec) if isinstance(spec, str) else spec
    if spec.convert is None:
        raise ValueError(f"source {spec.name!r} reads whole paths; use ingest_paths")
    rules = build_rules(spec, rules) if isinstance(rules, Mapping) else rules
    report = report or IngestReport(source=spec.name)
    units: list[Unit] = []
    rejects: list[Reject] = []
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            units.append(item)
        if len(units) + len(rejects) >= batch_size:
            _flush(store, spec, units, rejects, rules, report, catalog)
            units, rejects = [], []
    if units or rejects:
        _flush(store, spec, units, rejects, rules, report, catalog)
    return report


def _flush(
    store: Store,
    spec: Source,
    units: list[Unit],
    rejects: list[Reject],
    rules: Any,
    report: IngestReport,
    catalog: Catalog | None,
) -> None:
    assert spec.convert is not None
    if units:
        store.write_raw(spec.name, [u[1] for u in units], locations=[u[0] for u in units])
        report.payloads += len(units)
    conv = located_validation(spec.convert(units, rules) if units else Conversion())
    report.count_skipped(conv.skipped)
    conv = Conversion(events=_attributed(conv.events, catalog), rejects=[*rejects, *conv.rejects])
    report.add(store.write_events(conv.events, rejects=conv.rejects_frame()))


def _attributed(events: pd.DataFrame, catalog: Catalog | None) -> pd.DataFrame:
    """Fill service and team from the catalogue (deploy target, pipeline, repo) when given."""
    if catalog is None or events.empty:
        return events
    return attribute(events, catalog.services)


def located_validation(conv: Conversion) -> Conversion:
    """Validate converted rows here, so a refused row is quarantined under its file and line.

    Needs the converter's per-row locations (`Conversion.locations`); without them the rows
    pass through and the store validates them (naming the batch row instead).
    """
    locations = conv.locations
    if conv.events.empty or locations is None or len(locations) != len(conv.events):
        return conv
    result = validate_events(conv.events)
    if result.ok:
        return Conversion(events=result.events, rejects=conv.rejects, skipped=conv.skipped)
    refused = [
        Reject(
            source=str(row["source"] or "unknown"),
            location=str(locations[int(row["index"])]),
            field=str(row["field"]),
            reason=str(row["reason"]),
            record=str(row["record"]),
        )
        for _, row in result.quarantine_frame().iterrows()
    ]
    return Conversion(events=result.events, rejects=[*conv.rejects, *refused], skipped=conv.skipped)


def _ingest_whole_paths(
    store: Store,
    spec: Source,
    paths: Sequence[str | Path],
    rules: Any,
    report: IngestReport,
    catalog: Catalog | None = None,
) -> IngestReport:
    assert spec.read is not None
    existing = [Path(p) for p in paths if Path(p).exists()]
    report.missing = [str(p) for p in paths if not Path(p).exists()]
    report.files = len(existing)
    if not existing:
        return report
    conv = spec.read(existing, rules)
    report.payloads = len(conv.events) + len(conv.rejects)
    report.count_skipped(conv.skipped)
    events = _attributed(conv.events, catalog)
    report.add(store.write_events(events, rejects=conv.rejects_frame()))
    return report
