"""Labelled anomaly corpora (MSFT cloud monitoring, AIOps 2018 KPIs, SMD per metric) as frames.

Every series comes as columns timestamp (UTC), value (float), label (0/1), plus the first row
that is scored (`start`: 0 except for SMD, whose first half is unlabelled history). Layouts:

- msft_cloud_monitoring: `<root>/<group>/<name>.csv` with `TimeStamp,Value,Label` and a CSVW file
  `<name>.csv-metadata.json` whose `notes` describe the series (naive or Z timestamps, all UTC).
- aiops2018_kpi: `<root>/<kpi>.csv` with `timestamp,value,label` for the KPIs `index.csv` marks
  `included=yes`; missing samples are missing rows.
- smd_per_metric: `<root>/<machine>_m<NN>.csv` with `timestamp,value,label`; `index.csv` gives
  `test_start_row`, the first labelled row (timestamps are synthetic minutes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.errors import DataError

ANOMALY_ROOT = Path("../shared/data/anomaly")
DEFAULT_MSFT_ROOT = ANOMALY_ROOT / "msft_cloud_monitoring"
CORPORA = ("msft_cloud_monitoring", "aiops2018_kpi", "smd_per_metric")


@dataclass(frozen=True)
class SeriesInfo:
    """One series of the corpus: its group (folder), name (file stem), path and CSVW notes."""

    group: str
    name: str
    path: Path
    notes: str


@dataclass(frozen=True)
class LabelledSeries:
    """A labelled series and the first row that is scored (earlier rows are history)."""

    name: str
    frame: pd.DataFrame
    start: int = 0


def list_msft_series(root: Path | str = DEFAULT_MSFT_ROOT) -> list[SeriesInfo]:
    """Every series under `root`, sorted by group then name."""
    base = Path(root)
    if not base.is_dir():
        raise DataError(f"msft_cloud_monitoring: no directory at {base}")
    out = []
    for path in sorted(base.glob("*/*.csv")):
        meta = path.with_name(path.name + "-metadata.json")
        notes = ""
        if meta.exists():
            notes = " ".join(json.loads(meta.read_text(encoding="utf-8")).get("notes", []))
        out.append(SeriesInfo(path.parent.name, path.stem, path, notes.strip()))
    return out


def _frame(raw: pd.DataFrame, path: Path | str, ts: str, value: str, label: str) -> pd.DataFrame:
    missing = {ts, value, label} - set(raw.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; got {list(raw.columns)}")
    stamps = pd.to_datetime(raw[ts], utc=True, format="mixed", errors="coerce")
    if stamps.isna().any():
        row = int(stamps.isna().to_numpy().argmax())
        raise DataError(f"{path}: row {row + 2}: bad timestamp {raw[ts].iloc[row]!r}")
    return pd.DataFrame(
        {
            "timestamp": stamps.astype("datetime64[us, UTC]"),
            "value": pd.to_numeric(raw[value], errors="coerce").astype("float64"),
            "label": pd.to_numeric(raw[label], errors="coerce").fillna(0).astype("int64"),
        }
    )


def load_msft_series(path: Path | str) -> pd.DataFrame:
    """One series as columns timestamp (UTC), value (float) and label (int 0/1)."""
    return _frame(pd.read_csv(path), path, "TimeStamp", "Value", "Label")


def load_msft_corpus(root: Path | str = DEFAULT_MSFT_ROOT) -> dict[str, pd.DataFrame]:
    """Every series keyed by "<group>/<name>"."""
    return {f"{s.group}/{s.name}": load_msft_series(s.path) for s in list_msft_series(root)}


def _index(root: Path, corpus: str) -> pd.DataFrame:
    path = root / "index.csv"
    if not path.is_file():
        raise DataError(f"{corpus}: no index.csv in {root}")
    return pd.read_csv(path)


def load_aiops_corpus(root: Path | str = ANOMALY_ROOT / "aiops2018_kpi") -> list[LabelledSeries]:
    """The AIOps 2018 KPIs that `index.csv` marks as included, sorted by KPI id."""
    base = Path(root)
    index = _index(base, "aiops2018_kpi")
    kept = index.loc[index["included"].astype(str) == "yes", "kpi_id"].astype(str)
    out = []
    for kpi in sorted(kept):
        path = base / f"{kpi}.csv"
        if not path.is_file():
            raise DataError(f"aiops2018_kpi: {path} is listed in index.csv but missing")
        out.append(LabelledSeries(kpi, _frame(pd.read_csv(path), path, *_LOWER)))
    return out


def load_smd_corpus(root: Path | str = ANOMALY_ROOT / "smd_per_metric") -> list[LabelledSeries]:
    """The SMD (machine, metric) series; `start` is the first row of the labelled test half."""
    base = Path(root)
    index = _index(base, "smd_per_metric")
    out = []
    for row in index.sort_values("series").itertuples():
        path = base / f"{row.series}.csv"
        if not path.is_file():
            raise DataError(f"smd_per_metric: {path} is listed in index.csv but missing")
        frame = _frame(pd.read_csv(path), path, *_LOWER)
        start = int(str(row.test_start_row))
        if not 0 <= start < len(frame):
            raise DataError(f"{path}: test_start_row {start} outside its {len(frame)} rows")
        out.append(LabelledSeries(str(row.series), frame, start))
    return out


_LOWER = ("timestamp", "value", "label")


def load_corpus(name: str, root: Path | str | None = None) -> list[LabelledSeries]:
    """One of `CORPORA` by name; `root` defaults to `../shared/data/anomaly/<name>`."""
    base = Path(root) if root is not None else ANOMALY_ROOT / name
    if name == "msft_cloud_monitoring":
        return [LabelledSeries(k, f) for k, f in load_msft_corpus(base).items()]
    if name == "aiops2018_kpi":
        return load_aiops_corpus(base)
    if name == "smd_per_metric":
        return load_smd_corpus(base)
    raise DataError(f"unknown anomaly corpus {name!r}; known: {list(CORPORA)}")
