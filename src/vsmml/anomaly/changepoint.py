"""Change-point detector: two-sided CUSUM of robust z-scores against a trailing baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import register
from vsmml.anomaly.robust import past_median, past_scale


@dataclass(frozen=True)
class CusumConfig(DetectorConfig):
    """CUSUM change-point detector.

    Attributes:
        window: rows in the trailing median and MAD the z-scores are taken against.
        drift: allowance k subtracted from each |z| step (shifts smaller than k sigma are ignored).
        threshold: decision interval h; the score is S / (S + h), so 0.5 means S = h.
        clip: |z| is clipped here, so one spike cannot look like a shift.
        reset: S is reset to 0 once it exceeds reset · h (one alarm per change).
        direction: "up", "down" or "both".
    """

    window: int = 240
    drift: float = 0.5
    threshold: float = 5.0
    clip: float = 4.0
    reset: float = 4.0
    direction: str = "both"


@register
class CusumDetector(Detector):
    """Page's CUSUM on clipped robust z-scores; high when a level shift accumulates."""

    name = "cusum"
    config_class = CusumConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, CusumConfig)
        level = past_median(values, cfg.window)
        resid = values - level
        scale = past_scale(resid, cfg.window, rel_floor=0.01 * np.abs(np.nan_to_num(level)))
        z = np.clip(np.nan_to_num(resid / scale, nan=0.0), -cfg.clip, cfg.clip)
        up, down = cusum(z, cfg.drift, cfg.reset * cfg.threshold)
        if cfg.direction == "up":
            s = up
        elif cfg.direction == "down":
            s = down
        else:
            s = np.maximum(up, down)
        out: FloatArray = s / (s + cfg.threshold)
        return out


def cusum(z: FloatArray, drift: float, reset_at: float) -> tuple[FloatArray, FloatArray]:
    """Upper and lower CUSUM statistics of z (each reset to 0 after passing `reset_at`)."""
    n = z.size
    up = np.empty(n)
    down = np.empty(n)
    su = sd = 0.0
    for i, v in enumerate(z.tolist()):
        su = max(0.0, su + v - drift)
        sd = max(0.0, sd - v - drift)
        up[i] = su
        down[i] = sd
        if su > reset_at:
            su = 0.0
        if sd > reset_at:
            sd = 0.0
    return up, down
