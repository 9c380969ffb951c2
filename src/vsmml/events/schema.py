"""The canonical delivery event (DESIGN.md §2): one import for its columns, kinds, dtypes and
validation. Definitions live in `columns` (what an event is) and `validate` (checking input)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vsmml.events.columns import (
    CATEGORY_COLUMNS,
    DELIVERY_KINDS,
    ENVIRONMENTS,
    EVENT_COLUMNS,
    KEY_COLUMNS,
    KINDS,
    REQUIRED_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    attrs_of,
    attrs_to_json,
    empty_events,
    normalise_env,
    normalise_status,
    to_canonical,
    to_jsonable,
)
from vsmml.events.validate import (
    Rejection,
    ValidationResult,
    derive_event_ids,
    ensure_events,
    events_from_records,
    parse_timestamps,
    validate_events,
    validate_record,
)

if TYPE_CHECKING:
    from vsmml.events.dtypes import (
        DEFAULT_FUTURE_TOLERANCE,
        KIND_DTYPE,
        MIN_TS,
        STR_DTYPE,
        TS_DTYPE,
    )

_LAZY = frozenset(("KIND_DTYPE", "TS_DTYPE", "STR_DTYPE", "MIN_TS", "DEFAULT_FUTURE_TOLERANCE"))

__all__ = [
    "CATEGORY_COLUMNS",
    "DEFAULT_FUTURE_TOLERANCE",
    "DELIVERY_KINDS",
    "ENVIRONMENTS",
    "EVENT_COLUMNS",
    "KEY_COLUMNS",
    "KINDS",
    "KIND_DTYPE",
    "MIN_TS",
    "REQUIRED_COLUMNS",
    "STR_DTYPE",
    "TEXT_COLUMNS",
    "TIME_COLUMNS",
    "TS_DTYPE",
    "Rejection",
    "ValidationResult",
    "attrs_of",
    "attrs_to_json",
    "derive_event_ids",
    "empty_events",
    "ensure_events",
    "events_from_records",
    "normalise_env",
    "normalise_status",
    "parse_timestamps",
    "to_canonical",
    "to_jsonable",
    "validate_events",
    "validate_record",
]


def __getattr__(name: str) -> Any:
    """The pandas objects of the contract (dtypes, time bounds), built with pandas on first use,
    so importing the contract's names alone costs no pandas import."""
    if name in _LAZY:
        from vsmml.events import dtypes

        return getattr(dtypes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
