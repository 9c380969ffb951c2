"""Ranked remediation recommendations with evidence and an expected effect (pure: no I/O).

Frames and results of the core in, `Recommendation` records out::

    inputs = gather(events, scorer=scorer)            # or build `Inputs` by hand
    result = recommend(inputs, service="checkout", top=5)
    result.to_list()                                  # JSON-ready records

See docs/recommendations.md for the rules, the effects and the ranking.
"""

from vsmml.recommend.catalogue import ACTIONS, Action, action_text
from vsmml.recommend.engine import RecommendationSet, merge, rank, recommend
from vsmml.recommend.inputs import Inputs, Scorer, window_of
from vsmml.recommend.records import (
    CATEGORIES,
    MAX_EVENT_IDS,
    Evidence,
    ExpectedEffect,
    Recommendation,
    Target,
)
from vsmml.recommend.rules import DEFAULT_RULES, Rule

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "DEFAULT_RULES",
    "MAX_EVENT_IDS",
    "Action",
    "Evidence",
    "ExpectedEffect",
    "Inputs",
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
