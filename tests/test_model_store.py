"""Model lookup (champion export, committed default) and lightgbm-free scoring of risk models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_fixtures import JIT, small_risk_model
from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import (
    ModelNotFoundError,
    default_models_dir,
    load_risk_scorer,
    locate,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    model, x, _ = small_risk_model()
    folder = tmp_path_factory.mktemp("risk")
    model.save(folder)
    (folder / "metadata.json").write_text(json.dumps({"version": 7, "threshold": 0.3}))
    return model, x, folder


def test_scorer_reproduces_change_risk_model(saved) -> None:  # type: ignore[no-untyped-def]
    model, x, folder = saved
    scorer = RiskScorer.from_dir(folder)
    rows = x.iloc[:80]
    m = scorer.matrix({c: rows[c].to_numpy() for c in JIT})
    np.testing.assert_allclose(scorer.predict_proba(m), model.predict_proba(rows)[:, 1], atol=1e-9)
    np.testing.assert_allclose(scorer.raw(m), model.decision_function(rows), atol=1e-9)
    np.testing.assert_allclose(
        scorer.contributions(m), model.contributions(rows).to_numpy(), atol=1e-9
    )
    assert scorer.threshold == 0.3


def test_native_trees_give_the_numpy_evaluator_numbers(saved) -> None:  # type: ignore[no-untyped-def]
    """The server's scorer (LightGBM evaluates the trees) equals the lightgbm-free one, and the
    shipped default model too, missing values included."""
    _, x, folder = saved
    for where in (folder, None):
        plain, _ = load_risk_scorer(path=where)
        native, _ = load_risk_scorer(path=where, native=True)
        assert type(native.trees).__name__ == "BoosterTrees" != type(plain.trees).__name__
        rows = x.iloc[:60].copy()
        rows.iloc[::5, 0] = np.nan
        m = plain.matrix({c: rows[c].to_numpy() for c in JIT if c in plain.input_columns})
        np.testing.assert_allclose(native.contributions(m), plain.contributions(m), atol=1e-9)
        np.testing.assert_allclose(native.predict_proba(m), plain.predict_proba(m), atol=1e-12)
        got = [r.feature for r in native.score_matrix(m)[0].reasons]
        assert got == [r.feature for r in plain.score_matrix(m)[0].reasons]


def test_scorer_sees_copies_through_the_commit_times(tmp_path: Path) -> None:
    """With the optional copies feature the scorer reads the commit times, as the model does."""
    model, x, _ = small_risk_model(copy_history=True)
    model.save(tmp_path)
    scorer = RiskScorer.from_dir(tmp_path)
    assert scorer.feature_names[-1] == "copies_30d"
    later = x.iloc[40:80].assign(committed_at=lambda f: f["committed_at"] + pd.Timedelta("3h"))
    rows = pd.concat([x.iloc[:80], later], ignore_index=True)
    expected = model.predict_proba(rows)[:, 1]
    stamps = rows["committed_at"].dt.tz_localize(None).to_numpy()
    for times in (stamps, np.datetime_as_string(stamps) + "Z"):
        m = scorer.matrix({**{c: rows[c].to_numpy() for c in JIT}, "committed_at": times})
        assert np.nanmax(m[:, -1]) >= 1.0
        np.testing.assert_allclose(scorer.predict_proba(m), expected, atol=1e-9)
    without = scorer.matrix({c: rows[c].to_numpy() for c in JIT})
    assert np.isnan(without[:, -1]).all()


def test_score_gives_reasons_in_words(saved) -> None:  # type: ignore[no-untyped-def]
    _, _, folder = saved
    scorer = RiskScorer.from_dir(folder)
    (result,) = scorer.score({"la": 1500.0, "ld": 10.0, "nf": 3.0}, top=3)
    assert 0.0 < result.probability < 1.0
    assert len(result.reasons) == 3
    contribs = [abs(r.contribution) for r in result.reasons]
    assert contribs == sorted(contribs, reverse=True)
    assert any(r.text == "adds 1,500 lines (la)" for r in result.reasons)
    with pytest.raises(DataError, match="differ in length"):
        scorer.score({"la": [1.0, 2.0], "ld": [1.0]})


def test_locate_prefers_home_champion_then_default(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, folder = saved
    settings = Settings(home=tmp_path / "home")
    default = tmp_path / "defaults"
    with pytest.raises(ModelNotFoundError, match="vsmml train risk"):
        locate("risk", settings=settings, default_dir=default)

    shutil.copytree(folder, default / "risk")
    loc = locate("risk", settings=settings, default_dir=default)
    assert (loc.source, loc.version, loc.path) == ("default", "7", default / "risk")
    home = settings.models_dir / "risk"
    shutil.copytree(folder, home / "1")
    shutil.copytree(folder, home / "2")
    loc = locate("risk", settings=settings, default_dir=default)
    assert (loc.source, loc.version) == ("home", "2")  # no pointer: the highest version
    (home / "champion.json").write_text(json.dumps({"version": 1}))
    loc = locate("risk", settings=settings, default_dir=default)
    assert (loc.source, loc.version, loc.path) == ("home", "1", home / "1")


def test_default_models_dir_from_env_and_versioned_default(
    saved, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _, _, folder = saved

    root = tmp_path / "committed"
    shutil.copytree(folder, root / "risk" / "3")
    monkeypatch.setenv("VSMML_DEFAULT_MODELS", str(root))
    settings = Settings.from_env()
    assert default_models_dir(settings) == root
    scorer, loc = load_risk_scorer(settings=Settings(home=tmp_path / "empty", default_models=root))
    assert (loc.source, loc.version) == ("default", "3")
    assert scorer.input_columns == list(JIT)
    _scorer2, loc2 = load_risk_scorer(path=folder)
    assert (loc2.source, loc2.version) == ("path", "7")


def test_bad_model_folders_are_reported(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, folder = saved
    with pytest.raises(ModelNotFoundError, match=r"model\.txt"):
        RiskScorer.from_dir(tmp_path)
    state = json.loads((folder / "model.json").read_text())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.txt").write_text((folder / "model.txt").read_text())
    (broken / "model.json").write_text(json.dumps({**state, "format": "other/9"}))
    with pytest.raises(DataError, match="not a vsmml-risk/1 model"):
        RiskScorer.from_dir(broken)
    (broken / "model.json").write_text(json.dumps({**state, "feature_names": ["la"]}))
    with pytest.raises(DataError, match=r"model\.json names 1"):
        RiskScorer.from_dir(broken)


def test_model_store_imports_neither_mlflow_nor_lightgbm(saved) -> None:  # type: ignore[no-untyped-def]
    _, _, folder = saved
    code = (
        "import sys\n"
        "from vsmml.models.risk_scoring import RiskScorer\n"
        f"s = RiskScorer.from_dir({str(folder)!r})\n"
        "s.score({'la': 10.0})\n"
        "print(sorted(m for m in ('mlflow', 'lightgbm', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
