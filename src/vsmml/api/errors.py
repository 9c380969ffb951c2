"""The one place mapping errors to HTTP answers: ``{"error": {"code", "message", "field"}}``.

Every refusal has that shape and a stable ``code``; an unexpected exception is logged with its
traceback on the server and answered 500 with the request id only, never a trace.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vsmml.errors import ConfigError, DataError, SchemaError, StoreError, VsmmlError
from vsmml.pipeline.models import ModelNotFoundError
from vsmml.pipeline.service_errors import (
    BatchTooLargeError,
    BodyTooDeepError,
    BodyTooLargeError,
    InvalidTokenError,
    MalformedBodyError,
    QueryError,
    ScopeError,
    ServiceStartingError,
    SignatureError,
    TrainingBusyError,
    UnknownChangeError,
    UnknownTokenError,
    UnsupportedMediaError,
    WebhookNotConfiguredError,
)

log = logging.getLogger("vsmml.api")


ERRORS: Final[tuple[tuple[type[BaseException], int, str], ...]] = (
    (SignatureError, 401, "bad_signature"),
    (InvalidTokenError, 401, "unauthorized"),
    (WebhookNotConfiguredError, 403, "webhook_not_configured"),
    (ScopeError, 403, "forbidden"),
    (BodyTooLargeError, 413, "body_too_large"),
    (BatchTooLargeError, 413, "batch_too_large"),
    (UnsupportedMediaError, 415, "unsupported_media_type"),
    (BodyTooDeepError, 400, "body_too_deep"),
    (MalformedBodyError, 400, "malformed_body"),
    (UnknownChangeError, 404, "unknown_change"),
    (UnknownTokenError, 404, "unknown_token"),
    (ModelNotFoundError, 404, "model_not_found"),
    (TrainingBusyError, 409, "training_running"),
    (ServiceStartingError, 503, "starting"),
    (StoreError, 503, "store_unavailable"),
    (ConfigError, 422, "invalid_parameter"),
    (QueryError, 422, "invalid_parameter"),
    (SchemaError, 422, "invalid_input"),
    (DataError, 422, "invalid_input"),
    (VsmmlError, 400, "bad_request"),
)
"""Error type → (HTTP status, code); the first type the error is an instance of wins."""
_HTTP_CODES: Final = {
    400: "malformed_body",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON of every error answer."""
    return {"error": {"code": code, "message": message, "field": field}}


def status_of(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and code of an error raised on purpose."""
    for kind, status, code in ERRORS:
        if isinstance(exc, kind):
            return status, code
    return 500, "internal"


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(body, status_code=status, headers=headers)


async def _vsmml_error(request: Request, exc: Exception) -> Any:
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    field = getattr(exc, "field", None)
    return _answer(status, error_body(code, str(exc), field), headers)


async def _validation_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "header", "body")]
    field = ".".join(loc) or None
    message = f"{field}: {first.get('msg', 'invalid value')}" if field else "invalid request"
    return _answer(422, error_body("invalid_parameter", message, field))


async def _http_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return _answer(exc.status_code, error_body(code, str(exc.detail)), headers)


async def _unexpected(request: Request, exc: Exception) -> Any:
    request_id = getattr(request.state, "request_id", "-")
    log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
    message = f"internal error (request {request_id}); the server log has the details"
    return _answer(500, error_body("internal", message))


def install(app: FastAPI) -> None:
    """Register the handlers: our errors, parameter validation, HTTP errors, anything else."""
    app.add_exception_handler(VsmmlError, _vsmml_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
