"""Ingest (scope ``ingest``; webhooks authenticate by their signature): a 2xx is durable."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vsmml.api.deps import IngestScope, RequestId, ServiceDep, TelemetryDep
from vsmml.api.schemas import (
    CDEVENTS_BODY,
    EVENTS_BODY,
    JSON_OBJECT_BODY,
    UNITS_BODY,
    IngestAnswer,
    errors,
)
from vsmml.pipeline.service_errors import UnsupportedMediaError
from vsmml.pipeline.service_webhooks import verify

router = APIRouter(prefix="/v1", tags=["ingest"])
_ANSWERS: Final = errors(400, 401, 403, 413, 415, 422, 503)
_CDEVENTS_TYPES: Final = (
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
)


def _json_only(request: Request, allowed: tuple[str, ...] = ("application/json",)) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in allowed:
        raise UnsupportedMediaError(
            f"content-type {ctype or '(none)'!r} is not read here; send {' or '.join(allowed)}",
            "content-type",
        )


@router.post(
    "/events",
    response_model=IngestAnswer,
    responses=_ANSWERS,
    openapi_extra={"requestBody": EVENTS_BODY},
)
async def events(
    request: Request, _: IngestScope, service: ServiceDep, rid: RequestId, tm: TelemetryDep
) -> Response:
    """A batch of canonical events (a JSON array, or ``{"events": [...]}``)."""
    from vsmml.pipeline.service_ingest import ingest_events

    _json_only(request)
    answer = await run_in_threadpool(ingest_events, service, await request.body(), rid)
    tm.count_ingest(answer.report)
    return JSONResponse(answer.to_dict())


@router.post(
    "/cdevents",
    response_model=IngestAnswer,
    responses=_ANSWERS,
    openapi_extra={"requestBody": CDEVENTS_BODY},
)
async def cdevents(
    request: Request, _: IngestScope, service: ServiceDep, rid: RequestId, tm: TelemetryDep
) -> Response:
    """CDEvents as CloudEvents: binary (``ce-*`` headers), structured, or a batch."""
    from vsmml.pipeline.service_ingest import ingest_delivery

    _json_only(request, _CDEVENTS_TYPES)
    body = await request.body()
    answer = await run_in_threadpool(
        ingest_delivery, service, "cdevents", dict(request.headers), body, rid
    )
    tm.count_ingest(answer.report)
    return JSONResponse(answer.to_dict())


@router.post(
    "/ingest/{source}",
    response_model=IngestAnswer,
    responses={**_ANSWERS, **errors(404)},
    openapi_extra={"requestBody": UNITS_BODY},
)
async def payloads(
    source: Annotated[str, Path(max_length=40, description="cdevents, github, jsonl ...")],
    request: Request,
    _: IngestScope,
    service: ServiceDep,
    rid: RequestId,
    tm: TelemetryDep,
) -> Response:
    """Raw payloads read from a client's files (`vsmml ingest SOURCE PATH --server URL`)."""
    from vsmml.pipeline.service_ingest import ingest_payloads

    _json_only(request)
    answer = await run_in_threadpool(ingest_payloads, service, source, await request.body(), rid)
    tm.count_ingest(answer.report)
    return JSONResponse(answer.to_dict())


async def _webhook(
    source: str, request: Request, service: ServiceDep, rid: str, tm: TelemetryDep
) -> Response:
    from vsmml.pipeline.service_ingest import ingest_delivery

    body = await request.body()
    verify(source, request.headers, body, service.settings)
    _json_only(request)
    answer = await run_in_threadpool(
        ingest_delivery, service, source, dict(request.headers), body, rid
    )
    tm.count_ingest(answer.report)
    return JSONResponse(answer.to_dict())


_HOOK: Final = {"responses": _ANSWERS, "openapi_extra": {"requestBody": JSON_OBJECT_BODY}}


@router.post("/webhooks/github", response_model=IngestAnswer, **_HOOK)  # type: ignore[arg-type]
async def github(
    request: Request,
    service: ServiceDep,
    rid: RequestId,
    tm: TelemetryDep,
    x_github_event: Annotated[str | None, Header()] = None,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
) -> Response:
    """A GitHub webhook delivery, signed with the configured secret (no bearer token)."""
    return await _webhook("github", request, service, rid, tm)


@router.post("/webhooks/gitlab", response_model=IngestAnswer, **_HOOK)  # type: ignore[arg-type]
async def gitlab(
    request: Request,
    service: ServiceDep,
    rid: RequestId,
    tm: TelemetryDep,
    x_gitlab_token: Annotated[str | None, Header()] = None,
    x_gitlab_event: Annotated[str | None, Header()] = None,
) -> Response:
    """A GitLab webhook delivery carrying the configured secret token (no bearer token)."""
    return await _webhook("gitlab", request, service, rid, tm)


@router.post("/webhooks/pagerduty", response_model=IngestAnswer, **_HOOK)  # type: ignore[arg-type]
async def pagerduty(
    request: Request,
    service: ServiceDep,
    rid: RequestId,
    tm: TelemetryDep,
    x_pagerduty_signature: Annotated[str | None, Header()] = None,
) -> Response:
    """A PagerDuty v3 webhook delivery, signed with the configured secret (no bearer token)."""
    return await _webhook("pagerduty", request, service, rid, tm)
