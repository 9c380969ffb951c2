"""SLO burn risk: will the error budget burn faster than the paging threshold within the horizon?

`BurnRiskModel` is a LightGBM classifier over the lagged SLI features of
`vsmml.features.burn_features` (burn rates over 5 min to 6 h, their slopes, the projected time
to the page threshold, the current elevated stretch and the Poisson evidence that the burn is
above the page rate, traffic, recent deploys and their failure risk, an anomaly score). The
label is `page_within`: the SRE workbook's fast page condition (1 h and 5 min burn above 14.4x)
holds at some time in the next horizon (1 h by default). The number of trees is chosen by early
stopping on the most recent slice of the training period, probabilities are calibrated on that
slice (Platt by default), then the trees are refitted on every row. Explanations are
LightGBM's per-feature contributions (``pred_contrib``), which sum to the raw score.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError
from vsmml.models.base import BoosterPersistence, check_is_fitted, time_order, top_reasons
from vsmml.models.calibration import Calibrator, make_calibrator

FloatArray = npt.NDArray[np.float64]
FORMAT: Final[str] = "vsmml-burn/1"
ID_COLUMNS: Final[frozenset[str]] = frozenset({"service", "team", "timestamp", "period_start"})
MIN_TREES: Final[int] = 20

_WORDS: Final[dict[str, str]] = {
    "burn_5m": "burn rate over 5 min",
    "burn_15m": "burn rate over 15 min",
    "burn_30m": "burn rate over 30 min",
    "burn_1h": "burn rate over 1 h",
    "burn_6h": "burn rate over 6 h",
    "slope_5m": "change of the 5-min burn rate since the last sample",
    "slope_30m": "change of the 30-min burn rate over 15 min",
    "slope_1h": "change of the 1-h burn rate over 15 min",
    "max_burn_5m_30m": "highest 5-min burn rate in the last 30 min",
    "minutes_to_page": "minutes until the page threshold at the current burn",
    "log_traffic_1h": "log of requests in the last hour",
    "bad_30m": "failed requests in the last 30 min",
    "minutes_since_deploy": "minutes since the last production deploy",
    "last_deploy_risk": "failure risk of the last deploy",
    "deploy_risk_1h": "chance a deploy of the last hour fails",
    "deploys_1h": "deploys in the last hour",
    "anomaly_score": "anomaly score of the error ratio",
    "hour": "hour of day (UTC)",
    "weekday": "day of week",
    "run_minutes": "minutes the error rate has been elevated",
    "run_burn": "burn rate since the errors rose",
    "run_z": "evidence (z) that the burn since the errors rose is above the page rate",
    "needs_minutes": "minutes more at this burn until the 1-h burn pages",
    "z_page_5m": "evidence (z) that the 5-min burn is above the page rate",
    "z_page_15m": "evidence (z) that the 15-min burn is above the page rate",
    "z_page_30m": "evidence (z) that the 30-min burn is above the page rate",
    "z_page_1h": "evidence (z) that the 1-h burn is above the page rate",
}


def describe_burn(name: str, value: float) -> str:
    """A feature and its value in words, e.g. ``burn rate over 5 min = 23.1``."""
    shown = "missing" if not np.isfinite(value) else f"{value:,.3g}"
    return f"{_WORDS.get(name, name)} = {shown}"


class BurnRiskModel(BoosterPersistence):
    """Calibrated probability that the page condition holds within the horizon.

    Args:
        n_estimators: trees; None chooses by early stopping on the validation slice.
        num_leaves: leaves per tree.
        min_data_in_leaf: LightGBM's minimum rows per leaf (guards against rare-event noise).
        learning_rate: LightGBM shrinkage.
        calibration: "platt" (default) or "isotonic".
        validation_fraction: most recent share of the training rows used to stop and calibrate.
        threshold: probability at or above which `predict` warns (evaluations choose it with
            `vsmml.models.burn_eval.cross_validated_threshold`: the lowest threshold whose
            time-ordered out-of-fold precision reaches the burn-rate rule's with a margin).
        time_column: the column that orders rows in time (not a feature).
        random_state: LightGBM seed; equal seeds give equal models.
        n_jobs: LightGBM threads (0 = LightGBM's default).

    Saved and loaded through `BoosterPersistence` (``model.txt`` + ``model.json``, format
    ``vsmml-burn/1``).
    """

    STATE_FORMAT: ClassVar[str] = FORMAT

    def __init__(
        self,
        *,
        n_estimators: int | None = None,
        num_leaves: int = 15,
        min_data_in_leaf: int = 200,
        learning_rate: float = 0.05,
        calibration: str = "platt",
        validation_fraction: float = 0.2,
        threshold: float = 0.5,
        time_column: str = "timestamp",
        random_state: int = 0,
        n_jobs: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.learning_rate = learning_rate
        self.calibration = calibration
        self.validation_fraction = validation_fraction
        self.threshold = threshold
        self.time_column = time_column
        self.random_state = random_state
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        """The constructor settings (scikit-learn convention)."""
        keys = [
            "n_estimators",
            "num_leaves",
            "min_data_in_leaf",
            "learning_rate",
            "calibration",
            "validation_fraction",
            "threshold",
            "time_column",
            "random_state",
            "n_jobs",
        ]
        return {k: getattr(self, k) for k in keys}

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    @staticmethod
    def _feature_columns(X: pd.DataFrame, time_column: str) -> list[str]:
        skip = ID_COLUMNS | {time_column}
        cols = [c for c in X.columns if c not in skip]
        bad = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise DataError(f"BurnRiskModel: feature column(s) {bad} are not numeric")
        if not cols:
            raise DataError("BurnRiskModel: X has no feature columns")
        return cols

    def fit(self, X: pd.DataFrame, y: Any) -> BurnRiskModel:
        """Early-stop and calibrate on the latest slice of the training period, refit on all."""
        import lightgbm as lgb

        if not isinstance(X, pd.DataFrame) or self.time_column not in X.columns:
            raise DataError(f"X must be a DataFrame with a '{self.time_column}' column")
        yy = np.asarray(pd.Series(y).to_numpy(dtype=np.float64), dtype=np.float64)
        if len(yy) != len(X) or not np.isin(yy, (0.0, 1.0)).all():
            raise DataError(f"y must hold one 0/1 label per row of X ({len(X)}), got {len(yy)}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise DataError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        cols = self._feature_columns(X, self.time_column)
        order = time_order(X[self.time_column])
        m = X[cols].to_numpy(dtype=np.float64)[order]
        ys = yy[order]
        cut = int(len(ys) * (1.0 - self.validation_fraction))
        if len(np.unique(ys[:cut])) < 2 or len(np.unique(ys[cut:])) < 2:
            raise DataError(
                "BurnRiskModel.fit: both the earlier part and the latest validation slice "
                f"need pages and quiet rows; got {int(ys[:cut].sum())} and "
                f"{int(ys[cut:].sum())} positive rows"
            )
        params = self._lgb_params()
        dtrain = lgb.Dataset(m[:cut], ys[:cut], feature_name=cols, free_raw_data=False)
        dval = lgb.Dataset(m[cut:], ys[cut:], reference=dtrain)
        rounds = self.n_estimators or 1000
        callbacks: list[Any] = [] if self.n_estimators else [lgb.early_stopping(50, verbose=False)]
        early = lgb.train(
            {**params, "metric": "binary_logloss"},
            dtrain,
            rounds,
            valid_sets=[dval],
            callbacks=callbacks,
        )
        n_trees = self.n_estimators or max(int(early.best_iteration), MIN_TREES)
        raw_val = np.asarray(early.predict(m[cut:], num_iteration=n_trees, raw_score=True))
        self.calibrator_: Calibrator = make_calibrator(self.calibration).fit(raw_val, ys[cut:])
        self.booster_ = lgb.train(params, lgb.Dataset(m, ys, feature_name=cols), n_trees)
        self.feature_names_ = cols
        self.n_features_in_ = len(cols)
        self.n_estimators_ = n_trees
        self.classes_ = np.array([0, 1])
        ts = X[self.time_column]
        self.training_period_ = (str(ts.min()), str(ts.max()))
        self.base_rate_ = float(yy.mean())
        return self

    def _matrix(self, X: pd.DataFrame) -> FloatArray:
        check_is_fitted(self, ("booster_",))
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise DataError(f"BurnRiskModel: X misses feature column(s) {missing}")
        return X[self.feature_names_].to_numpy(dtype=np.float64)

    def decision_function(self, X: pd.DataFrame) -> FloatArray:
        """Raw (uncalibrated) log-odds; `contributions` rows sum to it."""
        m = self._matrix(X)
        out: FloatArray = np.asarray(self.booster_.predict(m, raw_score=True))
        return out

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities, shape (n, 2): no page / page within the horizon."""
        raw = self.decision_function(X)
        p = np.clip(self.calibrator_.transform(raw), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """1 where the page probability is at least `threshold` (a warning), else 0."""
        out: FloatArray = (self.predict_proba(X)[:, 1] >= self.threshold).astype(np.float64)
        return out

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions plus ``bias``; each row sums to the raw score."""
        m = self._matrix(X)
        contrib = np.asarray(self.booster_.predict(m, pred_contrib=True))
        return pd.DataFrame(contrib, columns=[*self.feature_names_, "bias"], index=X.index)

    def explain(self, X: pd.DataFrame, top: int = 5) -> pd.DataFrame:
        """The `top` reasons per row, largest |contribution| first, worded for an on-call engineer.

        Columns: ``row``, ``rank``, ``feature``, ``value``, ``contribution``, ``text`` (e.g.
        ``burn rate over 5 min = 23.1: +1.84``), ``bias``, ``rest`` and ``raw_score``
        (bias + listed contributions + rest = raw_score).
        """
        return top_reasons(self.contributions(X), self._matrix(X), describe_burn, top)

    # ------------------------------------------------------------ serialising
    def _state_fields(self) -> dict[str, Any]:
        return {
            "feature_names": self.feature_names_,
            "n_estimators": self.n_estimators_,
            "calibrator": self.calibrator_.to_dict(),
        }

    def _restore_fields(self, state: dict[str, Any]) -> None:
        self.n_features_in_ = len(self.feature_names_)
        self.n_estimators_ = int(state["n_estimators"])
