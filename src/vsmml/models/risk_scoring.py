"""The scoring half of the change-risk model, without LightGBM: one implementation for both.

A risk model's raw score is a blend in log-odds, ``w * trees + (1 - w) * linear``; its probability
is a calibrator applied to that raw score; its explanation is the per-feature contributions of
both parts (TreeSHAP for the trees plus the linear terms), which sum exactly to the raw score.
`RiskScoring` holds that arithmetic over any tree evaluator with ``predict_raw`` and
``predict_contrib``: `ChangeRiskModel` passes its LightGBM booster, `RiskScorer` the numpy
evaluator of the saved ``model.txt`` (`vsmml.models.treeeval`), so `vsmml score` and the API
answer in milliseconds and start without the seconds ``import lightgbm`` costs. The saved format
(`FORMAT`), the default gate threshold and the reason wording are defined here once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from vsmml.errors import DataError, VsmmlError
from vsmml.models.artifacts import MODEL_STATE, MODEL_TEXT, read_metadata
from vsmml.models.calibration import Calibrator, calibrator_from_dict
from vsmml.models.risk_features import (
    TIME_COLUMN,
    RowFeatures,
    build_matrix,
    describe,
    signed_log,
    time_days,
)
from vsmml.models.treeeval import TreeEnsemble

FloatArray = npt.NDArray[np.float64]

FORMAT: Final[str] = "vsmml-risk/1"
"""`model.json`'s ``format``: the layout `ChangeRiskModel.save` writes and `RiskScorer` reads."""
DEFAULT_THRESHOLD: Final[float] = 0.5
"""Gate threshold on the calibrated probability when a model's metadata names none."""


class ModelNotFoundError(VsmmlError, FileNotFoundError):
    """No trained model and no default model could be found, or a folder is not a model."""


class TreePart(Protocol):
    """What the blend needs of a tree ensemble: raw scores and per-feature contributions."""

    def predict_raw(self, rows: FloatArray) -> FloatArray:
        """Sum of leaf values per row (log-odds)."""
        ...

    def predict_contrib(self, rows: FloatArray) -> FloatArray:
        """Per-feature contributions plus the expected value last; rows sum to `predict_raw`."""
        ...


class BoosterTrees:
    """A LightGBM booster as the blend's tree part (`TreePart`); it never imports lightgbm."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict_raw(self, rows: FloatArray) -> FloatArray:
        return np.asarray(self.booster.predict(rows, raw_score=True, num_threads=1), np.float64)

    def predict_contrib(self, rows: FloatArray) -> FloatArray:
        return np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=1), np.float64)


@dataclass(frozen=True)
class LinearPart:
    """The log-linear part: signed-log features, median-imputed, standardised, times `coef`."""

    median: FloatArray
    mean: FloatArray
    std: FloatArray
    coef: FloatArray
    intercept: float

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LinearPart:
        """From the ``linear`` section of ``model.json``."""
        arr = {k: np.asarray(state[k], dtype=np.float64) for k in ("median", "mean", "std", "coef")}
        return cls(intercept=float(np.asarray(state["intercept"]).ravel()[0]), **arr)

    def terms(self, m: FloatArray) -> FloatArray:
        """Per-feature additive terms (rows x features); raw = terms.sum(1) + intercept."""
        z = signed_log(m)
        z = np.where(np.isfinite(z), z, self.median)
        out: FloatArray = (z - self.mean) / self.std * self.coef
        return out


@dataclass(frozen=True)
class Reason:
    """One reason behind a score: the feature, its value, its log-odds push and the wording."""

    feature: str
    value: float
    contribution: float
    text: str


@dataclass(frozen=True)
class RiskScore:
    """A calibrated failure probability with the raw score and the reasons, largest first."""

    probability: float
    raw_score: float
    reasons: list[Reason]


class RiskScoring:
    """Raw score, probability, contributions and worded reasons of a fitted risk model."""

    def __init__(
        self,
        *,
        input_columns: list[str],
        feature_names: list[str],
        trees: TreePart,
        linear: LinearPart,
        blend_weight: float,
        calibrator: Calibrator,
    ) -> None:
        self.input_columns = list(input_columns)
        self.feature_names = list(feature_names)
        self.trees = trees
        self.linear = linear
        self.weight = float(blend_weight)
        self.calibrator = calibrator
        self._rows = RowFeatures(self.input_columns, self.feature_names)

    def matrix_rows(self, rows: Sequence[Sequence[float]]) -> FloatArray:
        """`matrix` of input rows in plain floats (`input_columns` order, no timestamp): the
        same numbers for the few rows of a score request, a fraction of the cost."""
        return self._rows.matrix(rows)

    def matrix(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        """Feature matrix from named input columns; inputs the model knows but `columns` lacks
        are missing (NaN), names it does not know are ignored.

        A ``committed_at`` column (unix seconds, datetime64 or ISO-8601 UTC strings) lets
        ``copies_30d`` look across the rows; without it that feature is missing.
        """
        known = {
            c: np.atleast_1d(np.asarray(columns[c], dtype=np.float64))
            for c in self.input_columns
            if c in columns
        }
        if TIME_COLUMN in columns:
            known[TIME_COLUMN] = np.atleast_1d(time_days(columns[TIME_COLUMN]))
        lengths = {len(v) for v in known.values()}
        if len(lengths) > 1:
            raise DataError(f"input columns differ in length: {sorted(lengths)}")
        n = lengths.pop() if lengths else 1
        for c in (*self.input_columns, TIME_COLUMN):
            if c not in known:
                known[c] = np.full(n, np.nan)
        return build_matrix(known, self.feature_names)

    def raw(self, m: FloatArray) -> FloatArray:
        """Blended log-odds for a feature matrix in `feature_names` order."""
        w = self.weight
        gbm = self.trees.predict_raw(m) if w > 0 else 0.0
        lin = self.linear.terms(m).sum(axis=1) + self.linear.intercept if w < 1 else 0.0
        out: FloatArray = np.asarray(w * gbm + (1 - w) * lin, dtype=np.float64)
        return out

    def predict_proba(self, m: FloatArray) -> FloatArray:
        """Calibrated failure probabilities for a feature matrix, shape (rows,)."""
        return self.calibrator.transform(self.raw(m))

    def contributions(self, m: FloatArray) -> FloatArray:
        """Per-feature log-odds contributions plus the bias last; rows sum to `raw`."""
        return self._explain(m, len(m))[0]

    def _explain(self, m: FloatArray, explain: int) -> tuple[FloatArray, FloatArray]:
        """`contributions` of the first `explain` rows and `raw` of the others, the linear
        part of all rows in one call."""
        w = self.weight
        n_rest = len(m) - explain
        if w > 0:  # each array op on a few rows costs a few microseconds: as few as can be
            contrib = w * np.asarray(self.trees.predict_contrib(m[:explain]), dtype=np.float64)
            rest = w * self.trees.predict_raw(m[explain:]) if n_rest else np.zeros(0)
        else:
            contrib = np.zeros((explain, len(self.feature_names) + 1))
            rest = np.zeros(n_rest)
        if w < 1:
            terms = self.linear.terms(m)
            contrib[:, :-1] += (1 - w) * terms[:explain]
            contrib[:, -1] += (1 - w) * self.linear.intercept
            if n_rest:
                rest += (1 - w) * (terms[explain:].sum(axis=1) + self.linear.intercept)
        return contrib, rest

    def score(self, columns: Mapping[str, npt.ArrayLike], top: int = 5) -> list[RiskScore]:
        """Probability, raw score and the `top` reasons for each row of `columns`."""
        return self.score_matrix(self.matrix(columns), top)

    def score_matrix(self, m: FloatArray, top: int = 5) -> list[RiskScore]:
        """`score` for a ready feature matrix."""
        return self.score_explained(m, len(m), top)[0]

    def score_explained(
        self, m: FloatArray, explain: int, top: int = 5
    ) -> tuple[list[RiskScore], FloatArray]:
        """The first `explain` rows of `m` scored with their reasons, and the calibrated
        probability of every row. The other rows (a change's counterfactual variants) need
        only raw scores, a small part of an explanation's cost, so one call serves both."""
        contrib, rest = self._explain(m, explain)
        raw = np.concatenate([contrib.sum(axis=1), rest])
        prob = self.calibrator.transform(raw)
        names = self.feature_names
        n = len(names)
        top = max(top, 0)
        out = []
        # plain floats per row: numpy's cost per call on 24 values was most of this loop
        for i in range(explain):
            values, pushes = m[i].tolist(), contrib[i].tolist()
            # largest push first, ties in feature order (numpy's stable argsort of -|push|)
            order = sorted(range(n), key=[-abs(p) for p in pushes].__getitem__)[:top]
            reasons = [
                Reason(
                    feature=names[j],
                    value=values[j],
                    contribution=pushes[j],
                    text=describe(names[j], values[j]),
                )
                for j in order
            ]
            out.append(RiskScore(float(prob[i]), float(raw[i]), reasons))
        return out, prob


class RiskScorer(RiskScoring):
    """A saved `ChangeRiskModel` scored from its files (``model.txt`` + ``model.json``) with the
    numpy tree evaluator: no LightGBM, no pandas."""

    def __init__(self, state: Mapping[str, Any], trees: TreeEnsemble, meta: Mapping[str, Any]):
        if state.get("format") != FORMAT:
            raise DataError(f"not a {FORMAT} model: format {state.get('format')!r}")
        names = list(state["feature_names"])
        if trees.n_features != len(names):
            raise DataError(
                f"model.txt has {trees.n_features} features, model.json names {len(names)}"
            )
        super().__init__(
            input_columns=list(state["input_columns"]),
            feature_names=names,
            trees=trees,
            linear=LinearPart.from_state(state["linear"]),
            blend_weight=float(state["blend_weight"]),
            calibrator=calibrator_from_dict(dict(state["calibrator"])),
        )
        self.training_period = tuple(state.get("training_period", ()))
        self.metadata = dict(meta)
        self.threshold = float(self.metadata.get("threshold", DEFAULT_THRESHOLD))

    @classmethod
    def from_dir(cls, path: str | Path, *, native: bool = False) -> RiskScorer:
        """Load ``model.txt``, ``model.json`` and (optional) ``metadata.json`` from a folder.

        ``native=True`` evaluates the trees with LightGBM's own booster (same numbers to
        1e-13, about 500x faster TreeSHAP on deep trees) for long-running processes, which can
        afford its import; the default stays lightgbm-free for a fast command start.
        """
        d = Path(path)
        missing = [f for f in (MODEL_TEXT, MODEL_STATE) if not (d / f).is_file()]
        if missing:
            raise ModelNotFoundError(f"{d}: missing {missing} (not a risk model folder)")
        try:
            state = json.loads((d / MODEL_STATE).read_text("utf-8"))
            ensemble = TreeEnsemble.from_file(d / MODEL_TEXT)
            scorer = cls(state, ensemble, read_metadata(d))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelNotFoundError(f"{d}: not a readable risk model ({exc!r})") from exc
        if native:
            import lightgbm as lgb

            scorer.trees = BoosterTrees(lgb.Booster(model_file=str(d / MODEL_TEXT)))
        return scorer
