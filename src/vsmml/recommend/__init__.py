"""Ranked remediation recommendations with evidence and an expected effect (pure: no I/O).

Frames and results of the core in, `Recommendation` records out::

    inputs = gather(events, scorer=scorer)            # or build `Inputs` by hand
    result = recommend(inputs, service="checkout", top=5)
    result.to_list()                                  # JSON-ready records

See docs/recommendations.md for the rules, the effects and the ranking. The names below load on
first use, so `vsmml.recommend.counterfactual` (numpy only) stays light for the release gate.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ACTIONS": "catalogue",
    "Action": "catalogue",
    "action_text": "catalogue",
    "RecommendationSet": "engine",
    "merge": "engine",
    "rank": "engine",
    "recommend": "engine",
    "Inputs": "inputs",
    "window_of": "inputs",
    "Scorer": "counterfactual",
    "CATEGORIES": "records",
    "MAX_EVENT_IDS": "records",
    "Evidence": "records",
    "ExpectedEffect": "records",
    "Note": "records",
    "Recommendation": "records",
    "Target": "records",
    "DEFAULT_RULES": "rules",
    "Rule": "rules",
}

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "DEFAULT_RULES",
    "MAX_EVENT_IDS",
    "Action",
    "Evidence",
    "ExpectedEffect",
    "Inputs",
    "Note",
    "Recommendation",
    "RecommendationSet",
    "Rule",
    "Scorer",
    "Target",
    "action_text",
    "merge",
    "rank",
    "recommend",
    "window_of",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` when it is first asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vsmml.recommend' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vsmml.recommend.{_EXPORTS[name]}"), name)


if TYPE_CHECKING:
    from vsmml.recommend.catalogue import ACTIONS, Action, action_text
    from vsmml.recommend.counterfactual import Scorer
    from vsmml.recommend.engine import RecommendationSet, merge, rank, recommend
    from vsmml.recommend.inputs import Inputs, window_of
    from vsmml.recommend.records import (
        CATEGORIES,
        MAX_EVENT_IDS,
        Evidence,
        ExpectedEffect,
        Note,
        Recommendation,
        Target,
    )
    from vsmml.recommend.rules import DEFAULT_RULES, Rule
