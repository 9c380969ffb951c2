"""Shared estimator contract helpers: fitted-state checks, time-ordered splits, booster files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError, NotFittedError
from vsmml.models.calibration import Calibrator, calibrator_from_dict


def check_is_fitted(estimator: Any, attributes: tuple[str, ...] = ()) -> None:
    """Raise `NotFittedError` unless `estimator` holds learned state.

    Learned state is any attribute whose name ends in ``_`` (scikit-learn convention), or the
    named `attributes` when given.
    """
    if attributes:
        fitted = all(getattr(estimator, a, None) is not None for a in attributes)
    else:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    if not fitted:
        name = type(estimator).__name__
        raise NotFittedError(f"{name} is not fitted yet: call fit(X, y) before using it")


def time_order(ts: pd.Series | npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Positions that sort `ts` ascending, stable (ties keep their input order)."""
    values = pd.Series(ts).to_numpy()
    return np.argsort(values, kind="stable").astype(np.intp)


def time_ordered_split(
    ts: pd.Series | npt.ArrayLike, train_fraction: float = 0.8
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Split positions into (earlier, later) parts by time.

    The cut follows the published JIT protocol (Zeng et al., ISSTA 2021):
    ``k = int(n * train_fraction)`` rows of the time-sorted data train, the rest test.
    """
    if not 0.0 < train_fraction < 1.0:
        raise DataError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    order = time_order(ts)
    k = int(len(order) * train_fraction)
    if k == 0 or k == len(order):
        raise DataError(
            f"a time-ordered split of {len(order)} rows at {train_fraction} leaves a part empty"
        )
    return order[:k], order[k:]


def top_reasons(
    contrib: pd.DataFrame,
    values: npt.NDArray[np.float64],
    describe: Callable[[str, float], str],
    top: int,
) -> pd.DataFrame:
    """The `top` reasons per row of a binary model's explanation, largest |contribution| first.

    `contrib` holds per-feature log-odds contributions plus a last ``bias`` column (rows sum to
    the raw score); `values` the feature values in the same column order; `describe` words a
    feature and its value. One row per (input row, reason) with columns ``row``, ``rank``,
    ``feature``, ``value``, ``contribution``, ``text`` (``<describe(...)>: +0.42``), and per
    input row ``bias``, ``rest`` (the unlisted features' sum) and ``raw_score``
    (bias + listed contributions + rest = raw_score).
    """
    names = [str(c) for c in contrib.columns[:-1]]
    feats = contrib.drop(columns="bias").to_numpy()
    bias = contrib["bias"].to_numpy()
    raw = contrib.to_numpy().sum(axis=1)
    rows = []
    for i in range(len(feats)):
        order = np.argsort(-np.abs(feats[i]), kind="stable")[: max(top, 0)]
        rest = float(feats[i].sum() - feats[i][order].sum())
        for rank, j in enumerate(order, start=1):
            name, c, v = names[j], float(feats[i, j]), float(values[i, j])
            rows.append(
                {
                    "row": i,
                    "rank": rank,
                    "feature": name,
                    "value": v,
                    "contribution": c,
                    "text": f"{describe(name, v)}: {c:+.2f}",
                    "bias": float(bias[i]),
                    "rest": rest,
                    "raw_score": float(raw[i]),
                }
            )
    return pd.DataFrame(rows)


class BoosterPersistence:
    """Mixin: a calibrated LightGBM binary model written as JSON state plus LightGBM text.

    `save` writes ``model.txt`` (``Booster.model_to_string()``) and ``model.json`` (the state,
    indented by 2); `to_bytes` writes one JSON document, the state plus a ``booster`` key. No
    pickle is involved. ``vsmml.pipeline.models`` reads the saved risk files without LightGBM,
    so the layout and key order here are a format: change them only with a new `STATE_FORMAT`.

    A subclass sets `STATE_FORMAT` (e.g. ``"vsmml-risk/1"``), provides ``get_params()``,
    ``_state_fields()`` (its keys between ``params`` and ``training_period``, ``calibrator``
    included) and ``_restore_fields(state)`` (its attributes beyond the shared ones restored
    here: ``booster_``, ``calibrator_``, ``feature_names_``, ``classes_``,
    ``training_period_`` and ``base_rate_``).
    """

    STATE_FORMAT: ClassVar[str]
    booster_: Any
    calibrator_: Calibrator
    feature_names_: list[str]
    classes_: npt.NDArray[np.int_]
    training_period_: tuple[str, ...]
    base_rate_: float

    def get_params(self) -> dict[str, Any]:
        """The constructor settings; the subclass defines them."""
        raise NotImplementedError

    def _state_fields(self) -> dict[str, Any]:
        """The subclass's own state keys, in file order (``calibrator`` among them)."""
        raise NotImplementedError

    def _restore_fields(self, state: dict[str, Any]) -> None:
        """Set the subclass's own fitted attributes from `state`."""
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        check_is_fitted(self, ("booster_",))
        return {
            "format": self.STATE_FORMAT,
            "params": self.get_params(),
            **self._state_fields(),
            "training_period": list(self.training_period_),
            "base_rate": self.base_rate_,
        }

    @classmethod
    def _from_state(cls, state: dict[str, Any], model_text: str) -> Self:
        import lightgbm as lgb

        if state.get("format") != cls.STATE_FORMAT:
            raise DataError(f"not a {cls.STATE_FORMAT} model: format {state.get('format')!r}")
        model = cast(Any, cls)(**state["params"])
        model.booster_ = lgb.Booster(model_str=model_text)
        model.calibrator_ = calibrator_from_dict(state["calibrator"])
        model.feature_names_ = list(state["feature_names"])
        model.classes_ = np.array([0, 1])
        model.training_period_ = tuple(state["training_period"])
        model.base_rate_ = float(state["base_rate"])
        model._restore_fields(state)
        return cast(Self, model)

    def to_bytes(self) -> bytes:
        """One JSON document: the state plus the LightGBM model text under ``booster``."""
        state = self._state()
        state["booster"] = self.booster_.model_to_string()
        return json.dumps(state).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Rebuild a model written by `to_bytes` (no pickle involved)."""
        state = json.loads(data.decode("utf-8"))
        return cls._from_state(state, state.pop("booster"))

    def save(self, path: str | Path) -> None:
        """Write ``model.txt`` (LightGBM text) and ``model.json`` (the rest) into `path`."""
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        (d / "model.txt").write_text(self.booster_.model_to_string(), encoding="utf-8")
        (d / "model.json").write_text(json.dumps(self._state(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by `save`."""
        d = Path(path)
        state = json.loads((d / "model.json").read_text(encoding="utf-8"))
        return cls._from_state(state, (d / "model.txt").read_text(encoding="utf-8"))
