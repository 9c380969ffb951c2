"""Seeded synthetic delivery organisation: canonical events plus the ground truth it planted.

See docs/synthetic-org.md for what is generated, the failure function and the planted
bottleneck rule.
"""

from vsmml.synth.config import PIPELINE_STAGES, WAIT_STAGES, SynthConfig
from vsmml.synth.failure import COEFFICIENTS, FAILURE_FEATURES, INTERCEPT, failure_probability
from vsmml.synth.generate import SynthOrg, generate, iter_generate
from vsmml.synth.truth import GroundTruth

__all__ = [
    "COEFFICIENTS",
    "FAILURE_FEATURES",
    "INTERCEPT",
    "PIPELINE_STAGES",
    "WAIT_STAGES",
    "GroundTruth",
    "SynthConfig",
    "SynthOrg",
    "failure_probability",
    "generate",
    "iter_generate",
]
