"""Vectorised access to canonical event frames: rows of some kinds, and values out of `attrs`.

`attrs` is a JSON text column; parsing it row by row with `json.loads` costs ~3 µs a row, so the
few keys correlation needs (attempt, queue_s, duration_s, reviewer ...) are pulled out with one
pyarrow regular-expression pass instead (~0.5 µs a row). Keys must be flat (top-level) JSON keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vsmml.errors import DataError
from vsmml.events.schema import STR_DTYPE

_NUMBER = r"(?P<v>-?[0-9][0-9.eE+-]*)"
_TEXT = r'"(?P<v>[^"\\]*)"'
_BOOL = r"(?P<v>true|false)"


def of_kind(
    events: pd.DataFrame, kinds: str | Sequence[str], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The rows of `events` whose `kind` is one of `kinds` (fast on the categorical column).

    Name the `columns` you need: taking every text column (attrs above all) of a large selection
    costs far more than finding the rows.
    """
    wanted = [kinds] if isinstance(kinds, str) else list(kinds)
    kind = events["kind"]
    if isinstance(kind.dtype, pd.CategoricalDtype):
        cats = list(kind.cat.categories)
        codes = [cats.index(k) for k in wanted if k in cats]
        mask = np.isin(kind.cat.codes.to_numpy(), codes)
    else:
        mask = kind.isin(wanted).to_numpy()
    if columns is None:
        return events.loc[mask]
    return events.loc[mask, list(dict.fromkeys(["kind", *columns]))]


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise `DataError` naming the missing columns of `frame` (called `what`)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}")


def _extract(attrs: pd.Series, key: str, pattern: str) -> pa.Array:
    arr = pa.array(attrs.astype(STR_DTYPE), type=pa.large_string(), from_pandas=True)
    regex = '"' + re.escape(key) + r'"\s*:\s*' + pattern
    found = pc.extract_regex(arr, regex)
    return pc.struct_field(found, [0])


def attr_number(frame: pd.DataFrame, key: str) -> pd.Series:
    """Numeric top-level `attrs[key]` of every row as float64 (NaN where absent or not a number)."""
    if frame.empty:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    values = _extract(frame["attrs"], key, _NUMBER)
    out = pd.to_numeric(
        pd.Series(values.to_pandas().to_numpy(), index=frame.index), errors="coerce"
    )
    return out.astype("float64")


def attr_text(frame: pd.DataFrame, key: str) -> pd.Series:
    """Text top-level `attrs[key]` of every row (null where absent or not a string)."""
    if frame.empty:
        return pd.Series(np.nan, index=frame.index, dtype=STR_DTYPE)
    values = _extract(frame["attrs"], key, _TEXT)
    return pd.Series(values.to_pandas().to_numpy(), index=frame.index).astype(STR_DTYPE)


def attr_bool(frame: pd.DataFrame, key: str) -> pd.Series:
    """Boolean top-level `attrs[key]` (nullable boolean; also accepts 0/1 numbers)."""
    if frame.empty:
        return pd.Series(pd.NA, index=frame.index, dtype="boolean")
    values = pd.Series(
        _extract(frame["attrs"], key, _BOOL).to_pandas().to_numpy(), index=frame.index
    )
    out = values.map({"true": True, "false": False}).astype("boolean")
    numbers = attr_number(frame, key)
    return out.fillna(numbers.map({1.0: True, 0.0: False}).astype("boolean"))


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`table[key]` for every key (missing → null), keeping the table's dtype (tz included).

    Unlike `Series.map`, works when `table` is empty or holds tz-aware timestamps. `table` must
    have a unique index. A null key finds nothing, even when `table` has a null key too.
    """
    if table.index.hasnans:
        table = table.loc[table.index.notna()]
    values = table.reindex(pd.Index(keys.to_numpy()))
    return pd.Series(values.array, index=keys.index, name=table.name)


def member(values: pd.Series | pd.Index, candidates: object) -> np.ndarray:
    """Boolean mask: which of `values` are among `candidates` (nulls never are).

    `Series.isin` on pandas' Arrow-backed text builds one Python scalar per candidate, which
    costs seconds for 10⁵ candidates; a hash lookup through `pd.Index.get_indexer` does not.
    """
    pool = pd.Index(pd.Series(list(candidates) if isinstance(candidates, set) else candidates))
    pool = pool.dropna().astype(STR_DTYPE).unique()
    keys = pd.Index(values).astype(STR_DTYPE)
    found: np.ndarray = np.asarray(pool.get_indexer(keys) >= 0) & np.asarray(keys.notna())
    return found


def compact(events: pd.DataFrame, skip: Sequence[str] = ("event_id",)) -> pd.DataFrame:
    """`events` with every Arrow-backed text column in one contiguous chunk.

    Frames concatenated from parts (Parquet files, store batches, generator chunks) hold text as
    chunked Arrow arrays, and Arrow's `take` on a chunked string array copies the whole column
    first: selecting 2 % of a 10 M-row column then costs 35× more than on one chunk. Combining
    the chunks once costs about as much as one such take. Columns in `skip` (by default the event
    id, which correlation never selects on) are left as they are.
    """
    out = events.copy(deep=False)
    for col in events.columns:
        if col in skip:
            continue
        arr = events[col].array
        if not hasattr(arr, "__arrow_array__") or isinstance(
            events[col].dtype, pd.CategoricalDtype
        ):
            continue
        chunked = pa.chunked_array(arr.__arrow_array__())
        if chunked.num_chunks > 1 and pa.types.is_string(chunked.type) | pa.types.is_large_string(
            chunked.type
        ):
            out[col] = pd.Series(
                pd.array(chunked.combine_chunks(), dtype=events[col].dtype), index=events.index
            )
    return out


CORRELATION_COLUMNS = (
    "kind",
    "ts",
    "service",
    "team",
    "repo",
    "env",
    "sha",
    "change_id",
    "pipeline_id",
    "stage",
    "artifact_id",
    "deploy_id",
    "incident_id",
    "status",
    "attrs",
)


def delivery_view(events: pd.DataFrame) -> pd.DataFrame:
    """The columns correlation reads, without `slo.sample` rows, in contiguous Arrow chunks.

    SLI samples are often half of all events and never join a change; dropping them (a
    chunk-wise filter) before compacting halves the memory the compact copy needs. When the
    caller already read only delivery rows into single-chunk columns (as
    bench/bench_metrics.py does), the columns are reused without a copy.
    """
    cols = [c for c in CORRELATION_COLUMNS if c in events.columns]
    kind = events["kind"]
    if isinstance(kind.dtype, pd.CategoricalDtype) and "slo.sample" in kind.cat.categories:
        code = list(kind.cat.categories).index("slo.sample")
        keep = kind.cat.codes.to_numpy() != code
    else:
        keep = (kind.astype(STR_DTYPE) != "slo.sample").to_numpy(dtype=bool)
    everything = bool(keep.all())
    mask = pa.array(keep)
    out: dict[str, object] = {}
    for col in cols:
        series = events[col]
        arr = series.array
        if hasattr(arr, "__arrow_array__") and not isinstance(series.dtype, pd.CategoricalDtype):
            chunked = pa.chunked_array(arr.__arrow_array__())
            if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
                if everything and chunked.num_chunks <= 1:
                    out[col] = arr  # already what we need: no copy
                    continue
                picked = chunked.filter(mask).combine_chunks()
                out[col] = pd.array(picked, dtype=series.dtype)
                continue
        out[col] = arr if everything else arr[keep]
    return pd.DataFrame(out, copy=False)


def group_sum(frame: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Column sums per group that depend only on each group's own rows, in their order.

    pandas sums a float column with ``np.add.reduceat`` when the group ids happen to be sorted
    and with compensated (Kahan) summation otherwise; the two can differ in the last bit, so the
    same group's sum would change with the other rows sharing the frame (a metric computed per
    partition would not equal it computed over the whole store). Sorting stably by the keys
    first makes every call take one path over the same row order. Keys may be missing (kept).
    """
    ordered = frame.sort_values(list(by), kind="stable")
    out: pd.DataFrame = ordered.groupby(list(by), sort=True, dropna=False)[list(columns)].sum()
    return out
