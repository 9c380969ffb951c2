"""The Numenta Anomaly Benchmark's scoring rules (NAB v1.1), written from its docs and code.

Rules followed (NAB's `labeler.py`, `sweeper.py`, `optimizer.py`, `runner.py`; read, not copied):

- Windows: a file of n rows with k anomalies gets windows of `int(0.1·n / k)` rows centred on each
  anomaly (half of that, rounded down, on each side, clipped to the file). The first window is
  dropped when it starts inside the probationary period; windows that overlap are merged.
- Probationary period: the first `min(floor(0.15·n), 750)` rows are not scored at all.
- Each row gets a weighted score. Inside a window of width w ending at row e, row i earns
  `A_TP · σ̃(-(e - i + 1) / w) / σ̃(-1)` where σ̃(x) = 2 / (1 + exp(5x)) - 1 (the scaled sigmoid,
  -1 beyond x = 3): exactly A_TP at the window's first row, about 0 at its last. Outside windows a
  row costs `A_FP · σ̃(|e - i| / (w - 1))` after a window (cheap just after it) and `-A_FP` before
  the first one.
- A threshold turns scores into detections (score >= threshold). Per window only the best
  (earliest) detection counts; a window without detection costs `-A_FN`; every detected row
  outside windows adds its (negative) weighted score.
- One threshold for the whole corpus: every distinct score of the corpus is tried (plus "never
  fire") and the one with the highest summed raw score is kept; ties keep the highest threshold.
- Normalised score = 100 · (raw - null) / (perfect - null), where null is the raw score of a
  detector that never fires (-A_FN per scored window) and perfect = A_TP per labelled window.
- Profiles: standard (A_TP 1, A_FP 0.11, A_FN 1), reward_low_FP_rate (A_FP 0.22) and
  reward_low_FN_rate (A_FN 2).

Differences from NAB, all for point-labelled corpora or robustness, none on NAB's own labels:

- NAB's labels are single timestamps. Here each maximal run of rows labelled 1 is one anomaly;
  its window is centred on the run's middle row and, when the run is longer than the window,
  widened to cover the whole run (an alarm at the start of a long labelled segment is a hit).
- Windows are row ranges, not timestamp pairs, so duplicate timestamps cannot confuse them.
- Overlapping windows are merged until none overlap (NAB merges pairwise in one pass, which can
  leave a chain of three overlapping windows unmerged).
- A one-row window would divide by zero in NAB's cost after it; here its width counts as 2.
- Scoring starts at `start` when given (e.g. SMD's labelled test half): the rows before it are
  the detector's history, the "file" that NAB's rules see begins there.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vsmml.anomaly.base import FloatArray
from vsmml.errors import DataError

IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]

WINDOW_FRACTION = 0.10
PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 5000  # NAB caps the probationary period at 15 % of 5000 rows


@dataclass(frozen=True)
class Profile:
    """A NAB application profile: weights of a true positive, a false positive, a miss."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
REWARD_LOW_FN = Profile("reward_low_FN_rate", 1.0, 0.11, 2.0)
PROFILES: dict[str, Profile] = {p.name: p for p in (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)}


def scaled_sigmoid(position: FloatArray | float) -> FloatArray:
    """NAB's reward curve σ̃(x) = 2 / (1 + exp(5x)) - 1, and -1 for x > 3."""
    pos = np.asarray(position, dtype=np.float64)
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * pos)) - 1.0
    out: FloatArray = np.where(pos > 3.0, -1.0, val)
    return out


MAX_TP = float(scaled_sigmoid(-1.0))  # 0.98661: the reward at a window's first row, before scaling


def probation_rows(n: int, fraction: float = PROBATION_FRACTION) -> int:
    """Rows at the start of a file that are not scored: min(floor(0.15·n), 750)."""
    return int(min(math.floor(fraction * n), fraction * PROBATION_CAP_ROWS))


def label_runs(labels: Sequence[int] | IntArray) -> list[tuple[int, int]]:
    """Maximal runs of rows labelled 1 (or any positive value) as (first, last) rows, inclusive."""
    lab = (np.asarray(labels) > 0).astype(np.int8)
    edges = np.diff(np.concatenate([[0], lab, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def label_windows(
    labels: Sequence[int] | IntArray,
    window_fraction: float = WINDOW_FRACTION,
    probation_fraction: float = PROBATION_FRACTION,
) -> list[tuple[int, int]]:
    """NAB windows (first, last row, inclusive) for point labels, one anomaly per run of 1s.

    Window length L = int(window_fraction · n / runs); each window spans L // 2 rows either side
    of the run's middle row and at least the run itself. As in NAB's labeler the first window is
    dropped when it starts inside the probationary period, and overlapping windows are merged.
    """
    n = len(labels)
    runs = label_runs(labels)
    if not runs:
        return []
    half = int(window_fraction * n / len(runs)) // 2
    raw = []
    for s, e in runs:
        mid = (s + e) // 2
        raw.append((max(min(s, mid - half), 0), min(max(e, mid + half), n - 1)))
    if raw[0][0] < probation_rows(n, probation_fraction):
        raw = raw[1:]
    merged: list[tuple[int, int]] = []
    for lo, hi in raw:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


@dataclass(frozen=True)
class ScoredFile:
    """One file's rows as NAB's sweeper sees them (probationary rows already removed).

    Attributes:
        name: the file's name (windows are told apart by file).
        scores: detector score of each scored row.
        weights: NAB's weighted score of each scored row under the profile.
        window: index of the window each scored row lies in, -1 outside every window.
        windows: the file's windows (rows relative to its scored start).
        labelled_windows: windows in the labels (the perfect detector's count).
        profile: the weights used.
    """

    name: str
    scores: FloatArray
    weights: FloatArray
    window: IntArray
    windows: tuple[tuple[int, int], ...]
    labelled_windows: int
    profile: Profile

    @property
    def scored_windows(self) -> int:
        """Windows with at least one scored row (the null detector pays A_FN for each)."""
        return int(np.unique(self.window[self.window >= 0]).size)


def row_weights(n: int, windows: Sequence[tuple[int, int]], profile: Profile) -> FloatArray:
    """NAB's weighted score of a detection at each of n rows, given the file's windows."""
    idx = np.arange(n, dtype=np.float64)
    out = np.full(n, -profile.fp, dtype=np.float64)
    for k, (lo, hi) in enumerate(windows):
        width = hi - lo + 1
        inside = idx[lo : hi + 1]
        out[lo : hi + 1] = scaled_sigmoid(-(hi - inside + 1) / width) * profile.tp / MAX_TP
        nxt = windows[k + 1][0] if k + 1 < len(windows) else n
        after = idx[hi + 1 : nxt]
        out[hi + 1 : nxt] = scaled_sigmoid(np.abs(hi - after) / max(width - 1, 1)) * profile.fp
    return out


def score_file(
    scores: Sequence[float] | FloatArray,
    labels: Sequence[int] | IntArray,
    profile: Profile = STANDARD,
    *,
    name: str = "",
    start: int = 0,
) -> ScoredFile:
    """Prepare one file for corpus scoring: windows from its labels, weights, probation removed.

    Args:
        scores: one detector score per row.
        labels: one 0/1 label per row (runs of 1 are anomalies).
        profile: NAB weights.
        name: the file's name.
        start: first row of the file as NAB sees it; earlier rows were history only.
    """
    s = np.asarray(scores, dtype=np.float64)
    lab = np.asarray(labels)
    if s.shape != lab.shape or s.ndim != 1:
        raise DataError(f"nab {name!r}: {s.size} scores but {lab.size} labels")
    if not 0 <= start <= s.size:
        raise DataError(f"nab {name!r}: start {start} outside the file's {s.size} rows")
    s, lab = s[start:], lab[start:]
    if np.isnan(s).any():
        raise DataError(f"nab {name!r}: scores contain NaN (row {int(np.argmax(np.isnan(s)))})")
    n = s.size
    windows = label_windows(lab)
    weights = row_weights(n, windows, profile)
    window = np.full(n, -1, dtype=np.int64)
    for k, (lo, hi) in enumerate(windows):
        window[lo : hi + 1] = k
    keep = slice(probation_rows(n), n)
    return ScoredFile(
        name, s[keep], weights[keep], window[keep], tuple(windows), len(windows), profile
    )


@dataclass(frozen=True)
class CorpusScore:
    """NAB result of a corpus at one threshold.

    `score` is normalised (0 = never fires, 100 = perfect); `raw`, `null` and `perfect` are the
    unnormalised totals; `tp`/`fp` count detected windows and detected rows outside windows.
    """

    threshold: float
    score: float
    raw: float
    null: float
    perfect: float
    detected_windows: int
    windows: int
    false_positive_rows: int


@dataclass(frozen=True)
class Sweep:
    """Raw corpus score at every distinct threshold, highest threshold first."""

    thresholds: FloatArray
    raw: FloatArray
    detected: IntArray
    false_positives: IntArray
    null: float
    perfect: float
    windows: int

    def best(self) -> CorpusScore:
        """The threshold with the highest raw score (the highest such threshold on ties)."""
        i = int(np.argmax(self.raw))
        return self._at(i)

    def at(self, threshold: float) -> CorpusScore:
        """The corpus score when rows scoring >= `threshold` are detections."""
        i = int(np.searchsorted(-self.thresholds, -threshold, side="right")) - 1
        return dataclasses.replace(self._at(max(i, 0)), threshold=float(threshold))

    def _at(self, i: int) -> CorpusScore:
        raw = float(self.raw[i])
        return CorpusScore(
            float(self.thresholds[i]),
            normalise(raw, self.null, self.perfect),
            raw,
            self.null,
            self.perfect,
            int(self.detected[i]),
            self.windows,
            int(self.false_positives[i]),
        )


def normalise(raw: float, null: float, perfect: float) -> float:
    """100 · (raw - null) / (perfect - null); 0 when the corpus has no windows."""
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def sweep(files: Sequence[ScoredFile]) -> Sweep:
    """NAB's threshold sweep over every distinct score of the corpus, in O(rows · log rows).

    Thresholds run from "never fire" (+inf, NAB's 1.1) down through each distinct score. Rows are
    taken in descending score order; an outside row adds its weight, a window row raises its
    window's value to the best weight detected so far (from -A_FN when it was missed).
    """
    if not files:
        raise DataError("nab: no files to score")
    profile = files[0].profile
    if any(f.profile != profile for f in files):
        raise DataError("nab: every file of a corpus must be scored with the same profile")
    scores = np.concatenate([f.scores for f in files])
    weights = np.concatenate([f.weights for f in files])
    offsets = np.cumsum([0] + [len(f.windows) for f in files])[:-1]
    window = np.concatenate(
        [np.where(f.window >= 0, f.window + o, -1) for f, o in zip(files, offsets, strict=True)]
    )
    scored_windows = int(np.unique(window[window >= 0]).size)
    null = -profile.fn * scored_windows
    perfect = profile.tp * sum(f.labelled_windows for f in files)
    delta = np.where(window < 0, weights, 0.0)
    inside = np.flatnonzero(window >= 0)
    first_hit = np.zeros(scores.size, dtype=np.int64)
    if inside.size:
        # per window, in descending score order: the running best weight and its increments
        order = inside[np.lexsort((-scores[inside], window[inside]))]
        groups = window[order]
        span = 2.0 * (profile.tp + profile.fn) + 10.0
        offset = np.unique(groups, return_inverse=True)[1] * span
        best = np.maximum.accumulate(weights[order] + offset) - offset
        new_group = np.concatenate([[True], groups[1:] != groups[:-1]])
        prev = np.where(new_group, -profile.fn, np.concatenate([[0.0], best[:-1]]))
        delta[order] = best - prev
        first_hit[order] = new_group
    order = np.argsort(-scores, kind="stable")
    total = null + np.cumsum(delta[order])
    hits = np.cumsum(first_hit[order])
    fps = np.cumsum(window[order] < 0)
    ranked = scores[order]
    last: IntArray = np.flatnonzero(np.concatenate([ranked[1:] != ranked[:-1], [ranked.size > 0]]))
    return Sweep(
        thresholds=np.concatenate([[np.inf], ranked[last]]),
        raw=np.concatenate([[null], total[last]]),
        detected=np.concatenate([[0], hits[last]]).astype(np.int64),
        false_positives=np.concatenate([[0], fps[last]]).astype(np.int64),
        null=float(null),
        perfect=float(perfect),
        windows=sum(f.labelled_windows for f in files),
    )


def corpus_files(
    scores: Mapping[str, FloatArray],
    labels: Mapping[str, Sequence[int] | IntArray],
    profile: Profile = STANDARD,
    starts: Mapping[str, int] | None = None,
) -> list[ScoredFile]:
    """`score_file` for every file of a corpus (same keys in `scores` and `labels`)."""
    missing = sorted(set(labels) - set(scores))
    if missing:
        raise DataError(f"nab: no scores for {missing[:3]} ({len(missing)} files)")
    starts = starts or {}
    return [
        score_file(scores[k], labels[k], profile, name=k, start=starts.get(k, 0))
        for k in sorted(labels)
    ]


def optimise_threshold(files: Sequence[ScoredFile]) -> CorpusScore:
    """The best corpus score over every distinct threshold, as NAB's optimiser finds it."""
    return sweep(files).best()


def score_at(files: Sequence[ScoredFile], threshold: float) -> CorpusScore:
    """The corpus score at a fixed threshold (chosen elsewhere, e.g. on other corpora)."""
    return sweep(files).at(threshold)
