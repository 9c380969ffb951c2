"""The rules, one small settings object per finding family, and the default set."""

from __future__ import annotations

from typing import Final

from vsmml.recommend.rules.anomalies import SliAnomalyRule, WaitShiftRule
from vsmml.recommend.rules.base import Rule
from vsmml.recommend.rules.data import CoverageRule, QuarantineRule, RetrainRule
from vsmml.recommend.rules.deploys import BatchFailureRule, CanaryRule
from vsmml.recommend.rules.flow import ConstraintRule
from vsmml.recommend.rules.pipelines import FlakyPipelineRule
from vsmml.recommend.rules.review import ReviewLoadRule
from vsmml.recommend.rules.risk import LargeChangeRule, RiskyChangeRule, WaiverRule
from vsmml.recommend.rules.rollback import RollBackRule
from vsmml.recommend.rules.slo_rules import AlertTuningRule, BurnOutlookRule
from vsmml.recommend.rules.stages import DeployBatchRule, ParallelStageRule, SlowStageRule

DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    ConstraintRule(),
    ParallelStageRule(),
    SlowStageRule(),
    DeployBatchRule(),
    ReviewLoadRule(),
    WaitShiftRule(),
    FlakyPipelineRule(),
    LargeChangeRule(),
    RiskyChangeRule(),
    WaiverRule(),
    BatchFailureRule(),
    CanaryRule(),
    RollBackRule(),
    AlertTuningRule(),
    BurnOutlookRule(),
    SliAnomalyRule(),
    CoverageRule(),
    QuarantineRule(),
    RetrainRule(),
)

__all__ = [
    "DEFAULT_RULES",
    "AlertTuningRule",
    "BatchFailureRule",
    "BurnOutlookRule",
    "CanaryRule",
    "ConstraintRule",
    "CoverageRule",
    "DeployBatchRule",
    "FlakyPipelineRule",
    "LargeChangeRule",
    "ParallelStageRule",
    "QuarantineRule",
    "RetrainRule",
    "ReviewLoadRule",
    "RiskyChangeRule",
    "RollBackRule",
    "Rule",
    "SliAnomalyRule",
    "SlowStageRule",
    "WaitShiftRule",
    "WaiverRule",
]
