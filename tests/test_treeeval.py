"""The numpy tree evaluator must reproduce LightGBM's raw scores, predictions and TreeSHAP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from vsmml.models.treeeval import TreeEnsemble, TreeModelError


def _data(seed: int = 0, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[rng.random(n) < 0.15, 1] = np.nan
    x[rng.random(n) < 0.25, 2] = 0.0
    y = (x[:, 0] + np.nan_to_num(x[:, 1]) * x[:, 2] + rng.normal(size=n) > 0).astype(int)
    return x, y


def _test_rows(seed: int = 1, n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) * 1.5
    x[rng.random(n) < 0.2, 1] = np.nan
    x[rng.random(n) < 0.2, 2] = 0.0
    x[rng.random(n) < 0.1, 3] = np.nan
    x[:3, 0] = [np.nan, 0.0, 1e-40]
    return x


CASES: list[dict[str, Any]] = [
    {"objective": "binary", "num_leaves": 15},
    {"objective": "binary", "num_leaves": 31, "zero_as_missing": True},
    {"objective": "binary", "num_leaves": 7, "use_missing": False},
    {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.5, "bagging_freq": 1},
    {"objective": "regression", "num_leaves": 10, "max_depth": 3},
    {"objective": "binary", "num_leaves": 5, "sigmoid": 2.0},
]


@pytest.fixture(scope="module", params=range(len(CASES)), ids=lambda i: str(CASES[i]))
def trained(request: pytest.FixtureRequest) -> tuple[lgb.Booster, TreeEnsemble]:
    x, y = _data()
    params = {
        "verbosity": -1,
        "num_threads": 1,
        "min_data_in_leaf": 5,
        "seed": 3,
        **CASES[request.param],
    }
    booster = lgb.train(params, lgb.Dataset(x, y), 40)
    return booster, TreeEnsemble.from_text(booster.model_to_string())


def test_raw_scores_match_lightgbm(trained: tuple[lgb.Booster, TreeEnsemble]) -> None:
    booster, trees = trained
    x = _test_rows()
    np.testing.assert_allclose(trees.predict_raw(x), booster.predict(x, raw_score=True), atol=1e-9)


def test_predictions_match_lightgbm(trained: tuple[lgb.Booster, TreeEnsemble]) -> None:
    booster, trees = trained
    x = _test_rows()
    np.testing.assert_allclose(trees.predict(x), booster.predict(x), atol=1e-9)


def test_contributions_match_lightgbm_treeshap(trained: tuple[lgb.Booster, TreeEnsemble]) -> None:
    booster, trees = trained
    x = _test_rows(n=60)
    ours = trees.predict_contrib(x)
    np.testing.assert_allclose(ours, booster.predict(x, pred_contrib=True), atol=1e-9)
    np.testing.assert_allclose(ours.sum(axis=1), trees.predict_raw(x), atol=1e-9)


def test_single_row_as_vector() -> None:
    x, y = _data()
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(x, y), 10
    )
    trees = TreeEnsemble.from_text(booster.model_to_string())
    row = _test_rows()[5]
    assert trees.predict_raw(row).shape == (1,)
    np.testing.assert_allclose(
        trees.predict_contrib(row), booster.predict(row[None, :], pred_contrib=True), atol=1e-9
    )


def test_single_leaf_trees_and_file_round_trip(tmp_path: Path) -> None:
    x, y = _data()
    params = {"objective": "binary", "verbosity": -1, "num_threads": 1, "min_gain_to_split": 1e9}
    booster = lgb.train(params, lgb.Dataset(x, y), 3)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    trees = TreeEnsemble.from_file(path)
    rows = _test_rows(n=5)
    np.testing.assert_allclose(trees.predict_raw(rows), booster.predict(rows, raw_score=True))
    np.testing.assert_allclose(
        trees.predict_contrib(rows), booster.predict(rows, pred_contrib=True), atol=1e-12
    )


def test_feature_names_are_read() -> None:
    x, y = _data()
    names = ["la", "ld", "nf", "exp", "age"]
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1},
        lgb.Dataset(x, y, feature_name=names),
        2,
    )
    trees = TreeEnsemble.from_text(booster.model_to_string())
    assert trees.feature_names == tuple(names)
    assert trees.objective == "binary"


def test_rejects_wrong_width() -> None:
    x, y = _data()
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(x, y), 2
    )
    trees = TreeEnsemble.from_text(booster.model_to_string())
    with pytest.raises(TreeModelError, match=r"shape \(rows, 5\)"):
        trees.predict_raw(np.zeros((2, 4)))


def test_rejects_categorical_and_multiclass() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 6, 600), rng.normal(size=600)])
    y = (x[:, 0] % 2 == 0).astype(int)
    params = {"objective": "binary", "verbosity": -1, "num_threads": 1, "min_data_per_group": 5}
    cat = lgb.train(params, lgb.Dataset(x, y, categorical_feature=[0]), 3)
    with pytest.raises(TreeModelError, match="categorical"):
        TreeEnsemble.from_text(cat.model_to_string())
    multi = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1},
        lgb.Dataset(x, (x[:, 0] % 3).astype(int)),
        2,
    )
    with pytest.raises(TreeModelError, match="multiclass"):
        TreeEnsemble.from_text(multi.model_to_string())


def test_rejects_text_that_is_not_a_model() -> None:
    with pytest.raises(TreeModelError, match="not a LightGBM model"):
        TreeEnsemble.from_text("hello=world\n")
    broken = "tree\nversion=v4\nmax_feature_idx=0\nTree=0\nnum_leaves=2\nleaf_value=1 2\n"
    with pytest.raises(TreeModelError, match="tree 0: model text lacks '"):
        TreeEnsemble.from_text(broken)
