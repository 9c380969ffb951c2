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
