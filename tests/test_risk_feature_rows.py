"""`RowFeatures` (one change's features in plain floats) against `build_matrix` (numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from vsmml.models.risk_features import (
    COPY_FEATURE,
    JIT_FEATURES,
    RATIOS,
    RowFeatures,
    build_matrix,
    feature_names,
)

CONTEXT = ["pipeline_flakiness", "deploy_batch_size", "n_reviewers"]


def _inputs(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Counts over six orders of magnitude, with zeros, ones, twos, NaN and infinities."""
    x = np.exp(rng.uniform(-3.0, 14.0, (n, width)))
    x[rng.random((n, width)) < 0.1] = 0.0
    x[rng.random((n, width)) < 0.05] = 1.0
    x[rng.random((n, width)) < 0.05] = 2.0
    ints = rng.random((n, width)) < 0.3
    x[ints] = np.round(x[ints])
    x[rng.random((n, width)) < 0.15] = np.nan
    x[rng.random((n, width)) < 0.01] = np.inf
    return x


@pytest.mark.parametrize(
    "inputs",
    [list(JIT_FEATURES), [*JIT_FEATURES, *CONTEXT], ["la", "ld", "nf", "entropy"], ["la", "lt"]],
)
def test_row_features_are_build_matrix_number_for_number(inputs: list[str]) -> None:
    rng = np.random.default_rng(7)
    names = feature_names(inputs)
    x = _inputs(rng, 60_000, len(inputs))
    want = build_matrix({c: x[:, j] for j, c in enumerate(inputs)}, names)
    got = RowFeatures(inputs, names).matrix(x.tolist())
    assert got.shape == want.shape
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    bad = np.argwhere(~same)[:3]
    assert same.all(), [(names[j], want[i, j], got[i, j]) for i, j in bad]
    # -0.0 and 0.0 compare equal: the sign of zero must match too
    assert (np.signbit(got) == np.signbit(want)).all()


def test_row_features_cover_every_ratio_and_leave_copies_missing() -> None:
    inputs = list(JIT_FEATURES)
    names = feature_names(inputs)
    assert set(RATIOS) <= set(names) and COPY_FEATURE in names
    row = RowFeatures(inputs, names).row([10.0] * len(inputs))
    at = names.index
    assert np.isnan(row[at(COPY_FEATURE)])  # one change alone has no 30 days of history
    assert row[at("churn_nf")] == 2.0 and row[at("la_share")] == 0.5
    assert row[at("entropy_norm")] == pytest.approx(10.0 / np.log2(10.0), rel=1e-15)


def test_row_features_refuse_a_feature_without_its_inputs() -> None:
    with pytest.raises(ValueError, match=r"la_lt.*lt"):
        RowFeatures(["la"], ["la", "la_lt"])


def test_reasons_are_the_largest_pushes_in_numpys_stable_order() -> None:
    """`score_explained` ranks reasons in plain Python: the order of numpy's stable argsort
    of -|contribution|, with each reason's value and push those of its feature."""
    from pathlib import Path

    from vsmml.models.risk_scoring import RiskScorer
    from vsmml.models.treefast import TableTrees

    scorer = RiskScorer.from_dir(Path(__file__).resolve().parents[1] / "models" / "risk")
    scorer.trees = TableTrees(scorer.trees)  # the server's explainer: fast enough for many rows
    rng = np.random.default_rng(5)
    inputs = scorer.input_columns
    x = _inputs(rng, 1_000, len(inputs))
    x[~np.isfinite(x)] = np.nan
    m = scorer.matrix({c: x[:, j] for j, c in enumerate(inputs)})
    scores, _ = scorer.score_explained(m, len(m), top=24)
    contrib = scorer.contributions(m)[:, :-1]
    for i, s in enumerate(scores):
        want = np.argsort(-np.abs(contrib[i]), kind="stable")
        assert [r.feature for r in s.reasons] == [scorer.feature_names[j] for j in want]
        assert [r.contribution for r in s.reasons] == contrib[i, want].tolist()
        got = np.array([r.value for r in s.reasons])
        np.testing.assert_array_equal(got, m[i, want])
