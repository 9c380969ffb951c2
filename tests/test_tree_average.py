"""Averaging LightGBM boosters into one model text: scores and TreeSHAP are the means."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from vsmml.errors import DataError
from vsmml.models.tree_average import average_boosters, average_model_text
from vsmml.models.treeeval import TreeEnsemble


def _boosters() -> tuple[list[lgb.Booster], np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[rng.random(x.shape) < 0.05] = np.nan
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=600) > 0).astype(float)
    boosters = [
        lgb.train(
            {"objective": "binary", "num_leaves": leaves, "verbosity": -1, "num_threads": 1},
            lgb.Dataset(x, y),
            rounds,
        )
        for leaves, rounds in ((3, 12), (7, 5), (15, 8))
    ]
    return boosters, x


def test_average_scores_and_explains_as_the_mean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    boosters, x = _boosters()
    merged = average_boosters(boosters)
    assert merged.num_trees() == 25
    mean_raw = np.mean([b.predict(x, raw_score=True) for b in boosters], axis=0)
    mean_contrib = np.mean([b.predict(x, pred_contrib=True) for b in boosters], axis=0)
    np.testing.assert_allclose(merged.predict(x, raw_score=True), mean_raw, atol=1e-12)
    np.testing.assert_allclose(merged.predict(x, pred_contrib=True), mean_contrib, atol=1e-12)
    path = tmp_path / "model.txt"
    path.write_text(average_model_text([b.model_to_string() for b in boosters]))
    trees = TreeEnsemble.from_file(path)
    np.testing.assert_allclose(trees.predict_raw(x), mean_raw, atol=1e-12)
    np.testing.assert_allclose(trees.predict_contrib(x), mean_contrib, atol=1e-12)
    assert average_boosters(boosters[:1]) is boosters[0]


def test_refuses_nothing_to_average() -> None:
    with pytest.raises(DataError, match="at least one"):
        average_model_text([])
    with pytest.raises(DataError, match="no trees"):
        average_model_text(["tree\nversion=v4\n"])
