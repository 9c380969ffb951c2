"""One batch of raw payloads made ready for the store: limits checked, parsed, converted, validated.

`prepare` is the whole per-batch computation of a payload source, pure (no store): the ingest
loop runs it in this process or sends it to a worker process (`pipeline.ingest.workers`), and
both give the same events, rejects and counts. What it returns is small (validated events,
their locations, the rejects and which payloads the limits refused), never the parsed payloads:
those are freed before the garbage collector runs again, so it never walks them. A source with
a pruned parse (GitHub) decodes only the fields its converter reads; a batch where anything is
refused is parsed and converted again in full, so quarantined records are whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vsmml.events.connectors.base import Conversion, Reject
from vsmml.pipeline.ingest.gc_pause import gc_paused

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.pipeline.ingest import Limits
    from vsmml.pipeline.ingest.registry import Source, Unit


@dataclass
class Prepared:
    """A batch converted and validated once, and what it counts towards the ingest report."""

    events: pd.DataFrame
    """Valid events in canonical form, in input order."""
    locations: list[str]
    """Where each event came from (`file.jsonl:12`), one per event row."""
    rejects: list[Reject]
    """Reader and limit rejects in input order, then conversion and validation rejects."""
    refused: list[int]
    """Positions (in the batch's items) of payloads refused by the limits: not kept as raw."""
    payloads: int = 0
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def prepare(spec: Source, items: list[Unit | Reject], rules: Any, lim: Limits) -> Prepared:
    """Check each payload's size and depth, then parse, convert and validate the batch."""
    from vsmml.pipeline.ingest import limits_check, located_validation

    assert spec.convert is not None
    source = spec.event_source or spec.name
    with gc_paused():
        units: list[Unit] = []
        rejects: list[Reject] = []
        refused: list[int] = []
        for i, item in enumerate(items):
            if isinstance(item, Reject):
                rejects.append(item)
                continue
            bad = limits_check(source, item, lim)
            if bad is None:
                units.append(item)
            else:
                rejects.append(bad)
                refused.append(i)
        conv = _parse_and_convert(spec, units, rules, prune=spec.prune is not None)
        if conv.rejects and spec.prune is not None:  # refused records are quarantined in full
            conv = _parse_and_convert(spec, units, rules, prune=False)
        records = len(rejects) + len(conv.events) + len(conv.rejects) + sum(conv.skipped.values())
        checked = located_validation(conv)
        del conv
    return Prepared(
        events=checked.events,
        locations=list(checked.locations or []),
        rejects=[*rejects, *checked.rejects],
        refused=refused,
        payloads=len(units),
        records=records,
        skipped=dict(checked.skipped),
    )


def _parse_and_convert(spec: Source, units: list[Unit], rules: Any, *, prune: bool) -> Conversion:
    """Parse the payloads (pruned to what the converter reads when `prune`) and convert them;
    the parsed payloads are freed on return (the caller keeps the collector paused)."""
    from vsmml.pipeline.ingest import _convert, parse_object

    if not units:
        return Conversion()
    if not spec.parsed:
        return _convert(spec, list(units), rules)
    if prune:
        assert spec.prune is not None
        fit = spec.prune
        given = [(where, fit(text) or parse_object(text)) for where, text in units]
    else:
        given = [(where, parse_object(text)) for where, text in units]
    return _convert(spec, given, rules)


def kept_units(items: list[Unit | Reject], refused: list[int]) -> list[Unit]:
    """The payloads of a batch that passed the limits (those kept in `raw_payloads`)."""
    if not refused:
        return [item for item in items if not isinstance(item, Reject)]
    out = set(refused)
    return [item for i, item in enumerate(items) if not isinstance(item, Reject) and i not in out]
