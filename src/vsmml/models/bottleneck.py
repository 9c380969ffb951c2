"""Bottleneck stage: which stage will dominate lead time per service next period, and per-stage
wait quantiles.

`BottleneckModel` takes the per service-period features of
`vsmml.features.bottleneck_features.period_features` (trailing medians, p85, shares, trend,
queues, WIP, reviewer load, and the signs of a constraint building up: a stage's share rising
over one and three weeks and its waits growing through last week faster than the others').
The stage classifier is a multiclass model built as a shared per-stage scorer: one LightGBM (binary
objective) scores every (period, stage) pair from the stage's own statistics and their margins over
the other stages, and a softmax over the stages of a period gives the class probabilities. Sharing
one scorer across stages uses the few service-periods a team has eight times over (a plain 8-class
LightGBM on 180 periods scored below the naive baselines). The duration part fits one LightGBM
quantile regressor per level on per-change waits (one row per change and stage), so one model
serves every stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError
from vsmml.features.bottleneck_features import (
    SERVICE_STATS,
    STAGE_STATS,
    quantile_rows,
    stage_rows,
)
from vsmml.models.base import check_is_fitted, time_order

FloatArray = npt.NDArray[np.float64]
FORMAT: Final[str] = "vsmml-bottleneck/2"  # /2: ramp features (delta3, late1, late2)
MARGIN_STATS: Final[tuple[str, ...]] = (
    "share1",
    "share4",
    "med4",
    "mean4",
    "p85_4",
    "queue",
    "proj",
    "open_wait_h",
    "late1",
    "delta1",
    "delta3",
)
ROW_FEATURES: Final[tuple[str, ...]] = (
    "stage_code",
    *(f"s_{s}" for s in STAGE_STATS),
    *SERVICE_STATS,
)
CLASS_FEATURES: Final[tuple[str, ...]] = (
    *ROW_FEATURES,
    *(f"margin_{s}" for s in MARGIN_STATS),
    *(f"rank_{s}" for s in MARGIN_STATS),
)


def _relative(rows: pd.DataFrame, n_stages: int) -> pd.DataFrame:
    """Add, per stage row, its margin over the best other stage and its rank within the period."""
    out = rows.copy()
    n = len(rows) // n_stages
    for stat in MARGIN_STATS:
        v = rows[f"s_{stat}"].to_numpy(dtype=np.float64).reshape(n_stages, n)
        filled = np.where(np.isfinite(v), v, -np.inf)
        top2 = -np.sort(-filled, axis=0)[:2] if n_stages > 1 else np.vstack([filled, filled])
        other = np.where(filled == top2[0], top2[1], top2[0])
        with np.errstate(invalid="ignore"):
            margin = np.where(np.isfinite(filled) & np.isfinite(other), filled - other, np.nan)
        rank = np.argsort(np.argsort(-filled, axis=0, kind="stable"), axis=0, kind="stable")
        out[f"margin_{stat}"] = margin.ravel()
        out[f"rank_{stat}"] = rank.ravel().astype(np.float64)
    return out


def pinball(y: npt.ArrayLike, pred: npt.ArrayLike, q: float) -> float:
    """Mean pinball (quantile) loss of predictions `pred` for level q."""
    d = np.asarray(y, dtype=np.float64) - np.asarray(pred, dtype=np.float64)
    return float(np.mean(np.maximum(q * d, (q - 1) * d)))


class BottleneckModel:
    """Next-period dominant stage (multiclass) and per-stage wait quantiles (hours).

    Args:
        stages: the stage vocabulary in a fixed order (default: the labels seen in `fit`, in
            the order their ``<stage>__med4`` columns appear in X).
        quantiles: levels of the per-change wait quantiles to model.
        n_estimators: trees of the classifier; None chooses by early stopping on the most
            recent `validation_fraction` of the periods (then refits on all).
        num_leaves, min_data_in_leaf, learning_rate: LightGBM settings of the classifier.
        quantile_estimators: trees of each quantile regressor.
        random_state: LightGBM seed.
        n_jobs: LightGBM threads (0 = LightGBM's default).
    """

    def __init__(
        self,
        *,
        stages: list[str] | tuple[str, ...] | None = None,
        quantiles: tuple[float, ...] = (0.5, 0.85),
        n_estimators: int | None = None,
        num_leaves: int = 7,
        min_data_in_leaf: int = 20,
        learning_rate: float = 0.05,
        quantile_estimators: int = 200,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        n_jobs: int = 0,
    ) -> None:
        self.stages = stages
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.learning_rate = learning_rate
        self.quantile_estimators = quantile_estimators
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        """The constructor settings (scikit-learn convention)."""
        keys = [
            "stages",
            "quantiles",
            "n_estimators",
            "num_leaves",
            "min_data_in_leaf",
            "learning_rate",
            "quantile_estimators",
            "validation_fraction",
            "random_state",
            "n_jobs",
        ]
        out = {k: getattr(self, k) for k in keys}
        out["stages"] = list(self.stages) if self.stages is not None else None
        out["quantiles"] = list(self.quantiles)
        return out

    def _base_params(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "feature_fraction": 0.9,
            "lambda_l2": 1.0,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    def _class_params(self) -> dict[str, Any]:
        return {
            **self._base_params(),
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
        }

    def _class_matrix(self, X: pd.DataFrame) -> FloatArray:
        """Stage-major rows: all periods for stage 0, then stage 1 ... (n * classes rows)."""
        stages = list(self.classes_)
        missing = [f"{s}__{t}" for s in stages for t in STAGE_STATS if f"{s}__{t}" not in X]
        missing += [c for c in SERVICE_STATS if c not in X.columns]
        if missing:
            raise DataError(f"BottleneckModel: X misses column(s) {missing[:5]}")
        rows = _relative(stage_rows(X, stages), len(stages))
        return rows[list(CLASS_FEATURES)].to_numpy(dtype=np.float64)

    # ------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        waits: pd.DataFrame | None = None,
    ) -> BottleneckModel:
        """Fit the stage classifier on (X, y) and, given `waits`, the quantile regressors.

        Args:
            X: `period_features` rows (needs `period_start` to order periods in time).
            y: the dominant stage of each row's period (`dominant_stages(...)["stage"]`).
            waits: the long per-change waits the features came from (`stage_waits`); the
                quantile models learn each change's wait in each stage from its period's row.
        """
        import lightgbm as lgb

        if not isinstance(X, pd.DataFrame) or "period_start" not in X.columns:
            raise DataError("X must be a DataFrame of period_features with 'period_start'")
        labels = pd.Series(y).astype("str").to_numpy()
        if len(labels) != len(X):
            raise DataError(f"y must hold one stage per row of X ({len(X)}), got {len(labels)}")
        stages = list(self.stages) if self.stages is not None else self._stages_from(X)
        unknown = sorted(set(labels) - set(stages))
        if unknown:
            raise DataError(f"y holds stage(s) {unknown} that are not in stages {stages}")
        self.classes_ = np.array(stages)
        self.feature_names_ = list(CLASS_FEATURES)
        order = time_order(X["period_start"])
        Xs = X.iloc[order].reset_index(drop=True)
        k, n = len(stages), len(Xs)
        m = self._class_matrix(Xs)
        target = (
            np.repeat(np.arange(k), n)
            == np.tile(
                pd.Series(labels[order]).map({s: i for i, s in enumerate(stages)}).to_numpy(), k
            )
        ).astype(np.float64)
        period = np.tile(np.arange(n), k)
        params = self._class_params()
        n_trees = self.n_estimators
        if n_trees is None:
            cut = int(n * (1 - self.validation_fraction))
            if cut < 10 or cut == n:
                raise DataError(f"fit needs at least 13 periods to validate, got {n}")
            tr, va = period < cut, period >= cut
            dtr = lgb.Dataset(m[tr], target[tr])
            dva = lgb.Dataset(m[va], target[va], reference=dtr)
            early = lgb.train(
                {**params, "metric": "binary_logloss"},
                dtr,
                500,
                valid_sets=[dva],
                callbacks=[lgb.early_stopping(30, verbose=False)],
            )
            n_trees = max(int(early.best_iteration), 10)
        self.booster_ = lgb.train(params, lgb.Dataset(m, target), n_trees)
        self.n_estimators_ = n_trees
        self.quantile_boosters_: dict[str, Any] = {}
        if waits is not None:
            self._fit_quantiles(X, waits)
        self.training_period_ = (str(X["period_start"].min()), str(X["period_start"].max()))
        return self

    @staticmethod
    def _stages_from(X: pd.DataFrame) -> list[str]:
        return [c[: -len("__med4")] for c in X.columns if c.endswith("__med4")]

    def _fit_quantiles(self, X: pd.DataFrame, waits: pd.DataFrame) -> None:
        import lightgbm as lgb

        rows = quantile_rows(X, waits, list(self.classes_))
        if rows.empty:
            raise DataError("BottleneckModel: no change waits match the periods of X")
        m = rows[list(ROW_FEATURES)].to_numpy(dtype=np.float64)
        target = rows["wait_h"].to_numpy(dtype=np.float64)
        for q in self.quantiles:
            params = {
                **self._base_params(),
                "objective": "quantile",
                "alpha": float(q),
                "num_leaves": 15,
                "min_data_in_leaf": 50,
            }
            data = lgb.Dataset(m, target, categorical_feature=[0])
            self.quantile_boosters_[f"{q:g}"] = lgb.train(params, data, self.quantile_estimators)

    # ------------------------------------------------------------ predicting
    def _raw(self, X: pd.DataFrame) -> FloatArray:
        """Per-stage scores, shape (n, classes)."""
        check_is_fitted(self, ("booster_",))
        raw = np.asarray(self.booster_.predict(self._class_matrix(X), raw_score=True))
        out: FloatArray = raw.reshape(len(self.classes_), len(X)).T
        return out

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Probability of each stage (columns in `classes_` order) dominating the period."""
        raw = self._raw(X)
        z = np.exp(raw - raw.max(axis=1, keepdims=True))
        out: FloatArray = z / z.sum(axis=1, keepdims=True)
        return out

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.str_]:
        """The most likely dominant stage of each row's period."""
        proba = self.predict_proba(X)
        out: npt.NDArray[np.str_] = self.classes_[np.argmax(proba, axis=1)]
        return out

    def predict_quantiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row and stage, the modelled wait quantiles (hours) of a change in that period.

        Returns a long frame: `row` (position in X), `service`, `period_start`, `stage` and one
        column per level, named ``q<level>`` (e.g. ``q0.5``).
        """
        check_is_fitted(self, ("booster_",))
        if not self.quantile_boosters_:
            raise DataError("BottleneckModel: quantile models need fit(..., waits=...)")
        rows = stage_rows(X, list(self.classes_))
        m = rows[list(ROW_FEATURES)].to_numpy(dtype=np.float64)
        out = rows[["row", "stage"]].copy()
        if "service" in X.columns:
            out["service"] = X["service"].to_numpy()[rows["row"].to_numpy()]
        if "period_start" in X.columns:
            out["period_start"] = X["period_start"].to_numpy()[rows["row"].to_numpy()]
        for level, booster in self.quantile_boosters_.items():
            out[f"q{level}"] = np.maximum(np.asarray(booster.predict(m)), 0.0)
        return out

    def raw_contributions(self, X: pd.DataFrame) -> FloatArray:
        """LightGBM ``pred_contrib`` per stage: shape (n, classes, features + 1); the last axis
        sums to that stage's score (the softmax input)."""
        check_is_fitted(self, ("booster_",))
        k, f = len(self.classes_), len(self.feature_names_)
        c = np.asarray(self.booster_.predict(self._class_matrix(X), pred_contrib=True))
        out: FloatArray = c.reshape(k, len(X), f + 1).transpose(1, 0, 2)
        return out

    def explain(self, X: pd.DataFrame, top: int = 5) -> pd.DataFrame:
        """Top contributions to the predicted stage's score, per row.

        Columns: ``row``, ``stage``, ``rank``, ``feature``, ``value``, ``contribution``; all
        contributions plus the bias sum to the stage's score.
        """
        contrib = self.raw_contributions(X)
        values = self._class_matrix(X).reshape(len(self.classes_), len(X), -1)
        pred = np.argmax(contrib.sum(axis=2), axis=1)
        rows = []
        for i, c in enumerate(pred):
            vals = contrib[i, c, :-1]
            for rank, j in enumerate(np.argsort(-np.abs(vals), kind="stable")[:top], start=1):
                rows.append(
                    {
                        "row": i,
                        "stage": str(self.classes_[c]),
                        "rank": rank,
                        "feature": self.feature_names_[j],
                        "value": float(values[c, i, j]),
                        "contribution": float(vals[j]),
                    }
                )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------ serialising
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: settings, classes and every LightGBM model as text."""
        check_is_fitted(self, ("booster_",))
        return {
            "format": FORMAT,
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "n_estimators": self.n_estimators_,
            "training_period": list(self.training_period_),
            "classifier": self.booster_.model_to_string(),
            "quantiles": {k: b.model_to_string() for k, b in self.quantile_boosters_.items()},
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> BottleneckModel:
        """Rebuild a model from `to_dict` output (no pickle involved)."""
        import lightgbm as lgb

        if state.get("format") != FORMAT:
            raise DataError(f"not a {FORMAT} model: format {state.get('format')!r}")
        params = dict(state["params"])
        params["quantiles"] = tuple(params["quantiles"])
        model = cls(**params)
        model.classes_ = np.array(state["classes"])
        model.feature_names_ = list(CLASS_FEATURES)
        model.n_estimators_ = int(state["n_estimators"])
        model.training_period_ = tuple(state["training_period"])
        model.booster_ = lgb.Booster(model_str=state["classifier"])
        model.quantile_boosters_ = {
            k: lgb.Booster(model_str=v) for k, v in state["quantiles"].items()
        }
        return model

    def to_bytes(self) -> bytes:
        """The model as one JSON document (LightGBM model texts inside)."""
        return json.dumps(self.to_dict()).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> BottleneckModel:
        """Rebuild a model written by `to_bytes`."""
        return cls.from_dict(json.loads(data.decode("utf-8")))

    def save(self, path: str | Path) -> None:
        """Write ``model.json`` into the directory `path`."""
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        (d / "model.json").write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> BottleneckModel:
        """Read a model written by `save`."""
        return cls.from_dict(json.loads((Path(path) / "model.json").read_text(encoding="utf-8")))
