"""Reading lake files back as canonical event frames, with an in-memory DuckDB of one's own.

Every reader (a Dask worker, `vsmml lake import`, the partition planner) opens its own in-memory
DuckDB connection, reads only the Parquet files it is given and closes it: the store's DuckDB
file is never opened here, so workers never contend for its lock. Frames come out exactly as
`Store.read_events` gives them (same columns, dtypes and ``(ts, event_id)`` order), which is what
lets the Dask path call the same pandas functions as the single-machine path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from vsmml.errors import LakeError
from vsmml.events.schema import CATEGORY_COLUMNS, EVENT_COLUMNS, KIND_DTYPE, STR_DTYPE, TS_DTYPE

SCOPE_SQL = "coalesce(service, 'repo:' || repo, '')"
"""An event's correlation scope in SQL, as `vsmml.correlate.links.scope_of` computes it."""


@dataclass(frozen=True)
class ScopeFilter:
    """Which events of the files to keep: by correlation scope (service, else ``repo:<repo>``,
    else ``""``). An empty filter keeps every row."""

    scopes: frozenset[str] = field(default_factory=frozenset)

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause and its parameters (TRUE when the filter keeps everything)."""
        if not self.scopes:
            return "TRUE", []
        return f"{SCOPE_SQL} IN (SELECT unnest(?::VARCHAR[]))", [sorted(self.scopes)]


@contextmanager
def connect(memory_limit: str = "2GB", threads: int | None = None) -> Iterator[Any]:
    """A private in-memory DuckDB connection (no progress bar), closed on exit."""
    config: dict[str, Any] = {"memory_limit": memory_limit}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_progress_bar = false")
        yield con
    finally:
        con.close()


def file_list(paths: Sequence[Path]) -> str:
    """A DuckDB list literal of file paths (quotes escaped)."""
    if not paths:
        raise LakeError("no lake files to read")
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"[{quoted}]"


def canonical(table: pa.Table, columns: Sequence[str] = EVENT_COLUMNS) -> pd.DataFrame:
    """Canonical dtypes from an Arrow table of lake rows (as `Store.read_events` returns them)."""
    frame: pd.DataFrame = table.to_pandas()
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col]
        if col == "kind":
            out[col] = values.astype(KIND_DTYPE)
        elif col in ("ts", "received_at"):
            out[col] = pd.to_datetime(values, utc=True).astype(TS_DTYPE)
        elif col in CATEGORY_COLUMNS:
            out[col] = values.astype(STR_DTYPE).astype("category")
        else:
            out[col] = values.astype(STR_DTYPE)
    return out


def read_files(
    paths: Sequence[Path],
    *,
    where: ScopeFilter | None = None,
    kinds: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    memory_limit: str = "2GB",
    threads: int | None = None,
) -> pd.DataFrame:
    """Events of the given lake files (kept by scope and kind), ordered by (ts, event_id).

    `columns` (of `EVENT_COLUMNS`, in their order) reads only those, as
    `Store.read_events(columns=...)` does: what a metric needs of every event is a few columns.
    """
    cols = EVENT_COLUMNS if columns is None else [c for c in EVENT_COLUMNS if c in columns]
    if columns is not None and len(cols) != len(set(columns)):
        raise LakeError(f"read_files: unknown columns {sorted(set(columns) - set(cols))}")
    clause, params = (where or ScopeFilter()).sql()
    if kinds is not None:
        clause += " AND kind IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(kinds))
    sql = (
        f"SELECT {', '.join(cols)} FROM read_parquet({file_list(paths)}, "
        f"hive_partitioning = false) WHERE {clause} ORDER BY ts, event_id"
    )
    with connect(memory_limit, threads) as con:
        try:
            table = con.sql(sql, params=params).to_arrow_table()
        except duckdb.IOException as exc:
            raise LakeError(
                f"lake: cannot read its files ({exc}); rebuild it with `vsmml lake export --full`"
            ) from exc
    return canonical(table, cols)
