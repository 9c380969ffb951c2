"""The FastAPI application: `create_app(settings)` wires routes, errors, middleware, lifecycle.

At start-up the app begins opening the store read-write (it owns it while it runs: DuckDB allows
one writer) and loading the risk model in a worker thread, so ``/healthz`` answers within a
second or two while ``/readyz`` and the other routes say 503 until both are done. At shutdown,
after uvicorn has let the in-flight requests finish, it writes the tokens' last uses and closes
the store. `vsmml serve` runs `create_app` with uvicorn: there, a store that cannot be opened
stops the server, and the command fails with that one line.
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
from vsmml.api import errors, score_lane
from vsmml.api.middleware import RequestMiddleware
from vsmml.api.routes import admin, ingest, operate, predict, read
from vsmml.api.routes import ui as ui_routes
from vsmml.api.telemetry import Telemetry
from vsmml.config import Settings, get_settings
from vsmml.pipeline.service_state import Service, record_startup_failure

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


def _preload() -> None:
    """Import what the routes import on first use, so the first requests do not pay for it."""
    import vsmml.pipeline.service_ingest
    import vsmml.pipeline.service_reads
    import vsmml.pipeline.service_scoring  # noqa: F401


async def _open(app: FastAPI, settings: Settings, telemetry: Telemetry) -> None:
    """Open the service in a worker thread (``/healthz`` answers meanwhile), then keep
    writing the tokens' last uses."""
    try:
        svc = await run_in_threadpool(Service.open, settings)
        await run_in_threadpool(_preload)
    except Exception as exc:
        app.state.failure = exc
        log.error("error: %s", exc)
        record_startup_failure(exc)  # `vsmml serve` stops and reports it
        return
    app.state.service = svc
    telemetry.attach(svc)
    loc = svc.model.location
    log.info("ready: model %s %s (%s)", loc.name, loc.version, loc.source)
    await _flush_tokens(svc)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The vsmml HTTP service over `settings` (default: ``VSMML_*`` variables).

    A store or model that cannot be opened leaves the app answering 503 with the reason (and
    stops `vsmml serve`, which registered for it with `service_state.on_startup_failure`).
    """
    s = settings or get_settings()
    telemetry = Telemetry()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = None
        app.state.failure = None
        opener = asyncio.create_task(_open(app, s, telemetry))
        try:
            yield
        finally:
            opener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await opener
            svc: Service | None = app.state.service
            if svc is not None:
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
    app.state.service = None
    app.state.failure = None
    errors.install(app)
    # predict early: a router is matched route by route, and scoring is the hot path
    for module in (operate, predict, ingest, read, admin):
        app.include_router(module.router)
    app.include_router(ui_routes.router)  # the dashboards under /ui/
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(s.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # inside RequestMiddleware: the scoring hot path skips FastAPI's routing (api/score_lane.py)
    score_route = next(
        r for r in predict.router.routes if getattr(r, "path", "") == score_lane.PATH
    )
    app.add_middleware(score_lane.ScoreLane, state=app.state, route=score_route)
    app.add_middleware(RequestMiddleware, max_body_bytes=s.max_body_bytes, telemetry=telemetry)
    return app
