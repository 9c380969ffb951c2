"""Counterfactual re-scoring of one change with the real scorers (committed default and trained)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_fixtures import jit_frame
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import default_models_dir
from vsmml.recommend.counterfactual import (
    model_trust,
    split_columns,
    split_one,
    what_would_lower,
)

BIG = {
    "ns": 2, "nd": 4, "nf": 10, "entropy": 2.5, "la": 900, "ld": 100, "lt": 5000, "fix": 0,
    "ndev": 8, "age": 30, "nuc": 40, "exp": 150, "rexp": 20, "sexp": 60,
}  # fmt: skip


@pytest.fixture(scope="module")
def default_scorer() -> RiskScorer:
    root = default_models_dir()
    assert root is not None
    return RiskScorer.from_dir(root / "risk")


@pytest.fixture(scope="module")
def context_scorer(tmp_path_factory: pytest.TempPathFactory) -> RiskScorer:
    """A small model whose failures grow with pipeline flakiness (one of its inputs)."""
    from vsmml.models.risk import ChangeRiskModel

    x, _ = jit_frame(1500, seed=1)
    rng = np.random.default_rng(1)
    x["pipeline_flakiness"] = rng.uniform(0.0, 0.3, len(x))
    logit = np.log1p(x["la"].to_numpy()) - 2.5 + 12.0 * (x["pipeline_flakiness"].to_numpy() - 0.15)
    y = (rng.random(len(x)) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    model = ChangeRiskModel(
        n_estimators=25, num_leaves=7, blend_weight=0.6, n_jobs=1, random_state=0
    )
    folder = Path(tmp_path_factory.mktemp("ctx-risk"))
    model.fit(x, y).save(folder)
    return RiskScorer.from_dir(folder)


def test_split_columns_divides_lines_and_shrinks_what_grows_with_files() -> None:
    cols = {
        k: np.array([float(v), 50.0 if k in ("la", "ld") else float(v)]) for k, v in BIG.items()
    }
    cols["la"][0], cols["la"][1] = 900.0, np.nan
    k, piece = split_columns(cols, 200)
    assert k.tolist() == [5.0, 1.0]  # 1,000 lines -> 5 pieces; unknown lines -> unchanged
    assert piece["la"][0] == 180.0 and piece["ld"][0] == 20.0
    assert piece["nf"][0] == 2.0 and piece["nd"][0] == 2.0 and piece["ns"][0] == 2.0
    assert piece["entropy"][0] == pytest.approx(2.5 * 1.0 / np.log2(10.0))
    assert piece["lt"][0] == pytest.approx(1000.0) and piece["nuc"][0] == pytest.approx(8.0)
    assert piece["exp"][0] == 150.0 and piece["fix"][0] == 0.0  # the author stays the author
    assert piece["nf"][1] == cols["nf"][1]


def test_a_large_change_scores_lower_split_and_the_whole_split_is_reported(default_scorer) -> None:  # type: ignore[no-untyped-def]
    [split] = what_would_lower(default_scorer, BIG)
    assert split.action == "split_change" and split.params == {"pieces": 5, "limit": 200}
    assert split.new_probability < split.probability - 0.05
    assert split.any_piece == pytest.approx(1.0 - (1.0 - split.new_probability) ** 5)
    assert split.changed["la"] == (900.0, 180.0)
    small = BIG | {"la": 40, "ld": 5, "nf": 2, "nd": 1, "ns": 1}
    assert what_would_lower(default_scorer, small) == []
    unknown = BIG | {"la": None}
    assert what_would_lower(default_scorer, unknown) == []  # unknown size is never the lever


def test_flaky_fix_counterfactual_only_for_a_scorer_that_reads_flakiness(
    default_scorer, context_scorer
) -> None:  # type: ignore[no-untyped-def]
    row = BIG | {"la": 60, "ld": 10, "pipeline_flakiness": 0.28}
    assert what_would_lower(default_scorer, row, fixed_flakiness=0.0) == []
    [fix] = what_would_lower(context_scorer, row, fixed_flakiness=0.02)
    assert fix.action == "wait_for_flaky_fix" and fix.changed == {
        "pipeline_flakiness": (0.28, 0.02)
    }
    assert fix.new_probability < fix.probability
    assert (
        what_would_lower(context_scorer, row | {"pipeline_flakiness": None}, fixed_flakiness=0.0)
        == []
    )
    assert what_would_lower(context_scorer, row, fixed_flakiness=None) == []


def test_model_trust_comes_from_the_validated_auc(default_scorer, context_scorer) -> None:  # type: ignore[no-untyped-def]
    auc = default_scorer.metadata["metrics"]["validation_auc"]
    assert model_trust(default_scorer) == pytest.approx(2 * (auc - 0.5))
    assert model_trust(context_scorer) == 0.5  # no metadata: half trust


def test_each_counterfactual_scores_as_its_row_alone(default_scorer) -> None:  # type: ignore[no-untyped-def]
    # they are scored in one batch with the change: each must equal its own row scored alone
    row = BIG | {"pipeline_flakiness": 0.3, "deploy_batch_size": 4.0, "n_reviewers": 1.0}
    found = what_would_lower(default_scorer, row, fixed_flakiness=0.01, min_drop=-1.0)
    assert found

    def alone(values: dict[str, float]) -> float:
        cols = {c: np.array([float(values.get(c, np.nan))]) for c in default_scorer.input_columns}
        return float(default_scorer.predict_proba(default_scorer.matrix(cols))[0])

    base = alone(row)
    for c in found:
        assert c.probability == base
        changed = {name: new for name, (_, new) in c.changed.items()}
        if c.action != "split_change":
            assert c.new_probability == alone(row | changed)
    split = next(c for c in found if c.action == "split_change")
    _, piece = split_columns(
        {k: np.array([float(row.get(k, np.nan))]) for k in default_scorer.input_columns}, 200
    )
    assert split.new_probability == alone({k: float(v[0]) for k, v in piece.items()})


def test_split_one_is_split_columns_for_one_change() -> None:
    """The plain-float split (the HTTP service's) equals the vectorised one on generated
    changes: unknown values, tiny and huge changes, files 0/1/many, inputs left out."""
    rng = np.random.default_rng(23)
    names = ["la", "ld", "nf", "nd", "ns", "entropy", "lt", "nuc", "ndev", "exp", "fix"]
    splits = 0
    for _ in range(3000):
        values = {}
        for c in names:
            if rng.random() < 0.9:
                v = float(rng.choice([0.0, 1.0, rng.lognormal(3, 2.5), rng.random() * 4]))
                values[c] = np.nan if rng.random() < 0.12 else v
        limit = int(rng.choice([50, 200, 1000]))
        k, piece = split_one(values, limit)
        kk, cols = split_columns({c: np.array([v]) for c, v in values.items()}, limit)
        assert k == int(kk[0])
        assert set(piece) == set(cols), values
        for c in piece:
            np.testing.assert_allclose(piece[c], cols[c][0], rtol=1e-14, err_msg=f"{c} {values}")
        splits += k > 1
    assert splits > 100
