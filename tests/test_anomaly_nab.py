"""NAB v1.1 scoring rules on small cases computed by hand, and the sweep against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vsmml.anomaly.nab import (
    MAX_TP,
    PROFILES,
    REWARD_LOW_FN,
    REWARD_LOW_FP,
    STANDARD,
    corpus_files,
    label_runs,
    label_windows,
    normalise,
    optimise_threshold,
    probation_rows,
    row_weights,
    scaled_sigmoid,
    score_at,
    score_file,
    sweep,
)
from vsmml.errors import DataError

N = 1000


def labels_at(*runs: tuple[int, int], n: int = N) -> np.ndarray:
    lab = np.zeros(n, dtype=int)
    for a, b in runs:
        lab[a : b + 1] = 1
    return lab


def detections(*rows: int, n: int = N) -> np.ndarray:
    s = np.zeros(n)
    s[list(rows)] = 1.0
    return s


ONE = labels_at((500, 501))  # L = int(0.1 · 1000 / 1) = 100 → window rows 450..550 (width 101)


def nab(scores: np.ndarray, labels: np.ndarray = ONE, profile=STANDARD) -> float:
    return score_at([score_file(scores, labels, profile)], 0.5).score


def test_scaled_sigmoid_matches_nab_values() -> None:
    got = scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.0, 3.01]))
    want = [0.98661, 0.84828, 0.0, -0.98661, 2 / (1 + math.exp(15)) - 1, -1.0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert pytest.approx(0.986614, abs=1e-6) == MAX_TP


def test_probationary_period_is_15_percent_capped_at_750_rows() -> None:
    assert [probation_rows(n) for n in (100, 1000, 4032, 5000, 22695)] == [15, 150, 604, 750, 750]


def test_windows_are_10_percent_split_over_runs_and_centred() -> None:
    assert label_runs(labels_at((3, 5), (9, 9), n=12)) == [(3, 5), (9, 9)]
    assert label_windows(ONE) == [(450, 550)]  # mid row 500, 50 rows either side
    two = labels_at((300, 300), (700, 700))  # L = 50 → 25 rows either side
    assert label_windows(two) == [(275, 325), (675, 725)]
    near = labels_at((500, 500), (520, 520))  # (475, 525) and (495, 545) overlap: merged
    assert label_windows(near) == [(475, 545)]
    long = labels_at((400, 599))  # a run longer than L: the window covers the whole run
    assert label_windows(long) == [(400, 599)]
    early = labels_at((100, 100), (700, 700))  # the first window starts in probation: dropped
    assert label_windows(early) == [(675, 725)]
    assert label_windows(np.zeros(50, dtype=int)) == []


def test_row_weights_inside_and_after_a_window() -> None:
    w = row_weights(N, [(450, 550)], STANDARD)
    assert w[449] == pytest.approx(-0.11)  # before the first window: full cost
    assert w[450] == pytest.approx(1.0)  # the window's first row: exactly A_TP
    # row 500: position -(550 - 500 + 1) / 101; σ̃ = 0.851717..., scaled by 1 / σ̃(-1)
    assert w[500] == pytest.approx((2 / (1 + math.exp(-5 * 51 / 101)) - 1) / MAX_TP)
    assert w[500] == pytest.approx(0.86328, abs=1e-5)
    assert w[550] == pytest.approx((2 / (1 + math.exp(-5 / 101)) - 1) / MAX_TP)
    # after the window: position |550 - i| / (101 - 1); row 560 → 0.1 → σ̃(0.1) · 0.11
    assert w[560] == pytest.approx(0.11 * (2 / (1 + math.exp(0.5)) - 1))
    assert w[560] == pytest.approx(-0.026941, abs=1e-6)
    assert w[851] == pytest.approx(-0.11)  # more than 3 window widths after: full cost


def test_hand_computed_file_scores() -> None:
    assert nab(detections(450)) == pytest.approx(100.0)  # raw 1, null -1, perfect 1
    assert nab(np.zeros(N)) == pytest.approx(0.0)
    assert nab(detections(500)) == pytest.approx(100 * (0.86328 + 1) / 2, abs=1e-3)
    assert nab(detections(450, 460, 500)) == pytest.approx(100.0)  # only the first counts
    assert nab(detections(200)) == pytest.approx(100 * (-1.11 + 1) / 2)  # an FP and a miss
    assert nab(detections(100, 450)) == pytest.approx(100.0)  # row 100 is in probation
    assert nab(detections(450, 560)) == pytest.approx(100 * (1 - 0.026941 + 1) / 2, abs=1e-4)


def test_profiles_weigh_false_positives_and_misses() -> None:
    fp_and_hit = detections(200, 450)
    assert nab(fp_and_hit, profile=STANDARD) == pytest.approx(100 * (1 - 0.11 + 1) / 2)
    assert nab(fp_and_hit, profile=REWARD_LOW_FP) == pytest.approx(100 * (1 - 0.22 + 1) / 2)
    # low FN: null = -2, perfect = 1 → a miss with one FP scores 100 · (-2.11 + 2) / 3
    assert nab(detections(200), profile=REWARD_LOW_FN) == pytest.approx(100 * -0.11 / 3)
    assert set(PROFILES) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}


def test_start_skips_history_rows() -> None:
    lab = np.concatenate([labels_at((300, 300), n=500), ONE])  # the early label is history
    s = np.concatenate([detections(300, n=500), detections(450)])
    f = score_file(s, lab, name="smd", start=500)
    assert f.windows == ((450, 550),)
    assert score_at([f], 0.5).score == pytest.approx(100.0)


def test_corpus_sweep_picks_the_best_threshold_over_every_distinct_score() -> None:
    a = np.zeros(N)
    a[450], a[200] = 0.9, 0.8  # hit at 0.9, a false positive at 0.8
    b = np.zeros(N)
    b[520], b[300] = 0.7, 0.95  # a late hit at 0.7, a false positive at 0.95
    files = corpus_files({"a": a, "b": b}, {"a": ONE, "b": ONE})
    sw = sweep(files)
    assert list(sw.thresholds[:5]) == [np.inf, 0.95, 0.9, 0.8, 0.7]
    late = row_weights(N, [(450, 550)], STANDARD)[520]
    want = [-2.0, -2.11, 1 - 1 - 0.11, 1 - 1 - 0.22, 1 + late - 0.22]
    np.testing.assert_allclose(sw.raw[:5], want)
    best = optimise_threshold(files)
    assert best.threshold == 0.7
    assert best.score == pytest.approx(normalise(1 + late - 0.22, -2.0, 2.0))
    assert (best.detected_windows, best.false_positive_rows) == (2, 2)
    assert score_at(files, 0.85).score == pytest.approx(normalise(1 - 1 - 0.11, -2.0, 2.0))
    assert score_at(files, 2.0).score == 0.0  # never fires: the null detector


def test_ties_keep_the_highest_threshold() -> None:
    s = np.zeros(N)
    s[450] = 0.6  # everything below 0.6 adds nothing (all zeros are outside: costs)
    best = optimise_threshold([score_file(s, ONE)])
    assert best.threshold == 0.6


def brute_force(scores: list[np.ndarray], labels: list[np.ndarray], t: float) -> float:
    """The rules applied directly at one threshold (independent of the sweep's bookkeeping)."""
    raw = null = perfect = 0.0
    for s, lab in zip(scores, labels, strict=True):
        n = s.size
        prob = probation_rows(n)
        windows = label_windows(lab)
        weights = row_weights(n, windows, STANDARD)
        inside = np.zeros(n, dtype=bool)
        for lo, hi in windows:
            inside[lo : hi + 1] = True
            rows = list(range(max(lo, prob), hi + 1))
            if not rows:
                continue
            null -= 1.0
            hits = [i for i in rows if s[i] >= t]
            raw += weights[hits[0]] if hits else -1.0
        perfect += len(windows)
        raw += sum(weights[i] for i in range(prob, n) if not inside[i] and s[i] >= t)
    return normalise(raw, null, perfect)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sweep_equals_brute_force_on_random_corpora(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores, labels = [], []
    for _ in range(3):
        n = int(rng.integers(300, 1500))
        lab = np.zeros(n, dtype=int)
        for start in rng.choice(n - 20, size=int(rng.integers(0, 4)), replace=False):
            lab[start : start + int(rng.integers(1, 15))] = 1
        scores.append(np.round(rng.random(n) ** 4, 2))  # many ties
        labels.append(lab)
    files = [
        score_file(s, lab, name=str(i))
        for i, (s, lab) in enumerate(zip(scores, labels, strict=True))
    ]
    sw = sweep(files)
    for t in [*sw.thresholds[1:40:7], 0.005, 0.5]:
        assert sw.at(t).score == pytest.approx(brute_force(scores, labels, t), abs=1e-9)
    best = sw.best()
    assert best.score == pytest.approx(max(brute_force(scores, labels, t) for t in sw.thresholds))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(DataError, match="3 scores but 4 labels"):
        score_file(np.zeros(3), np.zeros(4))
    with pytest.raises(DataError, match="NaN"):
        score_file(np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(DataError, match="no files"):
        sweep([])
    with pytest.raises(DataError, match="no scores"):
        corpus_files({}, {"a": ONE})
    with pytest.raises(DataError, match="same profile"):
        sweep([score_file(np.zeros(N), ONE), score_file(np.zeros(N), ONE, REWARD_LOW_FP)])
