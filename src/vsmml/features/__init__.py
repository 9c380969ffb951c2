"""Feature pipelines for the predictive models (pure: frames in, frames out, no I/O).

`change_features`: per change, the JIT metrics of its last commit and the delivery context a
release gate knows at deploy time (the risk model's inputs). `burn_features`: lagged SLI
features per service on a regular grid (burn rates, slopes, recent deploys and their risk,
anomaly scores) and the page-within-horizon label. `stage_waits`: per-change, per-stage waits
from canonical events. `bottleneck_features`: per service-period trailing stage statistics,
queues and reviewer load, and the dominant-stage label.
"""

from vsmml.features.bottleneck_features import (
    dominant_stages,
    period_features,
    quantile_rows,
    stage_rows,
)
from vsmml.features.burn_features import (
    BURN_WINDOWS,
    burn_features,
    burn_grid,
    page_condition,
    page_within,
)
from vsmml.features.change_features import CONTEXT_FEATURES, change_features
from vsmml.features.stage_waits import stage_waits

__all__ = [
    "BURN_WINDOWS",
    "CONTEXT_FEATURES",
    "burn_features",
    "burn_grid",
    "change_features",
    "dominant_stages",
    "page_condition",
    "page_within",
    "period_features",
    "quantile_rows",
    "stage_rows",
    "stage_waits",
]
