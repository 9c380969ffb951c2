"""Shared estimator contract helpers: fitted-state checks and time-ordered splits."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.errors import DataError, NotFittedError


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
