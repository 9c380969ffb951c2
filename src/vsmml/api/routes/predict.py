"""Predict (scope ``read``): change-failure risk with reasons, the models; reload (``admin``)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vsmml.api.deps import AdminScope, ReadScope, ServiceDep, TelemetryDep
from vsmml.api.schemas import MAX_TOP, SCORE_BODY, Listing, Reloaded, ScoreAnswer, errors

router = APIRouter(prefix="/v1", tags=["predict"])
_JSON: Final = "application/json"


@router.post(
    "/risk/score",
    response_model=ScoreAnswer | list[ScoreAnswer],
    responses=errors(400, 401, 403, 404, 413, 422, 503),
    openapi_extra={"requestBody": SCORE_BODY},
)
async def score(
    request: Request,
    _: ReadScope,
    service: ServiceDep,
    threshold: Annotated[float | None, Query(ge=0, le=1)] = None,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="Reasons per change.")] = 5,
) -> Response:
    """Failure probability, band, decision and reasons of a change (an object), of several (a
    list: a list of answers), or of a change the store knows (``{"sha": ..., "repo": ...}``)."""
    from vsmml.pipeline.service_scoring import answer_now, score_json

    body = await request.body()
    text = answer_now(service, body, threshold=threshold, top=top)
    if text is None:
        text = await run_in_threadpool(score_json, service, body, threshold=threshold, top=top)
    return Response(text, media_type=_JSON)


@router.get("/models", response_model=Listing, responses=errors(401, 403))
def models(_: ReadScope, service: ServiceDep) -> Any:
    """The risk model in use (version, source, threshold, inputs) and the other models found."""
    from vsmml.pipeline.service_reads import models_view

    return models_view(service)


@router.post("/admin/models/reload", response_model=Reloaded, responses=errors(401, 403, 404))
def reload(_: AdminScope, service: ServiceDep, telemetry: TelemetryDep) -> Any:
    """Load the risk model again: a champion promoted since start-up is used from now on."""
    before, after = service.reload_model()
    telemetry.set_model(service)

    def ref(loc: Any) -> dict[str, str]:
        return {"name": loc.name, "version": loc.version, "source": loc.source}

    b, a = ref(before.location), ref(after.location)
    return {
        "before": b,
        "after": a,
        "changed": b != a or before.location.path != after.location.path,
    }
