"""The FastAPI application: `create_app(settings)` wires routes, errors, middleware, lifecycle.

At start-up the app opens the store read-write (it owns it while it runs: DuckDB allows one
writer) and loads the risk model; at shutdown, after uvicorn has let the in-flight requests
finish, it writes the tokens' last uses and closes the store. `vsmml serve` runs it with uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from vsmml import __version__
from vsmml.api import errors
from vsmml.api.middleware import RequestMiddleware
from vsmml.api.routes import admin, ingest, operate, predict, read
from vsmml.api.telemetry import Telemetry
from vsmml.config import Settings, get_settings
from vsmml.pipeline.service_state import Service

log = logging.getLogger("vsmml.api")
TOKEN_FLUSH_S: Final[float] = 30.0
"""How often the tokens' last uses are written to the store."""


async def _flush_tokens(service: Service) -> None:
    while True:
        await asyncio.sleep(TOKEN_FLUSH_S)
        try:
            await run_in_threadpool(service.flush_token_uses)
        except Exception as exc:  # keep serving; the uses are kept for the next flush
            log.warning("could not record token uses: %s", type(exc).__name__)


def create_app(settings: Settings | None = None, *, service: Service | None = None) -> FastAPI:
    """The vsmml HTTP service over `settings` (default: ``VSMML_*`` variables).

    A ready `service` may be handed in (the caller opened the store and keeps closing it to
    the app's shutdown); otherwise the store is opened at start-up.
    """
    s = settings or get_settings()
    telemetry = Telemetry()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = service if service is not None else await run_in_threadpool(Service.open, s)
        app.state.service = svc
        telemetry.attach(svc)
        flusher = asyncio.create_task(_flush_tokens(svc))
        loc = svc.model.location
        log.info(
            "serving %s with model %s %s (%s)", s.store_path, loc.name, loc.version, loc.source
        )
        try:
            yield
        finally:
            flusher.cancel()
            await run_in_threadpool(svc.close)
            log.info("store closed")

    app = FastAPI(
        title="vsmml",
        version=__version__,
        summary="Value-stream management with ML: events in; metrics, risk, recommendations out.",
        lifespan=lifespan,
    )
    app.state.settings = s
    app.state.telemetry = telemetry
    errors.install(app)
    for module in (operate, ingest, read, predict, admin):
        app.include_router(module.router)
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(s.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(RequestMiddleware, max_body_bytes=s.max_body_bytes, telemetry=telemetry)
    return app
