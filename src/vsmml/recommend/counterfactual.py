"""Counterfactual re-scoring of a change: what would lower its risk, by how much.

Numpy only (no pandas): the release gate imports it on its fast path.

Each counterfactual changes inputs a developer controls and scores the change again with the
same scorer: split it into changes under N lines, ship it after the flaky pipeline is fixed,
ship it in a deploy of its own, get a second reviewer. Only inputs the scorer reads and whose
value is known are changed; an unknown input is never the lever.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Scorer(Protocol):
    """The change-risk scorer interface the recommender uses (`RiskScorer` provides it)."""

    input_columns: list[str]
    threshold: float

    def matrix(self, columns: Mapping[str, npt.ArrayLike]) -> npt.NDArray[np.float64]:
        """Feature matrix from named input columns (missing ones NaN)."""
        ...

    def predict_proba(self, m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Calibrated failure probability per row."""
        ...

    def score(self, columns: Mapping[str, npt.ArrayLike], top: int = 5) -> list[Any]:
        """Probability, raw score and reasons per row."""
        ...


SPLIT_LINES: Final[int] = 200
MIN_DROP: Final[float] = 0.01
"""A counterfactual that lowers the probability by less than this is not reported."""
_SCALED_BY_FILES: Final[tuple[str, ...]] = ("lt", "nuc")


@dataclass(frozen=True)
class Counterfactual:
    """One change to a change and its re-scored probability.

    Attributes:
        action: the catalogue action (`split_change`, `wait_for_flaky_fix` ...).
        description: what changes, in words.
        probability: the change's probability as it is.
        new_probability: the probability after the counterfactual (per piece for a split).
        changed: input → (value now, value after).
        params: values for the action's wording (pieces, limit ...).
        any_piece: for a split, the probability that at least one of the pieces fails.
    """

    action: str
    description: str
    probability: float
    new_probability: float
    changed: dict[str, tuple[float, float]]
    params: dict[str, str | float | int] = field(default_factory=dict)
    any_piece: float | None = None

    @property
    def drop(self) -> float:
        """How much lower the probability is (positive: lower)."""
        return self.probability - self.new_probability

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the gate and the score answers print (`changed` as [now, after])."""
        return {
            "action": self.action,
            "description": self.description,
            "probability": self.probability,
            "new_probability": self.new_probability,
            "any_piece": self.any_piece,
            "changed": {k: list(v) for k, v in self.changed.items()},
        }


def _col(cols: Mapping[str, FloatArray], name: str, n: int) -> FloatArray:
    return np.asarray(cols[name], dtype=np.float64) if name in cols else np.full(n, np.nan)


def split_columns(
    cols: Mapping[str, FloatArray], limit: int = SPLIT_LINES
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Each change split evenly into pieces under `limit` lines: (pieces, one piece's inputs).

    Lines added and deleted divide by the pieces; files become ceil(files / pieces), and
    directories, subsystems, entropy, the touched files' size, their earlier changes and
    developers shrink with the files. Author experience, age and fix stay. A change at or
    under `limit` lines, or with unknown lines, is one piece and unchanged.
    """
    n = len(next(iter(cols.values()))) if cols else 0
    la, ld = _col(cols, "la", n), _col(cols, "ld", n)
    lines = la + ld
    k = np.where(np.isfinite(lines) & (lines > limit), np.ceil(lines / limit), 1.0)
    out = {c: np.asarray(v, dtype=np.float64).copy() for c, v in cols.items()}
    out["la"], out["ld"] = la / k, ld / k
    if "nf" in cols:
        nf = _col(cols, "nf", n)
        nf2 = np.where(np.isfinite(nf), np.maximum(1.0, np.ceil(nf / k)), nf)
        share = np.where(nf > 0, nf2 / np.maximum(nf, 1.0), 1.0)
        out["nf"] = nf2
        if "nd" in cols:
            out["nd"] = np.fmin(_col(cols, "nd", n), nf2)
        if "ns" in cols:
            out["ns"] = np.fmin(_col(cols, "ns", n), out.get("nd", nf2))
        if "entropy" in cols:
            e = _col(cols, "entropy", n)
            ratio = np.log2(np.maximum(nf2, 1.0)) / np.log2(np.maximum(nf, 2.0))
            out["entropy"] = np.where(nf > 1, e * ratio, e)
        for c in _SCALED_BY_FILES:
            if c in cols:
                out[c] = _col(cols, c, n) * share
        if "ndev" in cols:
            out["ndev"] = np.maximum(1.0, _col(cols, "ndev", n) * share)
    return k, out


def _fmin(a: float, b: float) -> float:
    """`numpy.fmin` for two floats: the smaller, ignoring a NaN."""
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def split_one(
    values: Mapping[str, float], limit: int = SPLIT_LINES
) -> tuple[int, dict[str, float]]:
    """`split_columns` for one change in plain floats: (pieces, one piece's inputs).

    The same rules, number for number (a test holds the two equal on generated changes); on
    one row numpy's cost per call (about fifty calls) was most of a score answer's
    counterfactual time in the HTTP service.
    """
    nan = math.nan
    la, ld = float(values.get("la", nan)), float(values.get("ld", nan))
    lines = la + ld
    k = float(math.ceil(lines / limit)) if math.isfinite(lines) and lines > limit else 1.0
    out = {c: float(v) for c, v in values.items()}
    out["la"], out["ld"] = la / k, ld / k
    if "nf" in values:
        nf = out["nf"]
        nf2 = max(1.0, float(math.ceil(nf / k))) if math.isfinite(nf) else nf
        share = nf2 / max(nf, 1.0) if nf > 0 else 1.0
        out["nf"] = nf2
        if "nd" in values:
            out["nd"] = _fmin(out["nd"], nf2)
        if "ns" in values:
            out["ns"] = _fmin(out["ns"], out.get("nd", nf2))
        if "entropy" in values and nf > 1:
            out["entropy"] *= math.log2(max(nf2, 1.0)) / math.log2(max(nf, 2.0))
        for c in _SCALED_BY_FILES:
            if c in values:
                out[c] *= share
        if "ndev" in values:
            scaled = out["ndev"] * share
            out["ndev"] = scaled if math.isnan(scaled) else max(1.0, scaled)
    return int(k), out


def _proba(scorer: Scorer, cols: Mapping[str, FloatArray]) -> FloatArray:
    return np.asarray(scorer.predict_proba(scorer.matrix(cols)), dtype=np.float64)


def _num(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def model_trust(scorer: Scorer) -> float:
    """How far the scorer's validated ranking beats chance: 2 × (AUC − 0.5) from its metadata,
    0.5 when the metadata does not say."""
    meta = getattr(scorer, "metadata", None) or {}
    metrics = meta.get("metrics", {}) if isinstance(meta, Mapping) else {}
    auc = metrics.get("validation_auc") if isinstance(metrics, Mapping) else None
    if auc is None:
        auc = meta.get("auc") if isinstance(meta, Mapping) else None
    try:
        value = float(auc)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.5
    return float(min(max(2.0 * (value - 0.5), 0.0), 1.0)) if np.isfinite(value) else 0.5


def _known(values: Mapping[str, float], name: str, scorer: Scorer) -> float | None:
    v = values.get(name)
    if name not in scorer.input_columns or v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Alternatives:
    """A change's inputs and its counterfactual variants as rows to score in one call.

    Attributes:
        inputs: the scorer's input names, the order of `rows`' columns.
        rows: one row per variant; row 0 is the change as it is, row i + 1 is `made[i]`.
        made: per variant (action, description, changed inputs, wording params).
    """

    inputs: list[str]
    rows: list[list[float]]
    made: list[tuple[str, str, dict[str, tuple[float, float]], dict[str, Any]]]

    @property
    def columns(self) -> dict[str, FloatArray]:
        """The rows as named input columns (what `Scorer.matrix` takes)."""
        m = np.array(self.rows, dtype=np.float64).reshape(len(self.rows), len(self.inputs))
        return {c: m[:, j] for j, c in enumerate(self.inputs)}


def alternatives(
    scorer: Scorer,
    values: Mapping[str, float],
    *,
    split_lines: int = SPLIT_LINES,
    fixed_flakiness: float | None = None,
) -> Alternatives:
    """The rows `what_would_lower` scores: the change, then each counterfactual that applies
    (split it, wait for the flaky fix, ship it alone, a second reviewer). A caller that also
    explains the change scores them with it in one pass (the HTTP service does)."""
    inputs = list(scorer.input_columns)
    # plain floats: on one change numpy's cost per call was most of this function's time
    row = [_num(values.get(c)) for c in inputs]
    rows: list[list[float]] = [row]
    made: list[tuple[str, str, dict[str, tuple[float, float]], dict[str, Any]]] = []
    la, ld = _known(values, "la", scorer), _known(values, "ld", scorer)
    if la is not None and ld is not None and la + ld > split_lines:
        pieces, piece = split_one(dict(zip(inputs, row, strict=True)), split_lines)
        after = [piece[c] for c in inputs]
        # what numpy.isclose(row, after) calls equal is not a change
        changed = {
            c: (r, a)
            for c, r, a in zip(inputs, row, after, strict=True)
            if math.isfinite(r) and not abs(r - a) <= 1e-8 + 1e-5 * abs(a)
        }
        words = f"split into {pieces} changes under {split_lines} lines"
        made.append(("split_change", words, changed, {"pieces": pieces, "limit": split_lines}))
        rows.append(after)
    single: list[tuple[str, float | None, str, str]] = [
        ("pipeline_flakiness", fixed_flakiness, "wait_for_flaky_fix",
         "wait for the flaky pipeline fix"),
        ("deploy_batch_size", 1.0, "ship_alone", "ship it in a deploy of its own"),
        ("n_reviewers", 2.0, "add_reviewer_to_change", "get a second reviewer"),
    ]  # fmt: skip
    for name, to, action, words in single:
        now = _known(values, name, scorer)
        if now is None or to is None or (now <= to if name != "n_reviewers" else now >= to):
            continue
        variant = list(row)
        variant[inputs.index(name)] = float(to)
        rows.append(variant)
        made.append((action, words, {name: (now, float(to))}, {}))
    return Alternatives(inputs, rows, made)


def lowering(
    alts: Alternatives, probs: npt.ArrayLike, *, min_drop: float = MIN_DROP
) -> list[Counterfactual]:
    """The counterfactuals of `alts` that lower the risk by at least `min_drop`, largest first,
    from the probability of each of its rows (row 0: the change as it is)."""
    values = np.asarray(probs, dtype=np.float64)
    p = float(values[0])
    out: list[Counterfactual] = []
    for (action, words, changed, params), q in zip(alts.made, values[1:], strict=True):
        q = float(q)
        if action == "split_change":
            pieces = int(params["pieces"])
            out.append(
                Counterfactual(
                    action, words, p, q, changed, params, any_piece=1.0 - (1.0 - q) ** pieces
                )
            )
        else:
            out.append(Counterfactual(action, words, p, q, changed))
    kept = [c for c in out if c.drop >= min_drop]
    return sorted(kept, key=lambda c: -c.drop)


def what_would_lower(
    scorer: Scorer,
    values: Mapping[str, float],
    *,
    split_lines: int = SPLIT_LINES,
    fixed_flakiness: float | None = None,
    min_drop: float = MIN_DROP,
) -> list[Counterfactual]:
    """The counterfactuals that lower one change's risk by at least `min_drop`, largest first.

    Args:
        scorer: the risk scorer (reads `input_columns`; `matrix` and `predict_proba`).
        values: the change's inputs by name (NaN or None: unknown).
        split_lines: the size limit of the split counterfactual.
        fixed_flakiness: the service's pipeline flakiness once its flaky failures are fixed
            (its non-flaky failure share); None: no flakiness counterfactual.
        min_drop: smallest drop reported.
    """
    alts = alternatives(scorer, values, split_lines=split_lines, fixed_flakiness=fixed_flakiness)
    # every counterfactual row and the change itself are scored in one call (rows are scored
    # independently, so the numbers equal one call per row)
    return lowering(alts, _proba(scorer, alts.columns), min_drop=min_drop)
