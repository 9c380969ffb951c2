"""Records skipped by type in a week: the week's raw payloads converted again (nothing written).

The store keeps every raw payload but not the conversion's skip counts, so the report converts
the payloads received in the week once more with today's converters and default rules and
counts what they skip (e.g. GitHub `watch` deliveries); nothing is written.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from vsmml.errors import VsmmlError
from vsmml.pipeline.ingest.registry import get_source, known_sources
from vsmml.pipeline.ingest.rules import build_rules

MAX_PAYLOADS: Final[int] = 200_000
"""At most this many payloads are converted again (the rest are named in the note)."""
SKIPPED_COLUMNS: Final = ("source", "type", "records")


def skipped_by_type(
    raw: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp
) -> tuple[pd.DataFrame, str]:
    """(source, type, records) skipped in the payloads received in [since, until), and a note
    saying what was converted."""
    empty = pd.DataFrame(columns=list(SKIPPED_COLUMNS))
    if raw.empty:
        return empty, "no raw payloads are stored"
    received = pd.to_datetime(raw["received_at"])
    if received.dt.tz is None:
        received = received.dt.tz_localize("UTC")
    week = raw.loc[((received >= since) & (received < until)).to_numpy(bool)]
    if week.empty:
        return empty, "no raw payload was received this week"
    rows: list[tuple[str, str, int]] = []
    converted = 0
    unknown: list[str] = []
    for name, group in week.groupby("source", sort=True):
        source = str(name)
        if source not in known_sources() or get_source(source).convert is None:
            unknown.append(source)
            continue
        spec = get_source(source)
        assert spec.convert is not None
        units = list(zip(group["location"].astype(str), group["payload"].astype(str), strict=True))
        units = units[: max(MAX_PAYLOADS - converted, 0)]
        converted += len(units)
        try:
            conv = spec.convert(units, build_rules(spec, None))
        except VsmmlError:
            unknown.append(source)
            continue
        rows += [(source, kind, int(n)) for kind, n in sorted(conv.skipped.items())]
    note = f"{converted:,} raw payload(s) received this week converted again"
    if len(week) > converted + sum(int((week["source"] == u).sum()) for u in unknown):
        note += f" (at most {MAX_PAYLOADS:,})"
    if unknown:
        note += f"; not convertible here: {', '.join(sorted(set(unknown)))}"
    return pd.DataFrame(rows, columns=list(SKIPPED_COLUMNS)), note
