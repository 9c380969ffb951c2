"""Annotated dependencies the routes declare: the running service and the scope they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vsmml.api.auth import require, running_service
from vsmml.api.telemetry import Telemetry
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.tokens import TokenInfo


async def get_telemetry(request: Request) -> Telemetry:
    """The app's Prometheus metrics."""
    telemetry: Telemetry = request.app.state.telemetry
    return telemetry


async def request_id(request: Request) -> str:
    """The request's id (from ``X-Request-ID`` when sane, else generated)."""
    return str(request.scope.get("state", {}).get("request_id", "-"))


ServiceDep = Annotated[Service, Depends(running_service)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
RequestId = Annotated[str, Depends(request_id)]
IngestScope = Annotated[TokenInfo, Depends(require("ingest"))]
ReadScope = Annotated[TokenInfo, Depends(require("read"))]
AdminScope = Annotated[TokenInfo, Depends(require("admin"))]
