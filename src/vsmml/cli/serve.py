"""`vsmml serve`: run the HTTP service (FastAPI on uvicorn, one worker) over the store.

Thin: uvicorn runs `vsmml.api.app:create_app`, which answers ``/healthz`` at once and opens the
store and loads the model in the background (``/readyz`` says when); a locked store or a
missing model stops the server and the command fails with that one line (exit 2). One worker
only: the server owns the DuckDB file, which allows a single writing process. SIGTERM (or
Ctrl-C) stops accepting, lets the in-flight requests finish and closes the store. It prints
the dashboards' sign-in link (``/ui/executive?token=...``) when given a ``read`` token.
"""

from __future__ import annotations

import enum
import logging
import re
from typing import Annotated, Final
from urllib.parse import quote

import typer

from vsmml.cli.app import app


class LogLevel(enum.StrEnum):
    """uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


_QUERY_TOKEN: Final = re.compile(r"([?&](?:token|access_token)=)[^&\s\"]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Masks ``?token=`` in the server's log lines (the dashboards take it out of the query
    before uvicorn logs it; this covers a token pasted into any other URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the line's arguments (uvicorn's access line puts the path in them)."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _QUERY_TOKEN.sub(r"\1[redacted]", record.msg)
        return True


def dashboards_link(host: str, port: int, token: str | None) -> str:
    """The line `vsmml serve` prints: the dashboards' sign-in link when a token is at hand
    (like Jupyter's), else the way to make one."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    base = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/ui/executive"
    if token:
        return f"dashboards: {base}?token={quote(token, safe='')}"
    return (
        f"dashboards: {base} (sign in with a token that has the read scope: "
        "vsmml token create --scopes read; or pass --ui-token / VSMML_TOKEN for a ready link)"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8080,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per request (method, path, status; no headers).")
    ] = True,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = LogLevel.info,
    ui_token: Annotated[
        str | None,
        typer.Option(
            help="A token with the read scope for the dashboards' sign-in link "
            "(default: VSMML_TOKEN, which keeps it out of the process list).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve ingest, metrics, risk scores and recommendations over HTTP (bearer tokens)."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from vsmml.config import get_settings
    from vsmml.pipeline.service_state import on_startup_failure, startup_failure

    logs = copy.deepcopy(LOGGING_CONFIG)
    logs["loggers"]["vsmml"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    logs.setdefault("filters", {})["redact"] = {"()": "vsmml.cli.serve.RedactTokens"}
    for handler in logs["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact"]
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
    typer.echo(dashboards_link(host, port, ui_token or get_settings().token))
    on_startup_failure(lambda: setattr(server, "should_exit", True))
    server.run()
    failure = startup_failure()
    if failure is not None:
        raise failure
