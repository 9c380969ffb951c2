"""The ingest use cases the CLI (and later the HTTP API) call: typed parameters and `Settings` in,
a result dataclass out. `vsmml ingest`, `vsmml replay`, `vsmml quarantine list|show|retry`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from vsmml.config import Settings
from vsmml.deferred import deferred
from vsmml.errors import DataError
from vsmml.pipeline.ingest import IngestReport, ingest_paths, load_catalog
from vsmml.pipeline.ingest.registry import stored_source
from vsmml.pipeline.ingest.replay import ReplayReport, replay, retry_quarantine
from vsmml.pipeline.ingest.rules import read_rules_file, rules_for
from vsmml.store import Store

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = deferred("pandas")

__all__ = [
    "IngestReport",
    "QuarantineListing",
    "QuarantineRecord",
    "ReplayReport",
    "list_quarantine",
    "retry",
    "run_ingest",
    "run_replay",
    "show_quarantine",
]


@dataclass(frozen=True)
class IngestRequest:
    """What `vsmml ingest` was asked: the source, its inputs, a rules file and catalogues."""

    source: str
    paths: Sequence[str]
    rules: Path | None = None
    catalogs: Sequence[Path] = ()


def run_ingest(
    settings: Settings, request: IngestRequest, *, stdin: BinaryIO | None = None
) -> IngestReport:
    """Ingest one source's files into the store under `settings.home`."""
    catalog_files = list(request.catalogs) or ([settings.catalog] if settings.catalog else [])
    services = load_catalog(catalog_files) if catalog_files else None
    rules = dict(rules_for(request.source, request.rules))
    with Store.from_settings(settings) as store, store.bulk_load():
        return ingest_paths(
            store,
            request.source,
            list(request.paths),
            rules=rules,
            catalog=services,
            stdin=stdin,
            batch_size=settings.ingest_batch_rows,
            max_depth=settings.max_json_depth,
            max_payload_bytes=settings.max_payload_bytes,
        )


def run_replay(settings: Settings, *, source: str | None, rules: Path | None) -> ReplayReport:
    """Re-convert stored raw payloads with today's converters and rules."""
    table = read_rules_file(rules) if rules else None
    with Store.from_settings(settings) as store, store.bulk_load():
        return replay(store, source=source, rules=table)


def retry(
    settings: Settings, *, ids: Sequence[int] | None, source: str | None, rules: Path | None
) -> ReplayReport:
    """Convert quarantined records again; resolve those that land, leave those that still fail."""
    table = read_rules_file(rules) if rules else None
    with Store.from_settings(settings) as store:
        return retry_quarantine(
            store, ids=ids or None, source=source, rules=table, max_depth=settings.max_json_depth
        )


@dataclass(frozen=True)
class QuarantineListing:
    """Open (or all) quarantined records, at most `limit` of them, and how many there are."""

    rows: pd.DataFrame
    total: int


def list_quarantine(
    settings: Settings, *, source: str | None, include_resolved: bool, limit: int
) -> QuarantineListing:
    """The quarantine, oldest first (read-only: it does not wait for a writer's whole run)."""
    with Store.from_settings(settings, read_only=True) as store:
        q = store.read_quarantine(source=stored_source(source), include_resolved=include_resolved)
    return QuarantineListing(rows=q.head(limit), total=len(q))


@dataclass(frozen=True)
class QuarantineRecord:
    """One quarantined record in full."""

    fields: dict[str, str]
    record: str


def show_quarantine(settings: Settings, quarantine_id: int) -> QuarantineRecord:
    """One quarantined record, or `DataError` naming the id when there is none."""
    with Store.from_settings(settings, read_only=True) as store:
        q = store.read_quarantine(include_resolved=True)
    row = q[q["quarantine_id"] == quarantine_id]
    if row.empty:
        raise DataError(
            f"no quarantined record {quarantine_id}; `vsmml quarantine list --all` shows the ids"
        )
    rec = row.iloc[0]
    names = ("quarantine_id", "received_at", "source", "location", "field", "reason", "resolved_at")
    shown = {n: _text(rec[n]) for n in names}
    return QuarantineRecord(fields=shown, record=str(rec["record"]))


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "None"
    return str(value)
