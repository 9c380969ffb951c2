"""Loaders of vsmml.pipeline.datasets.jit turn the public JIT files into the canonical JIT frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.pipeline.datasets.jit import JIT_COLUMNS, load_jit, project_name

JIT = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "jit"


def test_issta21_slice_becomes_the_canonical_frame() -> None:
    frame = load_jit(JIT / "jdt_head_k_feature.csv", "issta21")
    assert list(frame.columns) == list(JIT_COLUMNS)
    assert len(frame) == 80
    assert str(frame["committed_at"].dtype) == "datetime64[us, UTC]"
    assert frame["committed_at"].is_monotonic_increasing
    assert frame["committed_at"].iloc[0] == pd.Timestamp(1388666079, unit="s", tz="UTC")
    assert frame.loc[0, "entropy"] == pytest.approx(0.39124356362925566)
    assert set(frame["bug"]) <= {0, 1}


def test_kamei_slice_restores_absolute_line_counts() -> None:
    frame = load_jit(JIT / "bugzilla_head.csv", "kamei")
    raw = pd.read_csv(JIT / "bugzilla_head.csv")
    first = raw[raw["transactionid"] == 3].iloc[0]
    lt = round(first["lt"] * first["nf"])
    row = frame[np.isclose(frame["lt"], lt) & np.isclose(frame["nf"], first["nf"])].iloc[0]
    assert row["la"] == round(first["la"] * lt)
    assert row["nd"] == first["nm"] and row["age"] == first["pd"]
    assert frame["committed_at"].is_monotonic_increasing


def test_booleans_and_missing_values_follow_the_paper(tmp_path: Path) -> None:
    raw = pd.read_csv(JIT / "jdt_head_k_feature.csv").head(4)
    raw["fix"] = [True, False, True, False]
    raw["la"] = raw["la"].astype(float)
    raw.loc[1, "la"] = np.nan
    path = tmp_path / "x_k_feature.csv"
    raw.to_csv(path, index=False)
    frame = load_jit(path, "issta21")
    assert list(frame["fix"]) == [1.0, 0.0, 1.0, 0.0]
    assert frame.loc[1, "la"] == pytest.approx(raw["la"].mean())
    assert np.isnan(load_jit(path, "issta21", fill_missing=False).loc[1, "la"])


def test_vsmml_format_accepts_failed_and_requires_an_offset(tmp_path: Path) -> None:
    frame = load_jit(JIT / "jdt_head_k_feature.csv", "issta21").rename(columns={"bug": "failed"})
    frame["extra"] = 1
    path = tmp_path / "changes.csv"
    frame.to_csv(path, index=False)
    back = load_jit(path, "vsmml")
    assert list(back.columns) == list(JIT_COLUMNS)
    assert back["committed_at"].iloc[0] == frame["committed_at"].iloc[0]
    frame["committed_at"] = frame["committed_at"].dt.tz_localize(None)
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="offset"):
        load_jit(path, "vsmml")


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="format"):
        load_jit(JIT / "jdt_head_k_feature.csv", "csv")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"date": [1], "bug": [0]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="missing column"):
        load_jit(bad, "issta21")
    assert project_name("a/go_k_feature.csv") == "go"
    assert project_name("go_old_k_feature.csv") == "go_old"


@pytest.mark.parametrize(
    ("content", "fmt", "match"),
    [
        (None, "issta21", "no such file"),
        (b"", "issta21", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "vsmml", "not UTF-8"),
        (b"a,b\n1,2\n", "issta21", r"missing column\(s\)"),
        (b"a,b\n", "kamei", "no rows"),
    ],
)
def test_bad_files_are_one_clear_error_naming_the_file(
    tmp_path: Path, content: bytes | None, fmt: str, match: str
) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=match) as caught:
        load_jit(path, fmt)
    assert str(path) in str(caught.value)


def test_a_non_numeric_label_names_the_file_column_and_row(tmp_path: Path) -> None:
    raw = pd.read_csv(JIT / "jdt_head_k_feature.csv").head(3)
    raw["bug"] = raw["bug"].astype(object)
    raw.loc[1, "bug"] = "maybe"
    path = tmp_path / "bad_k_feature.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"bad_k_feature.csv: column 'bug' .* data row 2"):
        load_jit(path, "issta21")
