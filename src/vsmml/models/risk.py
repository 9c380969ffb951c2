"""Change-failure risk: a calibrated, explained LightGBM + log-linear blend over JIT metrics.

`ChangeRiskModel` scores how likely a change is to induce a failure. It blends, in log-odds, a
gradient-boosted tree model with a logistic model on log-transformed features: the trees catch
interactions, the log-linear part extrapolates smoothly to sizes and projects it has not seen.
Hyper-parameters (tree size, number of trees) are chosen inside `fit` on the most recent slice
of the training period, probabilities are calibrated on that slice, then both parts are refitted
on all rows. Two options stay off by default (see `ChangeRiskModel`): averaging the three tree
sizes instead of picking one, and ``copies_30d`` (`vsmml.models.risk_features`: whether the
change repeats an earlier one among the scored rows, a cherry-pick or backport). Every
prediction is explained by per-feature contributions (LightGBM's ``pred_contrib`` plus the
linear terms) that sum exactly to the raw score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.models.base import BoosterPersistence, check_is_fitted, time_order, top_reasons
from vsmml.models.calibration import Calibrator, make_calibrator
from vsmml.models.evaluation import auc
from vsmml.models.risk_features import (
    TIME_COLUMN,
    FloatArray,
    build_matrix,
    column_arrays,
    describe,
    feature_names,
    input_columns,
)
from vsmml.models.risk_linear import LinearModel
from vsmml.models.risk_scoring import FORMAT, BoosterTrees, RiskScoring
from vsmml.models.tree_average import average_boosters

TREE_GRID: Final[tuple[dict[str, int], ...]] = (
    {"num_leaves": 7, "min_data_in_leaf": 100},
    {"num_leaves": 15, "min_data_in_leaf": 50},
    {"num_leaves": 31, "min_data_in_leaf": 30},
)
BLEND_GRID: Final[tuple[float, ...]] = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_TUNE_ROWS: Final[int] = 200
MIN_TREES: Final[int] = 50


TreeTrainer = Callable[[dict[str, Any], int], Any]
"""Trains one final LightGBM booster: (LightGBM parameters, rounds) -> booster."""


@dataclass(frozen=True)
class _Prepared:
    """A training frame as `fit` uses it: columns, feature names, time-ordered matrix, labels
    and days since the first row."""

    columns: list[str]
    names: list[str]
    m: FloatArray
    y: FloatArray
    days: FloatArray


class ChangeRiskModel(BoosterPersistence):
    """Calibrated change-failure risk from JIT metrics plus any numeric delivery context.

    Args:
        n_estimators: trees; None chooses by early stopping on the time-ordered validation slice.
        num_leaves: leaves per tree; None tries 7, 15 and 31 leaves (see `average_sizes`).
        blend_weight: weight of the trees in the log-odds blend (1 = trees only, 0 = linear
            only). The default 0.5 was chosen on development data (the earlier-period ISSTA'21
            files and validation slices of the training periods): choosing it per fit on the
            validation slice overfitted that slice. None chooses it per fit anyway.
        learning_rate: LightGBM shrinkage.
        calibration: "platt" (default, robust to base-rate drift) or "isotonic".
        validation_fraction: most recent share of the training rows used to tune and calibrate.
        max_tune_rows: tune on at most this many most recent rows (keeps `fit` fast at 1 M).
        random_state: seed of every random choice; equal seeds give equal models.
        n_jobs: LightGBM threads (0 = LightGBM's default). One by default: on a busy 2-core
            host two OpenMP threads trained 4x slower than one; raise it on a dedicated host.
        half_life_days: weight rows by recency, halving every this many days before the
            latest change (defect rates drift); None weighs all rows equally.
        copy_history: add the ``copies_30d`` feature (identical earlier changes among the
            rows of X in the previous 30 days). Off by default: it gained +.003 development
            AUC, but it learns how SZZ labels work (a backport's bug is blamed on the original
            commit) rather than how risky the change is to ship, and one change scored alone
            (`vsmml score`) never has it, so training and serving would disagree.
        average_sizes: average the boosters of every tree size instead of keeping the one size
            whose blend scores best on the validation slice. Off by default: within ±.002
            development AUC of picking one size, for three times the trees and explanation cost.

    Saved and loaded through `BoosterPersistence` (``model.txt`` + ``model.json``, format
    ``vsmml-risk/1``, which the lightgbm-free `vsmml.models.risk_scoring.RiskScorer` reads).
    """

    STATE_FORMAT: ClassVar[str] = FORMAT

    def __init__(
        self,
        *,
        n_estimators: int | None = None,
        num_leaves: int | None = None,
        blend_weight: float | None = 0.5,
        learning_rate: float = 0.05,
        calibration: str = "platt",
        validation_fraction: float = 0.2,
        max_tune_rows: int = 300_000,
        random_state: int = 0,
        n_jobs: int = 1,
        half_life_days: float | None = None,
        copy_history: bool = False,
        average_sizes: bool = False,
    ) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.blend_weight = blend_weight
        self.learning_rate = learning_rate
        self.calibration = calibration
        self.validation_fraction = validation_fraction
        self.max_tune_rows = max_tune_rows
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.half_life_days = half_life_days
        self.copy_history = copy_history
        self.average_sizes = average_sizes

    def get_params(self) -> dict[str, Any]:
        """The constructor settings (scikit-learn convention)."""
        keys = [
            "n_estimators",
            "num_leaves",
            "blend_weight",
            "learning_rate",
            "calibration",
            "validation_fraction",
            "max_tune_rows",
            "random_state",
            "n_jobs",
            "half_life_days",
            "copy_history",
            "average_sizes",
        ]
        return {k: getattr(self, k) for k in keys}

    # ----------------------------------------------------------------- fitting
    def _lgb_params(self, tree: dict[str, int]) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
            "num_leaves": tree["num_leaves"],
            "min_data_in_leaf": tree["min_data_in_leaf"],
        }

    def _trees(self) -> list[dict[str, int]]:
        if self.num_leaves is None:
            return [dict(t) for t in TREE_GRID]
        return [{"num_leaves": self.num_leaves, "min_data_in_leaf": 50}]

    def _weights(self, days: FloatArray) -> FloatArray | None:
        """Recency weights (1 for the latest change) or None when all rows weigh the same."""
        if self.half_life_days is None or len(days) == 0:
            return None
        out: FloatArray = 0.5 ** ((days.max() - days) / self.half_life_days)
        return out

    def _tune(
        self, m: FloatArray, y: FloatArray, days: FloatArray
    ) -> tuple[dict[str, Any], list[dict[str, int]], FloatArray, FloatArray]:
        """Choose the rounds of each tree size (and the blend, when not fixed) on the latest
        slice; return the choice, the tree sizes to train, the raw validation scores of their
        averaged trees blended with the linear part, and the validation labels (for
        calibration)."""
        import lightgbm as lgb

        n = len(y)
        start = max(0, n - self.max_tune_rows)
        cut = start + int((n - start) * (1 - self.validation_fraction))
        tr, va = slice(start, cut), slice(cut, n)
        if cut - start < MIN_TUNE_ROWS or len(np.unique(y[va])) < 2 or len(np.unique(y[tr])) < 2:
            raise DataError(
                f"fit needs at least {MIN_TUNE_ROWS} training rows and both classes in the "
                f"time-ordered validation slice; got {n} rows"
            )
        w_tr = self._weights(days[tr])
        lin = LinearModel().fit(m[tr], y[tr], self.random_state, w_tr).part()
        lin_va = lin.terms(m[va]).sum(axis=1) + lin.intercept
        sizes, gbm_vas = [], []
        for tree in self._trees():
            dtrain = lgb.Dataset(m[tr], y[tr], weight=w_tr, free_raw_data=False)
            dval = lgb.Dataset(m[va], y[va], reference=dtrain)
            params = {**self._lgb_params(tree), "metric": "auc"}
            rounds = self.n_estimators or 2000
            callbacks: list[Any] = (
                [] if self.n_estimators else [lgb.early_stopping(100, verbose=False)]
            )
            booster = lgb.train(params, dtrain, rounds, valid_sets=[dval], callbacks=callbacks)
            n_trees = self.n_estimators or max(booster.best_iteration, MIN_TREES)
            gbm_vas.append(booster.predict(m[va], num_iteration=n_trees, raw_score=True))
            sizes.append({**tree, "n_estimators": n_trees})
        groups = (
            [list(range(len(sizes)))] if self.average_sizes else [[i] for i in range(len(sizes))]
        )
        best: tuple[float, float, FloatArray, list[int]] = (-1.0, 0.5, lin_va, groups[0])
        for group in groups:
            gbm_va = np.mean(np.asarray([gbm_vas[i] for i in group], dtype=np.float64), axis=0)
            for w in BLEND_GRID if self.blend_weight is None else (self.blend_weight,):
                raw = w * gbm_va + (1 - w) * lin_va
                score = auc(y[va], raw)
                if score > best[0] + 1e-9:
                    best = (score, w, raw, group)
        sizes = [sizes[i] for i in best[3]]
        largest = max(sizes, key=lambda t: t["num_leaves"])
        choice = {
            "num_leaves": largest["num_leaves"],
            "min_data_in_leaf": largest["min_data_in_leaf"],
            "n_estimators": sum(t["n_estimators"] for t in sizes),
            "trees": ",".join(f"{t['num_leaves']}:{t['n_estimators']}" for t in sizes),
            "blend_weight": best[1],
            "validation_auc": best[0],
            "validation_rows": n - cut,
        }
        return choice, sizes, best[2], y[va]

    def _prepare(self, X: pd.DataFrame, y: Any) -> _Prepared:
        """Check the inputs and build the time-ordered feature matrix."""
        columns = input_columns(X)
        make_calibrator(self.calibration)  # refuse an unknown kind before the expensive part
        if TIME_COLUMN not in X.columns:
            raise DataError(f"X needs a '{TIME_COLUMN}' column to order changes in time")
        yy = np.asarray(pd.Series(y).to_numpy(dtype=np.float64), dtype=np.float64)
        if len(yy) != len(X) or not np.isin(yy, (0.0, 1.0)).all():
            raise DataError(f"y must hold one 0/1 label per row of X ({len(X)}), got {len(yy)}")
        order = time_order(X[TIME_COLUMN])
        names = feature_names(columns, self.copy_history)
        m = build_matrix(column_arrays(X.iloc[order], columns), names)
        stamps = X[TIME_COLUMN].iloc[order]
        days = (stamps - stamps.min()).dt.total_seconds().to_numpy(np.float64) / 86400.0
        return _Prepared(columns, names, m, yy[order], days)

    def fit(self, X: pd.DataFrame, y: Any) -> ChangeRiskModel:
        """Tune on the latest slice of the training period, calibrate there, refit on all rows."""
        import lightgbm as lgb

        prep = self._prepare(X, y)
        weight = self._weights(prep.days)

        def on_all_rows(params: dict[str, Any], rounds: int) -> Any:
            # one Dataset per size: its binning depends on min_data_in_leaf
            return lgb.train(params, lgb.Dataset(prep.m, prep.y, weight=weight), rounds)

        ts = X[TIME_COLUMN]
        period = (str(ts.min()), str(ts.max()))
        base_rate = float(np.mean(prep.y)) if len(prep.y) else float("nan")
        return self._fit_prepared(prep, on_all_rows, prep.m, prep.y, period, base_rate)

    def fit_trees_elsewhere(
        self,
        recent: pd.DataFrame,
        y_recent: Any,
        train_trees: TreeTrainer,
        *,
        training_period: tuple[str, str],
        base_rate: float,
    ) -> ChangeRiskModel:
        """Fit with the final trees trained by `train_trees` over every training row (e.g.
        LightGBM's Dask training on a cluster), the rest on `recent`.

        `recent` is the latest training rows (at most `max_tune_rows`, the slice `fit` tunes
        on anyway): tree sizes and rounds are chosen and probabilities calibrated there exactly
        as `fit` does, and the log-linear part is fitted there too (`fit` fits it on all rows).
        `train_trees(params, rounds)` returns a LightGBM booster trained with those LightGBM
        parameters; its rows are ordered and weighted by the caller, so recency weights and
        ``copies_30d`` (which look across rows) are refused here.
        """
        if self.half_life_days is not None or self.copy_history:
            raise DataError(
                "half_life_days and copy_history look across all training rows: "
                "not available when the trees train elsewhere"
            )
        prep = self._prepare(recent, y_recent)
        return self._fit_prepared(prep, train_trees, prep.m, prep.y, training_period, base_rate)

    def _fit_prepared(
        self,
        prep: _Prepared,
        train_trees: TreeTrainer,
        linear_m: FloatArray,
        linear_y: FloatArray,
        training_period: tuple[str, str],
        base_rate: float,
    ) -> ChangeRiskModel:
        choice, sizes, raw_val, y_val = self._tune(prep.m, prep.y, prep.days)
        calibrator = make_calibrator(self.calibration).fit(raw_val, y_val)
        self.booster_ = average_boosters(
            [train_trees(self._lgb_params(size), int(size["n_estimators"])) for size in sizes]
        )
        self.linear_ = LinearModel().fit(
            linear_m, linear_y, self.random_state, self._weights(prep.days)
        )
        self._scoring: RiskScoring | None = None
        self.blend_weight_ = float(choice["blend_weight"])
        self.calibrator_: Calibrator = calibrator
        self.best_params_ = choice
        self.input_columns_ = prep.columns
        self.feature_names_ = prep.names
        self.n_features_in_ = len(prep.columns)
        self.classes_ = np.array([0, 1])
        self.training_period_ = training_period
        self.base_rate_ = base_rate
        return self

    # ---------------------------------------------------------------- scoring
    def scoring(self) -> RiskScoring:
        """The fitted model's scoring arithmetic (shared with the lightgbm-free `RiskScorer`)."""
        check_is_fitted(self, ("booster_",))
        cached: RiskScoring | None = getattr(self, "_scoring", None)
        if cached is None:  # fit and load reset it
            cached = RiskScoring(
                input_columns=self.input_columns_,
                feature_names=self.feature_names_,
                trees=BoosterTrees(self.booster_),
                linear=self.linear_.part(),
                blend_weight=self.blend_weight_,
                calibrator=self.calibrator_,
            )
            self._scoring = cached
        return cached

    def _matrix(self, X: pd.DataFrame) -> FloatArray:
        check_is_fitted(self, ("booster_",))
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        return build_matrix(column_arrays(X, self.input_columns_), self.feature_names_)

    def raw_from_matrix(self, m: FloatArray) -> FloatArray:
        """Blended log-odds for a feature matrix in `feature_names_` order (the fast path)."""
        return self.scoring().raw(m)

    def decision_function(self, X: pd.DataFrame) -> FloatArray:
        """Raw (uncalibrated) log-odds of failure; explanations sum to this."""
        return self.raw_from_matrix(self._matrix(X))

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities, shape (n, 2): columns are classes 0 and 1."""
        raw = self.decision_function(X)
        p = self.calibrator_.transform(raw)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Class 1 where the calibrated failure probability is at least 0.5."""
        out: FloatArray = (self.predict_proba(X)[:, 1] >= 0.5).astype(np.float64)
        return out

    # --------------------------------------------------------------- explaining
    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions plus a ``bias`` column; rows sum to the raw score."""
        contrib = self.scoring().contributions(self._matrix(X))
        return pd.DataFrame(contrib, columns=[*self.feature_names_, "bias"], index=X.index)

    def explain(self, X: pd.DataFrame, top: int = 5) -> pd.DataFrame:
        """The `top` reasons per change, worded for a developer, largest |contribution| first.

        One row per (change, reason) with columns ``row`` (position in X), ``rank``,
        ``feature``, ``value``, ``contribution`` (log-odds), ``text`` such as
        ``adds 1,240 lines (la): +0.42``, and per change ``bias``, ``rest`` (the other
        features' sum) and ``raw_score``: bias + the listed contributions + rest = raw_score.
        """
        return top_reasons(
            self.contributions(X),
            build_matrix(column_arrays(X, self.input_columns_), self.feature_names_),
            describe,
            top,
        )

    # ------------------------------------------------------------ serialising
    def _state_fields(self) -> dict[str, Any]:
        return {
            "input_columns": self.input_columns_,
            "feature_names": self.feature_names_,
            "blend_weight": self.blend_weight_,
            "linear": self.linear_.state,
            "calibrator": self.calibrator_.to_dict(),
            "best_params": self.best_params_,
        }

    def _restore_fields(self, state: dict[str, Any]) -> None:
        self.linear_ = LinearModel(state["linear"])
        self._scoring = None
        self.blend_weight_ = float(state["blend_weight"])
        self.best_params_ = state["best_params"]
        self.input_columns_ = list(state["input_columns"])
        self.n_features_in_ = len(self.input_columns_)
