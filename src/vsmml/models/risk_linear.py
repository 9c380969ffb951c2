"""The log-linear half of the change-risk blend: L2 logistic regression on signed-log JIT
features, fitted here and evaluated by `vsmml.models.risk_scoring.LinearPart`."""

from __future__ import annotations

import warnings

import numpy as np

from vsmml.models.risk_features import FloatArray, signed_log
from vsmml.models.risk_scoring import LinearPart


class LinearModel:
    """L2 logistic regression on signed-log features, median-imputed and standardised."""

    def __init__(self, state: dict[str, list[float]] | None = None) -> None:
        self.state = state or {}

    def fit(
        self, m: FloatArray, y: FloatArray, seed: int, weight: FloatArray | None = None
    ) -> LinearModel:
        from sklearn.linear_model import LogisticRegression

        z = signed_log(m)
        with warnings.catch_warnings():  # a column with no value at all gets median 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(np.where(np.isfinite(z), z, np.nan), axis=0)
        med = np.where(np.isfinite(med), med, 0.0)
        z = np.where(np.isfinite(z), z, med)
        mean, std = z.mean(axis=0), z.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        lr = LogisticRegression(C=0.1, max_iter=2000, random_state=seed)
        lr.fit((z - mean) / std, y, sample_weight=weight)
        self.state = {
            "median": med.tolist(),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "coef": lr.coef_[0].tolist(),
            "intercept": [float(lr.intercept_[0])],
        }
        return self

    def part(self) -> LinearPart:
        """The fitted part as the scorer evaluates it."""
        return LinearPart.from_state(self.state)
