"""Just-in-time defect datasets (ISSTA'21 replication package, Kamei 2013) as canonical JIT frames.

The canonical JIT frame has one row per commit and the columns of `JIT_COLUMNS`: the 14 change
metrics of Kamei et al. (TSE 2013), ``committed_at`` (UTC) and ``bug`` (1 = the commit later
induced a bug). Rows are sorted by ``committed_at`` (stable, so equal times keep file order).
Preprocessing follows Zeng et al. (ISSTA 2021): booleans become 0/1 and missing values the
column mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS

CHANGE_METRICS: Final[tuple[str, ...]] = KAMEI_COLUMNS
JIT_COLUMNS: Final[tuple[str, ...]] = (*CHANGE_METRICS, "committed_at", "bug")
FORMATS: Final[tuple[str, ...]] = ("issta21", "kamei", "vsmml")


def _read(path: Path) -> pd.DataFrame:
    """A CSV (or Parquet) file as a frame, or `DataError` naming the file and what is wrong."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    try:
        if path.suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        frame = pd.read_csv(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text at byte {exc.start} (is it a CSV file?)") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: empty file (no CSV header)") from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as CSV ({first})") from exc
    except Exception as exc:  # pyarrow raises its own types for a broken Parquet file
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if frame.empty:
        raise DataError(f"{path}: has a header but no rows")
    return frame


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def _finish(frame: pd.DataFrame, fill_missing: bool, path: Path) -> pd.DataFrame:
    """Booleans to 0/1, numbers to float, optional mean fill, sort by time, canonical order."""
    out = pd.DataFrame(index=frame.index)
    for c in CHANGE_METRICS:
        col = frame[c]
        if col.dtype == bool or col.dtype == object or pd.api.types.is_string_dtype(col):
            col = col.replace({True: 1, False: 0, "True": 1, "False": 0, "true": 1, "false": 0})
        out[c] = pd.to_numeric(col, errors="coerce").astype(np.float64)
    if fill_missing:
        out = out.fillna(out.mean())
    out["committed_at"] = frame["committed_at"]
    bug = pd.to_numeric(frame["bug"].replace({True: 1, False: 0}), errors="coerce")
    if bug.isna().any():
        first = int(np.flatnonzero(bug.isna().to_numpy())[0])
        raise DataError(
            f"{path}: column 'bug' is missing or not numeric in {int(bug.isna().sum())} rows"
            f" (first: data row {first + 1}, got {frame['bug'].iloc[first]!r})"
        )
    out["bug"] = (bug > 0).astype(np.int64)
    out = out.iloc[np.argsort(out["committed_at"].to_numpy(), kind="stable")]
    return out.reset_index(drop=True)


def load_issta21(path: str | Path, *, fill_missing: bool = True) -> pd.DataFrame:
    """Read an ISSTA'21 ``<p>_k_feature.csv`` (unix-seconds ``date``, ``entrophy`` sic)."""
    p = Path(path)
    raw = _read(p)
    _require(raw, ["date", "bug", "entrophy", *[c for c in CHANGE_METRICS if c != "entropy"]], p)
    raw = raw.rename(columns={"entrophy": "entropy"})
    try:
        stamps = pd.to_datetime(pd.to_numeric(raw["date"]), unit="s", utc=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{p}: column 'date' must be unix seconds ({exc})") from exc
    raw["committed_at"] = stamps.astype("datetime64[us, UTC]")
    return _finish(raw, fill_missing, p)


def load_kamei(path: str | Path, *, fill_missing: bool = True) -> pd.DataFrame:
    """Read a Kamei 2013 csv (Fu & Menzies copy) and undo its normalisation.

    That copy stores ``la``/``ld`` divided by LT, ``lt`` and ``npt`` (NUC) divided by NF, and
    names ND ``nm`` and AGE ``pd``. We restore absolute counts (LT = lt*nf, LA = la*LT,
    LD = ld*LT, NUC = npt*nf, rounded) so effort (la + ld) is in lines as in the ISSTA'21 data.
    ``commitdate`` has no zone; it is read as UTC.
    """
    p = Path(path)
    raw = _read(p)
    needed = ["commitdate", "ns", "nm", "nf", "entropy", "la", "ld", "lt", "fix", "ndev"]
    _require(raw, [*needed, "pd", "npt", "exp", "rexp", "sexp", "bug"], p)
    raw = raw.rename(columns={"nm": "nd", "pd": "age"})
    nf = pd.to_numeric(raw["nf"], errors="coerce")
    lt_abs = (pd.to_numeric(raw["lt"], errors="coerce") * nf).round()
    raw["la"] = (pd.to_numeric(raw["la"], errors="coerce") * lt_abs).round()
    raw["ld"] = (pd.to_numeric(raw["ld"], errors="coerce") * lt_abs).round()
    raw["lt"] = lt_abs
    raw["nuc"] = (pd.to_numeric(raw["npt"], errors="coerce") * nf).round()
    try:
        stamps = pd.to_datetime(raw["commitdate"], format="%Y/%m/%d %H:%M", utc=True)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{p}: column 'commitdate' must be 'YYYY/MM/DD HH:MM' ({exc})") from exc
    raw["committed_at"] = stamps.astype("datetime64[us, UTC]")
    return _finish(raw, fill_missing, p)


def load_vsmml(path: str | Path, *, fill_missing: bool = True) -> pd.DataFrame:
    """Read a frame already in canonical JIT columns (CSV or Parquet).

    ``committed_at`` must carry an offset; the label may be named ``bug`` or ``failed``
    (the synthetic organisation's name for it). Extra columns are dropped.
    """
    p = Path(path)
    raw = _read(p)
    if "bug" not in raw.columns and "failed" in raw.columns:
        raw = raw.rename(columns={"failed": "bug"})
    _require(raw, list(JIT_COLUMNS), p)
    ts = raw["committed_at"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        try:
            ts = pd.to_datetime(ts, utc=False, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{p}: column 'committed_at' must be ISO-8601 with offset: {exc}"
            ) from exc
        if not isinstance(ts.dtype, pd.DatetimeTZDtype):
            raise DataError(f"{p}: 'committed_at' must carry a UTC offset, got {ts.iloc[0]!r}")
    raw["committed_at"] = ts.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return _finish(raw, fill_missing, p)


def load_jit(path: str | Path, fmt: str, *, fill_missing: bool = True) -> pd.DataFrame:
    """Read `path` in format `fmt` (one of `FORMATS`) into the canonical JIT frame."""
    readers = {"issta21": load_issta21, "kamei": load_kamei, "vsmml": load_vsmml}
    if fmt not in readers:
        raise DataError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    return readers[fmt](path, fill_missing=fill_missing)


def project_name(path: str | Path) -> str:
    """Project name from a dataset file name (``jdt_k_feature.csv`` -> ``jdt``)."""
    return Path(path).stem.removesuffix("_k_feature")
