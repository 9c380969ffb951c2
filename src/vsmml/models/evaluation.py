"""Metrics and protocols for change-risk models: AUC, PR-AUC, Brier, F1, effort-aware ones, ECE.

Effort-aware metrics follow Kamei et al. (TSE 2013) and Mende & Koschke (2010): changes are
inspected in order of predicted risk per unit of effort (``score / effort``, effort = la + ld,
at least one line), and we ask how many failure-inducing changes are found for a share of the
total effort. Protocols (within-project, cross-project, time-wise, drift) take plain frames in
the canonical JIT shape and callables that score them, so the harness stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError
from vsmml.models.base import time_order, time_ordered_split

FloatArray = npt.NDArray[np.float64]
Scorer = Callable[[pd.DataFrame, pd.DataFrame], FloatArray]
"""Train on the first frame, return failure probabilities for the rows of the second."""

METRICS: Final[tuple[str, ...]] = ("auc", "pr_auc", "brier", "f1", "recall@20%", "popt")


def _arrays(y: npt.ArrayLike, score: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    yy = np.asarray(y, dtype=np.float64)
    ss = np.asarray(score, dtype=np.float64)
    if yy.shape != ss.shape or yy.ndim != 1:
        raise DataError(f"labels {yy.shape} and scores {ss.shape} must be 1-d of equal length")
    return yy, ss


def auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class is present."""
    yy, ss = _arrays(y, score)
    pos = int(yy.sum())
    neg = len(yy) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(ss).rank(method="average").to_numpy()
    return float((ranks[yy == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def pr_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Average precision (the step-wise area under the precision-recall curve)."""
    from sklearn.metrics import average_precision_score

    yy, ss = _arrays(y, score)
    if yy.sum() == 0:
        return float("nan")
    return float(average_precision_score(yy, ss))


def brier(y: npt.ArrayLike, prob: npt.ArrayLike) -> float:
    """Mean squared error of the probabilities."""
    yy, pp = _arrays(y, prob)
    return float(np.mean((pp - yy) ** 2))


def f1(y: npt.ArrayLike, prob: npt.ArrayLike, threshold: float = 0.5) -> float:
    """F1 of the class predicted at `threshold` (0 when nothing is predicted or present)."""
    yy, pp = _arrays(y, prob)
    pred = pp >= threshold
    tp = float(np.sum(pred & (yy == 1)))
    denom = float(pred.sum() + yy.sum())
    return 0.0 if denom == 0 else 2 * tp / denom


def expected_calibration_error(y: npt.ArrayLike, prob: npt.ArrayLike, bins: int = 10) -> float:
    """ECE: bin-size-weighted mean |mean(prob) - failure rate| over equal-width bins."""
    yy, pp = _arrays(y, prob)
    idx = np.clip((pp * bins).astype(int), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(pp[m].mean() - yy[m].mean())
    return float(total / len(yy))


def _effort_curve(
    y: FloatArray, effort: FloatArray, order: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """Cumulative share of effort (x) and of failures found (y) inspecting in `order`."""
    x = np.concatenate([[0.0], np.cumsum(effort[order]) / effort.sum()])
    found = np.concatenate([[0.0], np.cumsum(y[order]) / max(y.sum(), 1.0)])
    return x, found


def _effort(effort: npt.ArrayLike, n: int) -> FloatArray:
    ee = np.maximum(np.asarray(effort, dtype=np.float64), 1.0)
    if ee.shape != (n,):
        raise DataError(f"effort must have one value per change ({n}), got shape {ee.shape}")
    return ee


def _ranked(score: FloatArray, effort: FloatArray) -> npt.NDArray[np.intp]:
    """Order by predicted risk per line, descending; ties go to the smaller change first."""
    return np.lexsort((effort, -(score / effort))).astype(np.intp)


def recall_at_effort(
    y: npt.ArrayLike, score: npt.ArrayLike, effort: npt.ArrayLike, share: float = 0.2
) -> float:
    """Share of failure-inducing changes found inspecting, in ranked order, `share` of effort.

    A change counts when the cumulative effort including it stays within the budget.
    """
    yy, ss = _arrays(y, score)
    ee = _effort(effort, len(yy))
    if yy.sum() == 0:
        return float("nan")
    order = _ranked(ss, ee)
    within = np.cumsum(ee[order]) <= share * ee.sum() + 1e-9
    return float(yy[order][within].sum() / yy.sum())


def popt(y: npt.ArrayLike, score: npt.ArrayLike, effort: npt.ArrayLike) -> float:
    """Normalised effort-aware Popt: 1 - (area(optimal) - area(model)) / (area(opt) - area(worst)).

    The optimal model inspects by actual failure density (failing small changes first), the
    worst by the reverse; areas are under the cumulative failures-vs-effort curve.
    """
    yy, ss = _arrays(y, score)
    ee = _effort(effort, len(yy))
    if yy.sum() == 0 or yy.sum() == len(yy):
        return float("nan")
    density = yy / ee
    optimal = np.lexsort((ee, -density)).astype(np.intp)
    worst = np.lexsort((-ee, density)).astype(np.intp)
    a_opt = _area(yy, ee, optimal)
    a_worst = _area(yy, ee, worst)
    a_model = _area(yy, ee, _ranked(ss, ee))
    if a_opt == a_worst:
        return float("nan")
    return float(1.0 - (a_opt - a_model) / (a_opt - a_worst))


def _area(y: FloatArray, effort: FloatArray, order: npt.NDArray[np.intp]) -> float:
    x, found = _effort_curve(y, effort, order)
    return float(np.sum((x[1:] - x[:-1]) * (found[1:] + found[:-1]) / 2.0))


def score_all(y: npt.ArrayLike, prob: npt.ArrayLike, effort: npt.ArrayLike) -> dict[str, float]:
    """Every metric of `METRICS` (plus ECE) for one set of probabilities."""
    return {
        "auc": auc(y, prob),
        "pr_auc": pr_auc(y, prob),
        "brier": brier(y, prob),
        "f1": f1(y, prob),
        "recall@20%": recall_at_effort(y, prob, effort, 0.2),
        "popt": popt(y, prob, effort),
        "ece": expected_calibration_error(y, prob),
    }


def _effort_of(frame: pd.DataFrame) -> FloatArray:
    effort: FloatArray = frame["la"].to_numpy(np.float64) + frame["ld"].to_numpy(np.float64)
    return effort


def _row(
    project: str, model: str, train: pd.DataFrame, test: pd.DataFrame, prob: FloatArray
) -> dict[str, object]:
    y = test["bug"].to_numpy(np.float64)
    row: dict[str, object] = {"project": project, "model": model}
    row.update(score_all(y, prob, _effort_of(test)))
    row["n_train"] = len(train)
    row["n_test"] = len(test)
    row["rate_train"] = float(train["bug"].mean())
    row["rate_test"] = float(test["bug"].mean())
    return row


def within_project(
    frames: Mapping[str, pd.DataFrame], scorers: Mapping[str, Scorer], train_fraction: float = 0.8
) -> pd.DataFrame:
    """WP protocol: first `train_fraction` of each project by date trains, the rest tests."""
    rows = []
    for project, frame in frames.items():
        tr_idx, te_idx = time_ordered_split(frame["committed_at"], train_fraction)
        train, test = frame.iloc[tr_idx], frame.iloc[te_idx]
        for name, scorer in scorers.items():
            rows.append(_row(project, name, train, test, scorer(train, test)))
    return pd.DataFrame(rows)


def cross_project(
    frames: Mapping[str, pd.DataFrame], scorers: Mapping[str, Scorer], train_fraction: float = 0.8
) -> pd.DataFrame:
    """CP protocol: all rows of the other projects (sorted by date) train; the WP test set tests."""
    if len(frames) < 2:
        raise DataError(f"cross-project evaluation needs at least 2 projects, got {len(frames)}")
    rows = []
    for project, frame in frames.items():
        _, te_idx = time_ordered_split(frame["committed_at"], train_fraction)
        test = frame.iloc[te_idx]
        others = pd.concat([f for p, f in frames.items() if p != project], ignore_index=True)
        train = others.iloc[time_order(others["committed_at"])].reset_index(drop=True)
        for name, scorer in scorers.items():
            rows.append(_row(project, name, train, test, scorer(train, test)))
    return pd.DataFrame(rows)


def timewise(
    frames: Mapping[str, pd.DataFrame], scorers: Mapping[str, Scorer], folds: int = 5
) -> pd.DataFrame:
    """Time-wise validation: cut each project into `folds` chronological chunks; for each
    i >= 1 train on chunks before i and test on chunk i (an expanding window)."""
    rows = []
    for project, frame in frames.items():
        ordered = frame.iloc[time_order(frame["committed_at"])].reset_index(drop=True)
        edges = np.linspace(0, len(ordered), folds + 1).astype(int)
        for i in range(1, folds):
            train = ordered.iloc[: edges[i]]
            test = ordered.iloc[edges[i] : edges[i + 1]]
            for name, scorer in scorers.items():
                row = _row(project, name, train, test, scorer(train, test))
                row["fold"] = i
                rows.append(row)
    return pd.DataFrame(rows)


def drift(
    frames: Mapping[str, pd.DataFrame],
    scorers: Mapping[str, Scorer],
    train_fraction: float = 0.5,
    tolerance: float = 0.05,
    min_rows: int = 100,
) -> pd.DataFrame:
    """AUC by calendar quarter after the training period, with a retraining recommendation.

    The model trains once on the first `train_fraction` by date; each later quarter is scored.
    The reference is the AUC over the first two quarters after training (the model fresh out of
    training); ``retrain`` turns true from the first later quarter of at least `min_rows` changes
    whose AUC falls more than `tolerance` below it, and stays true (fix-inducing changes drift).
    """
    rows = []
    for project, frame in frames.items():
        tr_idx, te_idx = time_ordered_split(frame["committed_at"], train_fraction)
        train, later = frame.iloc[tr_idx], frame.iloc[te_idx]
        quarter = later["committed_at"].dt.tz_convert(None).dt.to_period("Q").astype(str)
        quarters = sorted(quarter.unique())
        y_all = later["bug"].to_numpy(np.float64)
        first = quarter.isin(quarters[:2]).to_numpy()
        for name, scorer in scorers.items():
            prob = scorer(train, later)
            reference = auc(y_all[first], prob[first])
            flagged = False
            for i, q in enumerate(quarters):
                m = (quarter == q).to_numpy()
                value = auc(y_all[m], prob[m])
                judged = i >= 2 and int(m.sum()) >= min_rows  # after the reference half-year
                flagged = flagged or bool(judged and value < reference - tolerance)
                rows.append(
                    {
                        "project": project,
                        "model": name,
                        "quarter": q,
                        "n": int(m.sum()),
                        "rate": float(y_all[m].mean()),
                        "auc": value,
                        "reference_auc": reference,
                        "retrain": flagged,
                        "trained_until": str(train["committed_at"].max()),
                    }
                )
    return pd.DataFrame(rows)
