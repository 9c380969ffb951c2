"""The HTTP service's error types, in a module light enough to import before the store is open.

`vsmml.api.errors` maps each to an HTTP answer; the pipeline modules raise them. Every one is a
`VsmmlError` (and the builtin it refines), so the CLI's single error boundary handles them too.
"""

from __future__ import annotations

from vsmml.errors import DataError, SchemaError, StoreError, VsmmlError


class TokenError(VsmmlError, PermissionError):
    """A request's token (or signature) does not let it in."""


class InvalidTokenError(TokenError):
    """No token, an unknown or malformed one, or one that is revoked or expired (HTTP 401)."""


class ScopeError(TokenError):
    """A valid token without the scope the route needs (HTTP 403)."""


class UnknownTokenError(DataError):
    """A token id or name that names no token (HTTP 404)."""


class SignatureError(InvalidTokenError):
    """A webhook delivery without a valid signature (HTTP 401)."""


class WebhookNotConfiguredError(TokenError):
    """No secret is configured for this webhook, so no delivery can be trusted (HTTP 403)."""


class UnknownChangeError(DataError):
    """``{"sha": ...}`` names no change the store knows (HTTP 404)."""


class ServiceStartingError(StoreError):
    """The server is still opening the store and loading the model (HTTP 503)."""


class BodyError(SchemaError):
    """A request body the service cannot read; `field` names what is wrong (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MalformedBodyError(BodyError):
    """Not UTF-8, not JSON, or not the shape the route reads (HTTP 400)."""


class BodyTooDeepError(BodyError):
    """JSON nested deeper than ``VSMML_MAX_REQUEST_DEPTH`` (HTTP 400)."""


class BodyTooLargeError(MalformedBodyError):
    """A request body larger than ``VSMML_MAX_BODY_BYTES`` (HTTP 413)."""


class BatchTooLargeError(BodyError):
    """More records in one request than ``VSMML_MAX_BATCH_EVENTS`` (HTTP 413)."""


class UnsupportedMediaError(BodyError):
    """A content type the route does not read (HTTP 415)."""


class QueryError(BodyError):
    """A query the use case refuses (an unknown service, an empty window ...; HTTP 422)."""


class TrainingBusyError(VsmmlError, RuntimeError):
    """A training already runs on this server (HTTP 409); one at a time."""
