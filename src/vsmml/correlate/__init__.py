"""Correlation: canonical events → linked change records, deployments and incidents."""

from vsmml.correlate.coverage import link_coverage
from vsmml.correlate.records import Correlation, correlate

__all__ = ["Correlation", "correlate", "link_coverage"]
