"""What every connector returns: canonical events plus the records it had to reject."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vsmml.deferred import deferred
from vsmml.events.schema import empty_events

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

REJECT_COLUMNS = ("source", "location", "field", "reason", "record")


@dataclass(frozen=True)
class Reject:
    """One raw record a converter refused: where it was, which field, why, and the record itself."""

    source: str
    location: str
    field: str
    reason: str
    record: str

    def message(self) -> str:
        """Readable line naming the record and the field."""
        return f"{self.location} ({self.source}): {self.field!r} {self.reason}"


@dataclass
class Conversion:
    """Result of converting raw payloads: an (unvalidated) event frame, the rejects, and what
    was deliberately left out.

    `locations`, when set, names each event row's input (`file.jsonl:12`), one per row, so a row
    refused later by validation is quarantined under its file and line. It travels here and
    never in `DataFrame.attrs` (pandas deep-copies attrs on every operation). `skipped` counts
    records of known types a connector ignores on purpose (e.g. `pagerduty incident.annotated`),
    by type, so every input record is accounted for. `notes` are lines for people about what was
    read and how (e.g. how many of a repository's tags are releases, and the rule that would take
    the others); the pipeline adds them to its report.
    """

    events: pd.DataFrame = field(default_factory=empty_events)
    rejects: list[Reject] = field(default_factory=list)
    locations: list[str] | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rejects_frame(self) -> pd.DataFrame:
        """The rejects as a frame with the quarantine columns."""
        rows = [{c: getattr(r, c) for c in REJECT_COLUMNS} for r in self.rejects]
        return pd.DataFrame(rows, columns=list(REJECT_COLUMNS)).astype(_dt.STR_DTYPE)

    def skip(self, kind: str, count: int = 1) -> None:
        """Count `count` records of type `kind` as deliberately skipped."""
        self.skipped[kind] = self.skipped.get(kind, 0) + count

    def known_locations(self) -> list[str] | None:
        """The row locations, or None when unknown (a conversion without rows has none)."""
        if self.locations is None and self.events.empty:
            return []
        return self.locations

    def extend(self, other: Conversion) -> Conversion:
        """Concatenate two conversions (events, rejects, locations, skipped counts and notes)."""
        frames = [f for f in (self.events, other.events) if len(f)]
        events = pd.concat(frames, ignore_index=True) if frames else self.events
        mine, theirs = self.known_locations(), other.known_locations()
        locations = None if mine is None or theirs is None else [*mine, *theirs]
        skipped = dict(self.skipped)
        for kind, n in other.skipped.items():
            skipped[kind] = skipped.get(kind, 0) + n
        return Conversion(
            events, [*self.rejects, *other.rejects], locations, skipped, [*self.notes, *other.notes]
        )
