"""Bearer tokens with scopes: a route declares the scope it needs, the token book decides.

Missing, unknown, revoked or expired tokens are refused with 401, a valid token without the
scope with 403 (`vsmml.api.errors`). Tokens are read only from the ``Authorization`` header,
never from a query string, so they cannot end up in access logs. The dependencies are
coroutines: FastAPI runs a plain function dependency in a worker thread, and two thread hops
cost more than the rest of a remembered score answer (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vsmml.pipeline.service_errors import ServiceStartingError
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.tokens import TokenInfo

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `vsmml token create --scopes ...`; scopes: ingest, read, admin.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def served(request: Request) -> Service:
    """The service the app serves, or the start-up failure / 503 while it is still opening."""
    service: Service | None = request.app.state.service
    if service is None:
        failure: BaseException | None = request.app.state.failure
        if failure is not None:
            raise failure
        raise ServiceStartingError("the server is starting: opening the store, loading the model")
    return service


async def running_service(request: Request) -> Service:
    """The service the app serves; 503 while it is still opening (or could not open)."""
    return served(request)


def require(
    scope: str,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Coroutine[Any, Any, TokenInfo]]:
    """A dependency that lets a request in only with a valid token holding `scope` (a
    dictionary lookup and a SHA-256: cheap enough for the event loop)."""

    async def check(request: Request, credentials: Credentials) -> TokenInfo:
        token = credentials.credentials if credentials is not None else None
        return served(request).tokens.check(token, scope)

    check.__name__ = f"require_{scope}"
    return check
