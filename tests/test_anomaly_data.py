"""The MSFT cloud-monitoring loader and an end-to-end NAB-style score on real series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vsmml.anomaly import get_detector
from vsmml.anomaly.nab import best_threshold, candidate_thresholds, prepare
from vsmml.errors import DataError
from vsmml.pipeline.datasets.anomaly import list_msft_series, load_msft_corpus, load_msft_series

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "data" / "fixtures" / "msft_cloud_monitoring"
SHARED = REPO.parent / "shared" / "data" / "anomaly" / "msft_cloud_monitoring"


@pytest.fixture
def shared_root() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data absent: {SHARED} (see ../shared/data/README.md)")
    return SHARED


def test_fixture_series_load_with_notes_and_utc_times() -> None:
    infos = list_msft_series(FIXTURE)
    assert [i.name for i in infos] == ["app1-09", "outbound-02"]
    assert "crash rates" in infos[0].notes
    frame = load_msft_series(infos[1].path)
    assert list(frame.columns) == ["timestamp", "value", "label"]
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert len(frame) == 720 and frame["label"].sum() == 32


def test_default_detector_beats_null_on_fixture_series() -> None:
    corpus = load_msft_corpus(FIXTURE)
    det = get_detector()
    prepared = []
    pooled = []
    for frame in corpus.values():
        s = det.score(frame[["timestamp", "value"]])
        pooled.append(s)
        prepared.append(prepare(s, frame["label"].to_numpy()))
    res = best_threshold(prepared, candidate_thresholds(np.concatenate(pooled)))
    assert res.score > 30


def test_missing_root_and_bad_columns_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no directory"):
        list_msft_series(tmp_path / "absent")
    bad = tmp_path / "g" / "x.csv"
    bad.parent.mkdir()
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        load_msft_series(bad)


def test_shared_corpus_has_60_labelled_series(shared_root: Path) -> None:
    infos = list_msft_series(shared_root)
    assert len(infos) == 60
    frame = load_msft_series(infos[0].path)
    assert frame["timestamp"].is_monotonic_increasing
