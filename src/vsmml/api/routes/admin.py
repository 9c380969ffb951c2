"""Admin (scope ``admin``): tokens, replay, quarantine retry and training on the served store,
so the CLI's writes (`--server URL`) work while the server owns the store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from vsmml.api.deps import AdminScope, ServiceDep, TelemetryDep
from vsmml.api.schemas import (
    ReplayAnswer,
    ReplayRequest,
    TokenCreate,
    TokenCreated,
    TokenFields,
    TokenList,
    TrainAnswer,
    TrainBody,
    errors,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Ref = Annotated[str, Path(max_length=64, description="The token's id or name.")]


@router.post("/tokens", response_model=TokenCreated, responses=errors(400, 401, 403, 422))
async def create(body: TokenCreate, _: AdminScope, service: ServiceDep) -> Any:
    """Create a token; the answer carries its secret, this once."""
    from vsmml.pipeline.service_admin import create_token
    from vsmml.pipeline.tokens import TokenRequest

    request = TokenRequest(body.scopes, body.name, body.expires)
    return await run_in_threadpool(create_token, service, request)


@router.get("/tokens", response_model=TokenList, responses=errors(401, 403))
def listing(_: AdminScope, service: ServiceDep) -> Any:
    """Every token: id, name, scopes, state and times; never a secret."""
    from vsmml.pipeline.service_admin import list_tokens

    return {"tokens": list_tokens(service)}


@router.delete("/tokens/{ref}", response_model=TokenFields, responses=errors(401, 403, 404))
def revoke(ref: Ref, _: AdminScope, service: ServiceDep) -> Any:
    """Revoke a token: requests carrying it are refused (401) from now on."""
    from vsmml.pipeline.service_admin import revoke_token

    return revoke_token(service, ref)


@router.post("/replay", response_model=ReplayAnswer, responses=errors(400, 401, 403, 422, 503))
async def replay(body: ReplayRequest, _: AdminScope, service: ServiceDep) -> Any:
    """Re-convert the kept raw payloads with today's converters and rules (`vsmml replay`)."""
    from vsmml.pipeline.service_admin import replay_payloads

    return await run_in_threadpool(replay_payloads, service, body.source, body.rules)


@router.post(
    "/quarantine/retry", response_model=ReplayAnswer, responses=errors(400, 401, 403, 422, 503)
)
async def retry(body: ReplayRequest, _: AdminScope, service: ServiceDep) -> Any:
    """Convert quarantined records again, 500 at a time; resolve the ones that land."""
    from vsmml.pipeline.service_admin import retry_quarantined

    return await run_in_threadpool(
        retry_quarantined, service, body.ids, body.source, body.rules, body.after
    )


@router.post("/train", response_model=TrainAnswer, responses=errors(400, 401, 403, 409, 422, 503))
async def train(
    body: TrainBody, _: AdminScope, service: ServiceDep, telemetry: TelemetryDep
) -> Any:
    """`vsmml train` on the served store and home; a promoted risk champion is used at once.
    One training at a time (409 meanwhile); the answer comes when it is done."""
    from vsmml.pipeline.service_training import TrainRequest, train_on_server

    request = TrainRequest(body.model, store=body.store, seed=body.seed, days=body.days)
    answer = await run_in_threadpool(train_on_server, service, request)
    telemetry.set_model(service)
    return answer
