"""The canonical JSON Lines / CSV path: files read in blocks (`canonical_lines`,
`canonical_csv`), checked and normalised in DuckDB SQL (`vsmml.store.canonical`), written one
transaction per batch; rows that are not regular go through the Python reference converter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vsmml.events.catalog import Catalog
from vsmml.events.connectors import files
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.pipeline.ingest.canonical_csv import csv_batches
from vsmml.pipeline.ingest.canonical_lines import jsonl_batches
from vsmml.store.canonical import Defaults

if TYPE_CHECKING:
    from vsmml.pipeline.ingest import IngestReport, Limits
    from vsmml.pipeline.ingest.registry import Source
    from vsmml.store import Store


def ingest_canonical(
    store: Store,
    spec: Source,
    found: Sequence[Path],
    rules: Any,
    report: IngestReport,
    lim: Limits,
    batch_size: int,
    catalog: Catalog | None,
    *,
    stdin: BinaryIO | None = None,
) -> IngestReport:
    """Ingest canonical JSON Lines or CSV files (and standard input) through the SQL path."""
    from vsmml.pipeline.ingest import ingest_units, limits_check, located_validation

    rule_obj = files.FileRules.coerce(rules)
    is_csv = ".csv" in spec.suffixes and ".json" not in spec.suffixes
    source = spec.event_source or spec.name
    defaults = Defaults(rule_obj.source, rule_obj.service, rule_obj.team, lim.max_depth)
    if catalog is not None:  # attribution needs the frame: take the reference path
        from vsmml.pipeline.ingest.readers import split_csv_rows, split_json, stdin_units

        def items() -> Iterator[tuple[str, str] | Reject]:
            if stdin is not None:
                yield from stdin_units(spec.suffixes, lim.max_bytes, source=source, stream=stdin)
            for path in found:
                split = split_csv_rows if is_csv else split_json
                yield from split(path, lim.max_bytes, source=source)

        return ingest_units(
            store,
            spec,
            items(),
            rule_obj,
            report,
            batch_size=batch_size,
            catalog=catalog,
            limits=lim,
        )

    def fallback(units: list[tuple[str, str]]) -> Conversion:
        kept: list[tuple[str, str]] = []
        refused: list[Reject] = []
        for where, text in units:
            body = text.strip()
            if not body:
                continue
            bad = limits_check(source, (where, body), lim)
            if bad is None:
                kept.append((where, body))
            else:
                refused.append(bad)
        conv = located_validation(files.to_events(kept, rule_obj)) if kept else Conversion()
        return Conversion(conv.events, [*refused, *conv.rejects], conv.locations, conv.skipped)

    streams: list[tuple[str, BinaryIO | Path]] = [("stdin", stdin)] if stdin is not None else []
    streams += [(p.name, p) for p in found]
    for name, item in streams:
        batches = csv_batches if is_csv else jsonl_batches
        for table, rejects, columns in batches(item, name, lim.max_bytes, batch_size, source):
            written, regular, conv = store.write_canonical(
                table,
                raw_source=spec.name,
                name=name,
                defaults=defaults,
                fallback=fallback,
                rejects=rejects,
                csv_columns=columns,
            )
            report.payloads += table.num_rows
            report.records += regular + len(rejects)
            if conv is not None:
                report.records += len(conv.events) + len(conv.rejects)
                report.records += sum(conv.skipped.values())
                report.count_skipped(conv.skipped)
            report.add(written)
            report.batches += 1
            store.commit_point()
    return report
