"""Tool compatibility: reproduce the tables other delivery-metrics tools compute (pure frames)."""

from __future__ import annotations

from vsmml.compat.devlake_deployments import deployment_commits
from vsmml.compat.devlake_incidents import incident_deployments
from vsmml.compat.devlake_leadtime import change_lead_time
from vsmml.compat.devlake_prev import prev_success_deployments

__all__ = [
    "change_lead_time",
    "deployment_commits",
    "incident_deployments",
    "prev_success_deployments",
]
