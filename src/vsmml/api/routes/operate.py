"""Operate: liveness (no token), readiness (no token: probes), Prometheus metrics (``read``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from vsmml.api.deps import ReadScope, TelemetryDep
from vsmml.api.schemas import Health, Ready, errors
from vsmml.pipeline.service_state import Service

router = APIRouter(tags=["operate"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    """The process answers (no token needed)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Ready, responses=errors(503))
async def readyz(request: Request) -> Response:
    """The store is open and a risk model is loaded (no token needed; 503 otherwise)."""
    service: Service | None = request.app.state.service
    if service is None or service.closed:
        failure = request.app.state.failure
        state = "stopping" if service is not None else "failed" if failure else "starting"
        return JSONResponse({"status": state}, status_code=503)
    loc = service.model.location
    return JSONResponse(
        {
            "status": "ready",
            "model": {"name": loc.name, "version": loc.version, "source": loc.source},
        }
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **errors(401, 403)},
)
def metrics(_: ReadScope, telemetry: TelemetryDep) -> Response:
    """Prometheus exposition: requests and latency per route, ingest outcomes, model, store."""
    return Response(telemetry.render(), media_type=CONTENT_TYPE_LATEST)
