"""Microsoft's labelled cloud-monitoring series (MIT licence) as (timestamp, value, label) frames.

Layout: `<root>/<group>/<name>.csv` with columns `TimeStamp,Value,Label` (1 = anomalous row) and a
CSVW file `<name>.csv-metadata.json` whose `notes` describe the series. Timestamps are either
naive ("2018-07-03 14:00:00") or ISO with Z; both are read as UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsmml.errors import DataError

DEFAULT_MSFT_ROOT = Path("../shared/data/anomaly/msft_cloud_monitoring")


@dataclass(frozen=True)
class SeriesInfo:
    """One series of the corpus: its group (folder), name (file stem), path and CSVW notes."""

    group: str
    name: str
    path: Path
    notes: str


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


def load_msft_series(path: Path | str) -> pd.DataFrame:
    """One series as columns timestamp (UTC), value (float) and label (int 0/1)."""
    raw = pd.read_csv(path)
    missing = {"TimeStamp", "Value", "Label"} - set(raw.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}")
    ts = pd.to_datetime(raw["TimeStamp"], utc=True, format="mixed")
    return pd.DataFrame(
        {
            "timestamp": ts.astype("datetime64[us, UTC]"),
            "value": pd.to_numeric(raw["Value"], errors="coerce").astype("float64"),
            "label": raw["Label"].fillna(0).astype("int64"),
        }
    )


def load_msft_corpus(root: Path | str = DEFAULT_MSFT_ROOT) -> dict[str, pd.DataFrame]:
    """Every series keyed by "<group>/<name>"."""
    return {f"{s.group}/{s.name}": load_msft_series(s.path) for s in list_msft_series(root)}
