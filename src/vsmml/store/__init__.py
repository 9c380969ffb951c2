"""The embedded event store: one DuckDB file with raw payloads, canonical events and quarantine.

`store.py` is the `Store` (open, lock, migrate, check), `writes.py` and `reads.py` its two
halves, `sql.py` the write path in SQL, `schema.py` its tables and migrations.
"""

from __future__ import annotations

from vsmml.store.sql import QUARANTINE_COLUMNS
from vsmml.store.store import Store
from vsmml.store.writes import WriteReport

__all__ = ["QUARANTINE_COLUMNS", "Store", "WriteReport"]
