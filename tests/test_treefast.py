"""The compiled trees (`TableTrees`) must give LightGBM's raw scores and TreeSHAP values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from vsmml.models.treeeval import TreeEnsemble, TreeModelError
from vsmml.models.treefast import TableTrees

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "risk" / "model.txt"


def _data(seed: int = 0, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[rng.random(n) < 0.15, 1] = np.nan
    x[rng.random(n) < 0.25, 2] = 0.0
    y = (x[:, 0] + np.nan_to_num(x[:, 1]) * x[:, 2] + rng.normal(size=n) > 0).astype(int)
    return x, y


def _rows(seed: int = 1, n: int = 300, width: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)) * 1.5
    x[rng.random((n, width)) < 0.15] = np.nan
    x[rng.random((n, width)) < 0.15] = 0.0
    x[:3, 0] = [np.nan, 0.0, 1e-40]
    return x


CASES: list[dict[str, Any]] = [
    {"objective": "binary", "num_leaves": 31},
    {"objective": "binary", "num_leaves": 31, "zero_as_missing": True},
    {"objective": "binary", "num_leaves": 7, "use_missing": False},
    {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.5, "bagging_freq": 1},
    {"objective": "regression", "num_leaves": 63, "min_data_in_leaf": 2},
]


@pytest.fixture(scope="module", params=range(len(CASES)), ids=lambda i: str(CASES[i]))
def trained(request: pytest.FixtureRequest) -> tuple[lgb.Booster, TableTrees]:
    x, y = _data()
    params = {"verbosity": -1, "num_threads": 1, "min_data_in_leaf": 5, "seed": 3}
    booster = lgb.train({**params, **CASES[request.param]}, lgb.Dataset(x, y), 40)
    return booster, TableTrees(TreeEnsemble.from_text(booster.model_to_string()))


def test_raw_scores_are_lightgbms(trained: tuple[lgb.Booster, TableTrees]) -> None:
    booster, trees = trained
    x = _rows()
    np.testing.assert_array_equal(trees.predict_raw(x), booster.predict(x, raw_score=True))


def test_contributions_are_lightgbms_treeshap(trained: tuple[lgb.Booster, TableTrees]) -> None:
    booster, trees = trained
    x = _rows()
    ours = trees.predict_contrib(x)
    np.testing.assert_allclose(ours, booster.predict(x, pred_contrib=True), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.sum(axis=1), trees.predict_raw(x), rtol=0, atol=1e-12)
    one = trees.predict_contrib(x[5])  # a single row as a vector
    np.testing.assert_array_equal(one, ours[5:6])


def test_the_shipped_model_on_many_rows() -> None:
    """The default risk model (326 trees of 31 leaves, paths of up to 12 features)."""
    booster = lgb.Booster(model_file=str(SHIPPED))
    trees = TableTrees(TreeEnsemble.from_file(SHIPPED))
    rng = np.random.default_rng(7)
    x = rng.lognormal(2.0, 2.0, size=(2000, trees.n_features))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[rng.random(x.shape) < 0.1] = 0.0
    expected = booster.predict(x, pred_contrib=True, num_threads=1)
    np.testing.assert_allclose(trees.predict_contrib(x), expected, rtol=0, atol=1e-12)
    raw = booster.predict(x, raw_score=True, num_threads=1)
    np.testing.assert_array_equal(trees.predict_raw(x), raw)
    assert 0 < trees.table_bytes < 100 * 2**20


@pytest.mark.parametrize("width", [0, 3, 5])
def test_leaves_computed_per_row_equal_the_tabulated(width: int) -> None:
    """Leaves wider than `table_width` are computed per row with the same arithmetic (sums
    of sibling leaves run in another order, so to rounding)."""
    ensemble = TreeEnsemble.from_file(SHIPPED)
    rows = np.random.default_rng(3).lognormal(2.0, 2.0, size=(40, ensemble.n_features))
    rows[::3, ::4] = np.nan
    mixed = TableTrees(ensemble, table_width=width)
    assert mixed.table_bytes < TableTrees(ensemble).table_bytes
    np.testing.assert_allclose(
        mixed.predict_contrib(rows), TableTrees(ensemble).predict_contrib(rows), rtol=0, atol=1e-13
    )


def test_single_leaf_trees() -> None:
    x = np.zeros((50, 3))
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "min_data_in_leaf": 1},
        lgb.Dataset(x, np.arange(50.0)),
        3,
    )
    trees = TableTrees(TreeEnsemble.from_text(booster.model_to_string()))
    rows = _rows(n=5, width=3)
    np.testing.assert_allclose(
        trees.predict_contrib(rows), booster.predict(rows, pred_contrib=True), atol=1e-12
    )
    np.testing.assert_array_equal(trees.predict_raw(rows), booster.predict(rows, raw_score=True))


def test_refuses_tables_over_the_limit_and_rows_of_the_wrong_width() -> None:
    ensemble = TreeEnsemble.from_file(SHIPPED)
    with pytest.raises(TreeModelError, match="too deep"):
        TableTrees(ensemble, max_cells=10_000)
    trees = TableTrees(ensemble)
    with pytest.raises(TreeModelError, match="shape"):
        trees.predict_contrib(np.zeros((2, 3)))


@pytest.mark.parametrize("max_leaves", [1, 2, 3, 8])
def test_any_subtree_size_gives_lightgbms_treeshap(max_leaves: int) -> None:
    """One table per subtree of up to `max_leaves` leaves (1: every leaf alone) sums the same
    values in another grouping: LightGBM's numbers for each size, on the shipped model."""
    booster = lgb.Booster(model_file=str(SHIPPED))
    ensemble = TreeEnsemble.from_file(SHIPPED)
    trees = TableTrees(ensemble, max_leaves=max_leaves)
    rng = np.random.default_rng(11)
    x = rng.lognormal(2.0, 2.0, size=(300, trees.n_features))
    x[rng.random(x.shape) < 0.2] = np.nan
    expected = booster.predict(x, pred_contrib=True, num_threads=1)
    np.testing.assert_allclose(trees.predict_contrib(x), expected, rtol=0, atol=1e-12)


def test_units_cover_every_leaf_once_within_their_size() -> None:
    from vsmml.models.treefast import _Paths
    from vsmml.models.treeunits import group

    ensemble = TreeEnsemble.from_file(SHIPPED)
    paths = _Paths(ensemble)
    n_leaves = len(paths.leaf_features)
    for max_leaves, table_width in ((1, 16), (4, 16), (6, 16), (6, 5)):
        units = group(ensemble, paths.leaf_features, paths.node_slot, table_width, max_leaves)
        sizes = np.diff(units.leaf0)
        assert sorted(units.leaf) == list(range(n_leaves))  # every leaf, once
        assert sizes.min() >= 1 and sizes.max() <= max_leaves
        assert (max_leaves == 1) == (len(units.root) == n_leaves)
        for i, tabled in enumerate(units.tabled):
            widths = [
                len(paths.leaf_features[f]) for f in units.leaf[units.leaf0[i] : units.leaf0[i + 1]]
            ]
            # a table is indexed by at most table_width bits; wider leaves are alone, untabled
            assert tabled == (max(widths) <= table_width and units.p[i] + units.s[i] <= table_width)
            assert tabled or sizes[i] == 1
