"""Ingestion pipeline: read files, keep each raw payload, convert it, store events and quarantine.

`ingest_paths(store, "cdevents", ["events/"])` reads files, folders, globs or standard input
(`"-"`) as a stream, in batches of `batch_size` records. Each batch is checked (size and
nesting limits, before anything parses it), converted by the source's pure connector, validated
once (a refused row is named by its file and line) and written in ONE transaction covering
`raw_payloads`, `events` and `quarantine`: a crash leaves whole batches, and re-ingesting the
same input leaves all three tables unchanged. Canonical JSON Lines and CSV take a vectorised
path in DuckDB (`pipeline.ingest.canonical`). Every record read is accounted for: accepted,
duplicate, quarantined or skipped (known types a connector ignores on purpose, by type).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import orjson

from vsmml.deferred import deferred
from vsmml.errors import SchemaError
from vsmml.events.catalog import Catalog, attribute, parse_catalog
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES, clip
from vsmml.events.schema import validate_events
from vsmml.pipeline.ingest import limits
from vsmml.pipeline.ingest.batches import Prepared, kept_units
from vsmml.pipeline.ingest.gc_pause import gc_paused
from vsmml.pipeline.ingest.readers import expand, stdin_units
from vsmml.pipeline.ingest.registry import Source, Unit, get_source
from vsmml.pipeline.ingest.rules import build_rules
from vsmml.pipeline.ingest.writer import BatchWriter
from vsmml.store.sql import validation_rejects
from vsmml.store.writes import raw_table

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.store import Store, WriteReport
else:
    pd = deferred("pandas")

__all__ = [
    "DEFAULT_BATCH",
    "IngestReport",
    "ingest_paths",
    "ingest_units",
    "load_catalog",
    "located_validation",
]

DEFAULT_BATCH: Final = 250_000
BATCH_BYTES: Final = 64 * 2**20
"""A batch also ends when its payloads reach this many bytes (webhooks are 10-30 KB each)."""
DEFAULT_MAX_DEPTH: Final = 64
_MAX_MESSAGES: Final = 50


def load_catalog(paths: Sequence[str | Path]) -> Catalog:
    """Read service catalogue files (our YAML or Backstage catalog-info.yaml) into one catalogue."""
    texts = []
    for path in paths:
        try:
            texts.append(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise SchemaError(f"catalogue {path}: cannot read ({why})") from exc
    return parse_catalog(texts, names=[f"catalogue {p}" for p in paths])


@dataclass
class IngestReport:
    """What one ingest did. Every record read is accepted, a duplicate, quarantined or skipped.

    `payloads` are the raw payloads read and kept (a line, a row, a document); `records` what
    the input held (a GitHub push payload holds one record per commit; a line refused before
    parsing is one record), the unit the four outcomes count.
    """

    source: str
    files: int = 0
    payloads: int = 0
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    missing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    raw_kept: int = 0
    batches: int = 0
    worker_batches: int = 0
    """Batches prepared in worker processes (`VSMML_INGEST_WORKERS`); the rest in this one."""
    notes: list[str] = field(default_factory=list)
    """Lines for people about what was read (tags that did not match the release rule ...)."""
    warnings: list[str] = field(default_factory=list)
    """What may not be what the user meant (an empty catalogue file attributes nothing)."""

    @property
    def nothing_read(self) -> bool:
        """True when not a single payload or event could be read (the CLI exits non-zero)."""
        return self.payloads == 0 and self.accepted + self.duplicates == 0

    @property
    def skipped_total(self) -> int:
        """Records skipped on purpose, all types together."""
        return sum(self.skipped.values())

    @property
    def balanced(self) -> bool:
        """Conservation: records read == accepted + duplicates + quarantined + skipped."""
        outcomes = self.accepted + self.duplicates + self.quarantined + self.skipped_total
        return self.records == outcomes

    def add(self, written: WriteReport) -> None:
        """Fold one store write into the totals."""
        self.accepted += written.accepted
        self.duplicates += written.duplicates
        self.quarantined += written.quarantined
        self.raw_kept += written.raw_kept
        room = _MAX_MESSAGES - len(self.messages)
        self.messages.extend(written.messages[: max(room, 0)])

    def count_skipped(self, skipped: Mapping[str, int]) -> None:
        """Add a conversion's deliberately skipped records (by type) to the totals."""
        for kind, n in skipped.items():
            self.skipped[kind] = self.skipped.get(kind, 0) + n

    def summary(self) -> str:
        """One line for people: records read and the four outcomes (skipped listed by type)."""
        read = f"{self.records} record(s) read"
        if self.payloads != self.records:
            read = f"{self.payloads} payload(s), {read}"
        line = (
            f"{self.source}: {self.files} file(s), {read}; accepted {self.accepted}, "
            f"duplicates {self.duplicates}, quarantined {self.quarantined}, "
            f"skipped {self.skipped_total}"
        )
        if self.skipped:
            line += " (" + ", ".join(f"{k} {n}" for k, n in sorted(self.skipped.items())) + ")"
        return line


@dataclass(frozen=True)
class Limits:
    """What a payload may be before it is parsed: size in bytes and JSON nesting depth."""

    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


def ingest_paths(
    store: Store,
    source: str,
    paths: Sequence[str | Path],
    *,
    rules: Any = None,
    batch_size: int = DEFAULT_BATCH,
    stdin: Iterable[str] | BinaryIO | None = None,
    catalog: Catalog | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_payload_bytes: int | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Ingest files, folders, globs or `-` (standard input) of one source into `store`.

    `rules` is the source's rule object or a mapping of its fields (None: defaults). Paths that
    match nothing are listed in the report (and quarantined nowhere: there is no record). With a
    service `catalog`, events are attributed to services and teams before they are stored.
    `workers`: processes that prepare webhook batches (see `ingest_units`).
    """
    spec = get_source(source)
    rule_obj = build_rules(spec, rules, max_payload_bytes=max_payload_bytes)
    report = IngestReport(source=source)
    if catalog is not None:
        report.warnings.extend(catalog.warnings)
    if spec.read is not None:
        return _ingest_whole_paths(store, spec, paths, rule_obj, report, catalog)
    own = getattr(rule_obj, "max_payload_bytes", None)
    lim = Limits(int(own or max_payload_bytes or DEFAULT_MAX_PAYLOAD_BYTES), max_depth)
    named = [p for p in paths if str(p) != "-"]
    found, report.missing = expand(named, spec.suffixes)
    report.files = len(found) + (len(paths) - len(named))
    if spec.canonical:
        from vsmml.pipeline.ingest.canonical import ingest_canonical

        stream = _binary(stdin) if len(named) < len(paths) else None
        return ingest_canonical(
            store, spec, found, rule_obj, report, lim, batch_size, catalog, stdin=stream
        )
    event_source = spec.event_source or spec.name

    def items() -> Iterator[Unit | Reject]:
        if len(named) < len(paths):
            stream = _binary(stdin)
            yield from stdin_units(spec.suffixes, lim.max_bytes, source=event_source, stream=stream)
        for path in found:
            assert spec.split is not None
            yield from spec.split(path, lim.max_bytes)

    return ingest_units(
        store,
        spec,
        items(),
        rule_obj,
        report,
        batch_size=batch_size,
        catalog=catalog,
        limits=lim,
        workers=workers,
    )


def _binary(stdin: Iterable[str] | BinaryIO | None) -> BinaryIO:
    """Standard input (or a test's stand-in) as a binary stream."""
    import io

    if stdin is None:
        return sys.stdin.buffer
    if hasattr(stdin, "read") and isinstance(stdin.read(0), bytes):
        return stdin  # type: ignore[return-value]
    return io.BytesIO("".join(stdin).encode("utf-8", "surrogatepass"))  # type: ignore[arg-type]


def ingest_units(
    store: Store,
    spec: Source | str,
    items: Iterable[Unit | Reject],
    rules: Any = None,
    report: IngestReport | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    catalog: Catalog | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Check, keep, convert and write raw payloads (and reader rejects) in batches.

    The HTTP service can call this with `[(location, body)]` to get the same behaviour. Batches
    after the first are prepared in `workers` processes (None: `VSMML_INGEST_WORKERS` if set,
    else `workers.auto_workers()`, used only for batches of several MB; 0: all in this
    process); the result is the same either way.
    """
    spec = get_source(spec) if isinstance(spec, str) else spec
    if spec.convert is None:
        raise ValueError(f"source {spec.name!r} reads whole paths; use ingest_paths")
    rules = build_rules(spec, rules) if isinstance(rules, Mapping) or rules is None else rules
    lim = limits or Limits(int(getattr(rules, "max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES)))
    report = report or IngestReport(source=spec.name)
    batch: list[Unit | Reject] = []
    size = 0

    def fold(written: WriteReport) -> None:
        report.add(written)
        report.batches += 1

    def write(done: Iterable[tuple[list[Unit | Reject], Prepared]], *, last: bool) -> None:
        ready = list(done)
        for i, (given, prepared) in enumerate(ready):
            job = _job(store, spec, given, prepared, report, catalog)
            writer.write(job, last=last and i == len(ready) - 1)

    from vsmml.pipeline.ingest.workers import Preparer, auto_workers, default_workers

    asked = default_workers() if workers is None else workers
    count = auto_workers() if asked is None else asked
    preparer = Preparer(spec, rules, lim, count, always=asked is not None, overlap=workers is None)
    with BatchWriter(fold) as writer, preparer:
        for item in items:
            batch.append(item)
            if not isinstance(item, Reject):
                size += len(item[1])
            if len(batch) >= batch_size or size >= BATCH_BYTES:
                write(preparer.submit(batch, more=True), last=False)
                batch, size = [], 0
        tail = list(preparer.submit(batch, more=False)) if batch else []
        write([*tail, *preparer.drain()], last=True)
    report.worker_batches += preparer.remote
    return report


def limits_check(source: str, unit: Unit, lim: Limits) -> Reject | None:
    """The reject of a payload above the size or nesting limit (checked before parsing)."""
    return limits.check(source, unit[0], unit[1], max_bytes=lim.max_bytes, max_depth=lim.max_depth)


def _job(
    store: Store,
    spec: Source,
    items: list[Unit | Reject],
    prepared: Prepared,
    report: IngestReport,
    catalog: Catalog | None,
) -> Callable[[], WriteReport]:
    """Count a prepared batch in `report`; return the job that writes its raw payloads, events
    and quarantine in one transaction."""
    with gc_paused():
        report.payloads += prepared.payloads
        report.records += prepared.records
        report.count_skipped(prepared.skipped)
        events = _attributed(prepared.events, catalog)
        units = kept_units(items, prepared.refused)
        raw = raw_table(spec.name, [u[1] for u in units], [u[0] for u in units])
        refused = Conversion(rejects=prepared.rejects).rejects_frame()

    def write() -> WriteReport:
        written = store.write_events(events, rejects=refused, raw=raw, validated=True)
        store.commit_point()
        return written

    return write


def _convert(spec: Source, units: list[tuple[str, Any]], rules: Any) -> Conversion:
    """Convert a batch; when the connector fails on it, convert payload by payload so one
    record that trips a connector bug is quarantined (naming the bug) and the others land."""
    assert spec.convert is not None
    try:
        return spec.convert(units, rules)
    except Exception:  # a connector bug: isolate the record(s) that cause it
        out = Conversion(locations=[])
        for where, value in units:
            try:
                one = spec.convert([(where, value)], rules)
            except Exception as exc:
                reason = (
                    f"could not be converted ({type(exc).__name__}: {exc}); this is a bug in"
                    f" the {spec.name} connector, please report it"
                )
                text = value if isinstance(value, str) else orjson.dumps(value).decode()
                out.rejects.append(Reject(spec.name, where, "payload", reason, clip(text)))
                continue
            out = out.extend(one)
        return out


def parse_object(text: str) -> Any:
    """A payload parsed once, fast (orjson), when it is one JSON object; otherwise its text, so
    the connector parses it and explains what is wrong exactly as before (orjson refuses what
    Python's `json` would accept, NaN or huge integers, only by falling back here)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, dict) else text


def _attributed(events: pd.DataFrame, catalog: Catalog | None) -> pd.DataFrame:
    """Fill service and team from the catalogue (deploy target, pipeline, repo) when given."""
    if catalog is None or events.empty:
        return events
    return attribute(events, catalog.services)


def located_validation(conv: Conversion) -> Conversion:
    """Validate converted rows once, so a refused row is quarantined under its file and line.

    Uses the converter's per-row locations (`Conversion.locations`); rows without them are
    named `record <i>`. Returns the valid events in canonical form with their locations, plus
    every reject.
    """
    if conv.events.empty:
        return Conversion(rejects=list(conv.rejects), locations=[], skipped=dict(conv.skipped))
    locations = conv.locations
    if locations is None or len(locations) != len(conv.events):
        locations = [f"record {i}" for i in range(len(conv.events))]
    result = validate_events(conv.events)
    if result.ok:
        return Conversion(result.events, conv.rejects, list(locations), conv.skipped)
    frame = validation_rejects(result, locations)
    refused = [
        Reject(**{str(k): str(v) for k, v in row.items()}) for row in frame.to_dict("records")
    ]
    bad = {r.index for r in result.rejections}
    kept = [where for i, where in enumerate(locations) if i not in bad]
    return Conversion(result.events, [*conv.rejects, *refused], kept, conv.skipped)


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
    report.notes.extend(conv.notes)
    report.payloads = len(conv.events) + len(conv.rejects)
    report.records = report.payloads + sum(conv.skipped.values())
    report.count_skipped(conv.skipped)
    checked = located_validation(conv)
    events = _attributed(checked.events, catalog)
    refused = Conversion(rejects=checked.rejects).rejects_frame()
    report.add(store.write_events(events, rejects=refused, validated=True))
    report.batches += 1
    return report
