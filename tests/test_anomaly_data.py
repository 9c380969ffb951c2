"""Loaders of the labelled anomaly corpora, and the default detector on real labelled series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.anomaly import DEFAULT_THRESHOLD, get_detector
from vsmml.anomaly.nab import corpus_files, score_at, sweep
from vsmml.errors import DataError
from vsmml.pipeline.datasets.anomaly import (
    CORPORA,
    list_msft_series,
    load_corpus,
    load_msft_corpus,
    load_msft_series,
)

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "msft_cloud_monitoring"


def test_fixture_series_load_with_notes_and_utc_times() -> None:
    infos = list_msft_series(FIXTURE)
    assert [i.name for i in infos] == ["app1-09", "outbound-02"]
    assert "crash rates" in infos[0].notes
    frame = load_msft_series(infos[1].path)
    assert list(frame.columns) == ["timestamp", "value", "label"]
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert len(frame) == 720 and frame["label"].sum() == 32


def test_default_detector_beats_null_at_its_fixed_threshold_on_fixture_series() -> None:
    corpus = load_msft_corpus(FIXTURE)
    det = get_detector()
    scores = {k: det.score(f[["timestamp", "value"]]) for k, f in corpus.items()}
    labels = {k: f["label"].to_numpy() for k, f in corpus.items()}
    res = score_at(corpus_files(scores, labels), DEFAULT_THRESHOLD)
    assert res.score > 50
    assert res.detected_windows >= 6


def test_missing_root_bad_columns_and_unknown_corpus_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no directory"):
        list_msft_series(tmp_path / "absent")
    bad = tmp_path / "g" / "x.csv"
    bad.parent.mkdir()
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        load_msft_series(bad)
    with pytest.raises(DataError, match="unknown anomaly corpus"):
        load_corpus("nab")
    with pytest.raises(DataError, match=r"index\.csv"):
        load_corpus("aiops2018_kpi", tmp_path)


def test_a_bad_timestamp_names_the_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text("kpi_id,included\nk1,yes\n")
    (tmp_path / "k1.csv").write_text("timestamp,value,label\n2017-01-01T00:00:00Z,1,0\nsoon,2,0\n")
    with pytest.raises(DataError, match=r"k1\.csv: row 3: bad timestamp 'soon'"):
        load_corpus("aiops2018_kpi", tmp_path)


def test_shared_corpora_load_whole(shared_data: Path) -> None:
    root = shared_data / "anomaly"
    sizes = {}
    for name in CORPORA:
        series = load_corpus(name, root / name)
        sizes[name] = (len(series), sum(len(s.frame) for s in series))
        for s in series:
            assert set(s.frame["label"].unique()) <= {0, 1}
            assert s.frame["timestamp"].is_monotonic_increasing
    assert sizes == {
        "msft_cloud_monitoring": (60, 225_445),
        "aiops2018_kpi": (21, 1_906_830),
        "smd_per_metric": (12, 568_665),
    }
    smd = load_corpus("smd_per_metric", root / "smd_per_metric")
    index = pd.read_csv(root / "smd_per_metric" / "index.csv").set_index("series")
    for s in smd:
        assert s.start == index.loc[s.name, "test_start_row"]
        assert s.frame["label"].iloc[: s.start].sum() == 0  # the training half is unlabelled


def test_default_beats_windowed_gaussian_on_msft_by_15_points(shared_data: Path) -> None:
    """Held-out check of the issue's bar on one corpus: the default at its fixed threshold
    (chosen by the protocol) against the windowed Gaussian at its *own best* threshold."""
    series = load_corpus("msft_cloud_monitoring", shared_data / "anomaly" / "msft_cloud_monitoring")
    labels = {s.name: s.frame["label"].to_numpy() for s in series}
    frames = {s.name: s.frame[["timestamp", "value"]] for s in series}
    default, gauss = get_detector(), get_detector("windowed_gaussian")
    ours = score_at(corpus_files({k: default.score(f) for k, f in frames.items()}, labels),
                    DEFAULT_THRESHOLD)  # fmt: skip
    theirs = sweep(corpus_files({k: gauss.score(f) for k, f in frames.items()}, labels)).best()
    assert ours.score >= theirs.score + 15, (ours.score, theirs.score)
    assert np.isfinite(ours.raw)
