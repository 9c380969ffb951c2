"""A window-based detection score in the spirit of the Numenta Anomaly Benchmark (NAB).

Each labelled anomaly (a run of rows labelled 1) gets a window around it; the first detection
inside a window earns a reward that falls with a scaled sigmoid from ~A_TP at the window's start
to ~0 at its end; every detection outside a window costs up to |A_FP| (less just after a window);
a window without detection costs A_FN. The first 15 % of a series (at most 750 rows) is a
probationary period in which detections are not counted. The raw total is normalised so that a
detector that never fires scores 0 and one that fires at the start of every window scores 100;
the alert threshold is chosen per detector over the whole corpus, as NAB does.

Written from the published description of NAB's scoring (Lavin & Ahmad 2015), not its code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vsmml.anomaly.base import FloatArray
from vsmml.errors import DataError

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


@dataclass(frozen=True)
class Profile:
    """Weights of a NAB application profile (A_FP is a cost, given as a positive number)."""

    tp: float = 1.0
    fp: float = 0.11
    fn: float = 1.0


STANDARD = Profile()
REWARD_LOW_FP = Profile(tp=1.0, fp=0.22, fn=1.0)
REWARD_LOW_FN = Profile(tp=1.0, fp=0.11, fn=2.0)


def scaled_sigmoid(position: FloatArray) -> FloatArray:
    """NAB's reward curve: 2·σ(-5x) - 1 (≈ 0.987 at x = -1, 0 at x = 0), -1 beyond x = 3."""
    pos = np.asarray(position, dtype=np.float64)
    val = 2.0 / (1.0 + np.exp(5.0 * pos)) - 1.0
    out: FloatArray = np.where(pos > 3.0, -1.0, val)
    return out


def label_windows(
    labels: Sequence[int] | IntArray, window_fraction: float = 0.1
) -> list[tuple[int, int]]:
    """Windows (first, last row, inclusive) around each run of 1-labels, merged when they touch.

    The windows together span about `window_fraction` of the series beyond the labelled rows:
    each run is widened on both sides by half of `window_fraction · n / runs`.
    """
    lab = np.asarray(labels, dtype=np.int64)
    n = lab.size
    edges = np.diff(np.concatenate([[0], (lab > 0).astype(np.int64), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    if starts.size == 0:
        return []
    pad = int(window_fraction * n / starts.size / 2)
    windows: list[tuple[int, int]] = []
    for s, e in zip(starts, ends, strict=True):
        lo, hi = max(0, int(s) - pad), min(n - 1, int(e) + pad)
        if windows and lo <= windows[-1][1] + 1:
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    return windows


def probation_rows(n: int, fraction: float = 0.15, cap: int = 750) -> int:
    """Rows at the start of a series in which detections are not counted."""
    return min(int(np.floor(fraction * n)), cap)


@dataclass
class PreparedSeries:
    """One scored series, precomputed so that many thresholds can be evaluated at once."""

    window_maxes: list[FloatArray] = field(default_factory=list)
    window_rewards: list[FloatArray] = field(default_factory=list)
    outside_scores: FloatArray = field(default_factory=lambda: np.zeros(0))
    outside_cost_cumsum: FloatArray = field(default_factory=lambda: np.zeros(0))
    null: float = 0.0
    perfect: float = 0.0
    null_per_window: float = 0.0

    def raw(self, thresholds: FloatArray) -> FloatArray:
        """Raw NAB score of this series at each threshold (a detection is score >= threshold)."""
        total = np.zeros(thresholds.size)
        for cm, reward in zip(self.window_maxes, self.window_rewards, strict=True):
            k = np.searchsorted(cm, thresholds, side="left")
            hit = k < cm.size
            total += np.where(hit, reward[np.minimum(k, cm.size - 1)], self.null_per_window)
        if self.outside_scores.size:
            # outside_scores ascending; rows with score >= t are the tail from index j on
            j = np.searchsorted(self.outside_scores, thresholds, side="left")
            csum = self.outside_cost_cumsum
            total += csum[-1] - np.where(j > 0, csum[np.maximum(j - 1, 0)], 0.0)
        return total


def prepare(
    scores: FloatArray,
    labels: Sequence[int] | IntArray,
    profile: Profile = STANDARD,
    window_fraction: float = 0.1,
) -> PreparedSeries:
    """Precompute windows, in-window rewards and outside-window costs of one series."""
    s = np.asarray(scores, dtype=np.float64)
    lab = np.asarray(labels)
    if s.shape != lab.shape:
        raise DataError(f"nab: scores has {s.size} rows but labels has {lab.size}")
    n = s.size
    prob = probation_rows(n)
    windows = [(lo, hi) for lo, hi in label_windows(lab, window_fraction) if hi >= prob]
    prepared = PreparedSeries(null_per_window=-profile.fn)
    in_window = np.zeros(n, dtype=bool)
    for lo, hi in windows:
        in_window[lo : hi + 1] = True
        width = hi - lo + 1
        rows = np.arange(max(lo, prob), hi + 1)
        reward = profile.tp * scaled_sigmoid(-(hi - rows + 1) / width)
        prepared.window_maxes.append(np.maximum.accumulate(s[rows]))
        prepared.window_rewards.append(reward)
        prepared.perfect += float(reward[0])
        prepared.null -= profile.fn
    outside = np.flatnonzero(~in_window & (np.arange(n) >= prob))
    cost = _fp_costs(outside, windows, profile)
    order = np.argsort(s[outside], kind="stable")
    prepared.outside_scores = s[outside][order]
    prepared.outside_cost_cumsum = np.cumsum(cost[order])
    return prepared


def _fp_costs(rows: IntArray, windows: list[tuple[int, int]], profile: Profile) -> FloatArray:
    """Cost of a false positive at each row: full before the first window, less just after one."""
    cost = np.full(rows.size, -profile.fp)
    if not windows:
        return cost
    rights = np.array([hi for _, hi in windows])
    widths = np.array([hi - lo + 1 for lo, hi in windows])
    k = np.searchsorted(rights, rows, side="left") - 1  # last window ending before the row
    after = k >= 0
    kk = np.maximum(k, 0)
    pos = np.abs(rows - rights[kk]) / np.maximum(widths[kk] - 1, 1)
    out: FloatArray = np.where(after, profile.fp * scaled_sigmoid(pos), cost)
    return out


@dataclass(frozen=True)
class CorpusScore:
    """Best threshold and normalised score (0 = never fires, 100 = perfect) over many series."""

    threshold: float
    score: float
    raw: float
    null: float
    perfect: float


def normalise(raw: float, null: float, perfect: float) -> float:
    """100 · (raw - null) / (perfect - null)."""
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def candidate_thresholds(all_scores: FloatArray, count: int = 400) -> FloatArray:
    """Quantiles of the pooled scores plus the top distinct values (where thresholds matter)."""
    pooled = np.unique(all_scores)
    qs = np.quantile(pooled, np.linspace(0.0, 1.0, count)) if pooled.size else np.zeros(1)
    top = pooled[-count:]
    return np.unique(np.concatenate([qs, top, [np.inf]]))


def score_at(prepared: Sequence[PreparedSeries], threshold: float) -> CorpusScore:
    """Corpus score at a fixed threshold (for a held-out half with a threshold tuned elsewhere)."""
    raw = float(sum(p.raw(np.array([threshold]))[0] for p in prepared))
    null = float(sum(p.null for p in prepared))
    perfect = float(sum(p.perfect for p in prepared))
    return CorpusScore(threshold, normalise(raw, null, perfect), raw, null, perfect)


def best_threshold(prepared: Sequence[PreparedSeries], thresholds: FloatArray) -> CorpusScore:
    """The threshold with the highest total raw score over the corpus, and that score."""
    totals = np.zeros(thresholds.size)
    for p in prepared:
        totals += p.raw(thresholds)
    i = int(np.argmax(totals))
    null = float(sum(p.null for p in prepared))
    perfect = float(sum(p.perfect for p in prepared))
    raw = float(totals[i])
    return CorpusScore(float(thresholds[i]), normalise(raw, null, perfect), raw, null, perfect)
