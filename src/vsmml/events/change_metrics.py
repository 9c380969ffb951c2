"""What a change is described by when its risk is scored: one table of names, help, units, ranges.

The 14 just-in-time metrics of Kamei et al. (TSE 2013), which the git miner computes and the JIT
datasets name, and the delivery context a release gate knows (computed from events by
`vsmml.features.change_features`). The risk model reads them, and `vsmml score` builds its
options and validates its input from this table, so a name, its help text, its unit and its
valid range are defined once. Plain Python: the score path imports it without pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Metric:
    """One numeric change metric: its name, what it means, its unit and its valid range.

    `low` and `high` are inclusive bounds. Counts are not required to be whole numbers: some
    tools report averages or normalised values, and a fraction is not impossible, a negative
    count is.
    """

    name: str
    help: str
    unit: str
    low: float = 0.0
    high: float = math.inf

    def problem(self, value: float) -> str | None:
        """Why `value` is impossible for this metric (None when it is valid; NaN = unknown)."""
        if math.isnan(value):
            return None
        if math.isinf(value):
            return f"must be finite, got {value}"
        if value < self.low or value > self.high:
            top = "" if math.isinf(self.high) else f" and at most {self.high:g}"
            return f"must be at least {self.low:g}{top} ({self.unit}), got {value:g}"
        return None


JIT_METRICS: Final[tuple[Metric, ...]] = (
    Metric("ns", "subsystems (top-level directories) touched", "subsystems"),
    Metric("nd", "directories touched", "directories"),
    Metric("nf", "files touched", "files"),
    Metric("entropy", "spread of the edits over the files (Shannon entropy)", "bits"),
    Metric("la", "lines added", "lines"),
    Metric("ld", "lines deleted", "lines"),
    Metric("lt", "lines in the touched files before the change", "lines"),
    Metric("fix", "1 if the change fixes a bug, else 0", "flag", high=1.0),
    Metric("ndev", "developers who changed the touched files before", "developers"),
    Metric("age", "mean days since the touched files last changed", "days"),
    Metric("nuc", "earlier changes to the touched files", "changes"),
    Metric("exp", "the author's earlier changes", "changes"),
    Metric("rexp", "the author's recent experience (changes weighted by recency)", "changes"),
    Metric("sexp", "the author's earlier changes in these subsystems", "changes"),
)
"""In their conventional order: the order of the JIT datasets, the miner and the models."""

JIT_COLUMNS: Final[tuple[str, ...]] = tuple(m.name for m in JIT_METRICS)

CONTEXT_METRICS: Final[tuple[Metric, ...]] = (
    Metric(
        "pipeline_flakiness",
        "failed share of the service's pipeline runs in the 14 days before the merge",
        "share",
        high=1.0,
    ),
    Metric(
        "hours_since_last_deploy",
        "hours since the service's previous production deploy started",
        "hours",
    ),
    Metric("deploy_batch_size", "changes shipped by the same production deploy", "changes"),
    Metric(
        "service_recent_failure_rate",
        "failed share of the service's changes deployed in the 28 days before",
        "share",
        high=1.0,
    ),
    Metric("review_rounds", "review rounds before merge (1 + change requests)", "rounds"),
    Metric("n_reviewers", "distinct reviewers", "reviewers"),
)
"""Delivery context known when a change's production deploy starts."""

CONTEXT_COLUMNS: Final[tuple[str, ...]] = tuple(m.name for m in CONTEXT_METRICS)
METRICS_BY_NAME: Final[dict[str, Metric]] = {m.name: m for m in (*JIT_METRICS, *CONTEXT_METRICS)}
