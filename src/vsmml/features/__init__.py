"""Feature pipelines for the predictive models (pure: frames in, frames out, no I/O).

`burn_features`: lagged SLI features per service on a regular grid (burn rates, slopes, recent
deploys and their risk, anomaly scores) and the page-within-horizon label. `stage_waits`:
per-change, per-stage waits from canonical events. `bottleneck_features`: per service-period
trailing stage statistics, queues and reviewer load, and the dominant-stage label.
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
from vsmml.features.stage_waits import stage_waits

__all__ = [
    "BURN_WINDOWS",
    "burn_features",
    "burn_grid",
    "dominant_stages",
    "page_condition",
    "page_within",
    "period_features",
    "quantile_rows",
    "stage_rows",
    "stage_waits",
]
