"""Hand-made cases for the NAB-style window scorer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vsmml.anomaly.nab import (
    REWARD_LOW_FP,
    STANDARD,
    best_threshold,
    candidate_thresholds,
    label_windows,
    normalise,
    prepare,
    probation_rows,
    scaled_sigmoid,
    score_at,
)
from vsmml.errors import DataError

N = 200
LABELS = np.zeros(N, dtype=int)
LABELS[100:102] = 1  # one event; pad = int(0.1 * 200 / 1 / 2) = 10 → window rows 90..111


def detections(*rows: int) -> np.ndarray:
    s = np.zeros(N)
    s[list(rows)] = 1.0
    return s


def nab(scores: np.ndarray, labels: np.ndarray = LABELS) -> float:
    return score_at([prepare(scores, labels)], 0.5).score


def test_scaled_sigmoid_shape() -> None:
    np.testing.assert_allclose(
        scaled_sigmoid(np.array([-1.0, 0.0, 3.0, 3.01])),
        [2 / (1 + math.exp(-5)) - 1, 0.0, 2 / (1 + math.exp(15)) - 1, -1.0],
    )


def test_windows_pad_runs_and_merge_neighbours() -> None:
    assert label_windows(LABELS) == [(90, 111)]
    two = np.zeros(100, dtype=int)
    two[[10, 13, 80]] = 1  # three events, pad = int(10 / 3 / 2) = 1; the first two merge
    assert label_windows(two) == [(9, 14), (79, 81)]
    assert label_windows(np.zeros(5, dtype=int)) == []
    edge = np.zeros(20, dtype=int)
    edge[[0, 19]] = 1
    assert label_windows(edge, window_fraction=0.5) == [(0, 2), (17, 19)]


def test_probation_is_15_percent_capped_at_750() -> None:
    assert probation_rows(200) == 30
    assert probation_rows(100_000) == 750


def test_perfect_null_and_window_end_detection() -> None:
    assert nab(detections(90)) == pytest.approx(100.0)
    assert nab(np.zeros(N)) == pytest.approx(0.0)
    late = 2 / (1 + math.exp(-5 / 22)) - 1  # last row of a 22-row window: position -1/22
    perfect = 2 / (1 + math.exp(-5)) - 1
    assert nab(detections(111)) == pytest.approx(100 * (late + 1) / (perfect + 1))
    # only the first detection in a window counts
    assert nab(detections(90, 95, 111)) == pytest.approx(100.0)


def test_false_positives_cost_less_just_after_a_window() -> None:
    perfect = 2 / (1 + math.exp(-5)) - 1
    before = nab(detections(50))
    assert before == pytest.approx(100 * (-1 - 0.11 + 1) / (perfect + 1))
    just_after = nab(detections(112))
    cost = 0.11 * (2 / (1 + math.exp(5 / 21)) - 1)
    assert just_after == pytest.approx(100 * (cost - 1 + 1) / (perfect + 1))
    assert before < just_after < 0
    assert nab(detections(199)) < just_after


def test_detections_in_probation_are_ignored() -> None:
    assert nab(detections(5, 29)) == pytest.approx(0.0)


def test_best_threshold_picks_the_score_that_separates() -> None:
    scores = np.full(N, 0.2)
    scores[92] = 0.9
    scores[40] = 0.6  # a false positive between the two levels
    prepared = [prepare(scores, LABELS)]
    res = best_threshold(prepared, candidate_thresholds(scores))
    assert 0.6 < res.threshold <= 0.9
    assert res.score > 95
    assert res.null == -1.0
    # a stricter profile charges more for the same false positive
    strict = score_at([prepare(scores, LABELS, REWARD_LOW_FP)], 0.5)
    assert strict.score < score_at(prepared, 0.5).score


def test_series_without_anomalies_only_counts_false_positives() -> None:
    quiet = prepare(detections(100), np.zeros(N, dtype=int), STANDARD)
    assert quiet.perfect == 0.0
    np.testing.assert_allclose(quiet.raw(np.array([0.5, 2.0])), [-0.11, 0.0])
    assert normalise(1.0, 0.0, 0.0) == 0.0


def test_shape_mismatch_raises() -> None:
    with pytest.raises(DataError, match="rows"):
        prepare(np.zeros(3), np.zeros(4, dtype=int))
