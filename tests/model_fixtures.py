"""Small seeded JIT frames and a quickly trained ChangeRiskModel for scoring and tracking tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS

JIT = KAMEI_COLUMNS


def jit_frame(n: int = 1200, seed: int = 0, signal: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """A time-ordered frame of the 14 JIT metrics plus ``committed_at``, and 0/1 labels.

    The failure log-odds grow with log(la) and with bug fixes; `signal` scales that, so a
    larger value gives an easier problem (a model trained on it scores a higher AUC).
    """
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({c: rng.gamma(1.0, 10.0, n) for c in JIT})
    x["fix"] = (rng.random(n) < 0.3).astype(float)
    x.loc[rng.random(n) < 0.1, "age"] = np.nan
    x["committed_at"] = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    logit = signal * (np.log1p(x["la"].to_numpy()) - 2.5 + x["fix"].to_numpy())
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return x, y


def small_risk_model(  # type: ignore[no-untyped-def]
    seed: int = 0, n: int = 1200, signal: float = 1.0, **options
):
    """A ChangeRiskModel with fixed hyper-parameters (no tuning grid): trains in a second.

    `options` are further constructor settings (e.g. ``copy_history=True``).
    """
    from vsmml.models.risk import ChangeRiskModel

    x, y = jit_frame(n, seed, signal)
    model = ChangeRiskModel(
        n_estimators=25, num_leaves=7, blend_weight=0.6, n_jobs=1, random_state=seed, **options
    )
    return model.fit(x, y), x, y
