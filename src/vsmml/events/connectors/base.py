"""What every connector returns: canonical events plus the records it had to reject."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from vsmml.events.schema import STR_DTYPE, empty_events

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
    """Result of converting raw payloads: an (unvalidated) event frame and the rejects."""

    events: pd.DataFrame = field(default_factory=empty_events)
    rejects: list[Reject] = field(default_factory=list)

    def rejects_frame(self) -> pd.DataFrame:
        """The rejects as a frame with the quarantine columns."""
        rows = [{c: getattr(r, c) for c in REJECT_COLUMNS} for r in self.rejects]
        return pd.DataFrame(rows, columns=list(REJECT_COLUMNS)).astype(STR_DTYPE)

    def extend(self, other: Conversion) -> Conversion:
        """Concatenate two conversions (events and rejects)."""
        frames = [f for f in (self.events, other.events) if len(f)]
        events = pd.concat(frames, ignore_index=True) if frames else self.events
        return Conversion(events=events, rejects=[*self.rejects, *other.rejects])
