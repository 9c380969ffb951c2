"""`vsmml serve`: run the HTTP service (FastAPI on uvicorn, one worker) over the store.

Thin: uvicorn runs `vsmml.api.app:create_app`, which answers ``/healthz`` at once and opens the
store and loads the model in the background (``/readyz`` says when); a locked store or a
missing model stops the server and the command fails with that one line (exit 2). One worker
only: the server owns the DuckDB file, which allows a single writing process. SIGTERM (or
Ctrl-C) stops accepting, lets the in-flight requests finish and closes the store.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from vsmml.cli.app import app


class LogLevel(enum.StrEnum):
    """uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8080,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per request (method, path, status; no headers).")
    ] = True,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = LogLevel.info,
) -> None:
    """Serve ingest, metrics, risk scores and recommendations over HTTP (bearer tokens)."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from vsmml.pipeline.service_state import on_startup_failure, startup_failure

    logs = copy.deepcopy(LOGGING_CONFIG)
    logs["loggers"]["vsmml"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config = uvicorn.Config(
        "vsmml.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        access_log=access_log,
        log_level=log_level.value,
        log_config=logs,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    server = uvicorn.Server(config)
    on_startup_failure(lambda: setattr(server, "should_exit", True))
    server.run()
    failure = startup_failure()
    if failure is not None:
        raise failure
