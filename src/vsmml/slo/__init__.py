"""SLOs on `slo.sample` good/total counts: error budget, burn rates, multiwindow multi-burn-rate
alerts (SRE workbook ch. 5, as Sloth generates them) and a budget-exhaustion forecast.

`spec` defines an SLO and its alerts; `budget` computes budgets, burn and alert state from
samples. Everything is importable from here.
"""

from vsmml.slo.budget import (
    SAMPLE_COLUMNS,
    ExhaustionForecast,
    budget_remaining,
    burn_rate,
    burn_rates,
    error_ratio,
    evaluate_alerts,
    exhaustion_forecast,
    first_alerts,
    samples_from_events,
    status,
    validate_samples,
)
from vsmml.slo.spec import (
    DEFAULT_ALERTS,
    LOW_FACTOR_POLICIES,
    SLO,
    AlertSpec,
    AlertWindow,
    alert_windows,
    alerts_from_sloth,
    fmt_duration,
    parse_duration,
)

__all__ = [
    "DEFAULT_ALERTS",
    "LOW_FACTOR_POLICIES",
    "SAMPLE_COLUMNS",
    "SLO",
    "AlertSpec",
    "AlertWindow",
    "ExhaustionForecast",
    "alert_windows",
    "alerts_from_sloth",
    "budget_remaining",
    "burn_rate",
    "burn_rates",
    "error_ratio",
    "evaluate_alerts",
    "exhaustion_forecast",
    "first_alerts",
    "fmt_duration",
    "parse_duration",
    "samples_from_events",
    "status",
    "validate_samples",
]
