"""Probability calibrators for raw model scores (log-odds): Platt scaling and isotonic.

Each maps a raw score to a probability, is fitted on a held-out slice, and round-trips through
a plain dict (JSON) so a saved model needs no pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vsmml.errors import DataError

FloatArray = npt.NDArray[np.float64]


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


class PlattCalibrator:
    """p = sigmoid(slope * raw + intercept), fitted by (lightly regularised) logistic regression.

    Platt's target smoothing (labels (n+ + 1)/(n+ + 2) and 1/(n- + 2)) keeps it from
    over-confidence on small slices.
    """

    def __init__(self, slope: float = 1.0, intercept: float = 0.0) -> None:
        self.slope = slope
        self.intercept = intercept

    def fit(self, raw: npt.ArrayLike, y: npt.ArrayLike) -> PlattCalibrator:
        """Fit slope and intercept on held-out raw scores and labels."""
        from scipy.optimize import minimize

        r = np.asarray(raw, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        if r.shape != yy.shape or len(r) == 0:
            raise DataError(f"calibration needs matching non-empty raw {r.shape} and y {yy.shape}")
        n_pos = float(yy.sum())
        n_neg = len(yy) - n_pos
        t = np.where(yy > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

        def loss_grad(w: FloatArray) -> tuple[float, FloatArray]:
            p = np.clip(_sigmoid(w[0] * r + w[1]), 1e-12, 1 - 1e-12)
            loss = -float(np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))
            d = p - t
            return loss, np.array([float(d @ r), float(d.sum())])

        res = minimize(loss_grad, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        self.slope, self.intercept = float(res.x[0]), float(res.x[1])
        return self

    def transform(self, raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities for raw scores."""
        return _sigmoid(self.slope * np.asarray(raw, dtype=np.float64) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"kind": "platt", "slope": self.slope, "intercept": self.intercept}


class IsotonicCalibrator:
    """A monotone step map from raw score to probability (interpolated between knots)."""

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None) -> None:
        self.x = x or [0.0]
        self.y = y or [0.5]

    def fit(self, raw: npt.ArrayLike, y: npt.ArrayLike) -> IsotonicCalibrator:
        """Fit the isotonic map on held-out raw scores and labels."""
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64))
        self.x = [float(v) for v in iso.X_thresholds_]
        self.y = [float(v) for v in iso.y_thresholds_]
        return self

    def transform(self, raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities for raw scores."""
        out: FloatArray = np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"kind": "isotonic", "x": self.x, "y": self.y}


Calibrator = PlattCalibrator | IsotonicCalibrator


def make_calibrator(kind: str) -> Calibrator:
    """A fresh calibrator of `kind` ("platt" or "isotonic")."""
    if kind == "platt":
        return PlattCalibrator()
    if kind == "isotonic":
        return IsotonicCalibrator()
    raise DataError(f"calibration must be 'platt' or 'isotonic', got {kind!r}")


def calibrator_from_dict(state: dict[str, Any]) -> Calibrator:
    """Rebuild a calibrator saved with `to_dict`."""
    if state.get("kind") == "platt":
        return PlattCalibrator(float(state["slope"]), float(state["intercept"]))
    if state.get("kind") == "isotonic":
        return IsotonicCalibrator(list(state["x"]), list(state["y"]))
    raise DataError(f"unknown calibrator state {state.get('kind')!r}")
