"""Bearer tokens with scopes: a route declares the scope it needs, the token book decides.

Missing, unknown, revoked or expired tokens are refused with 401, a valid token without the
scope with 403 (`vsmml.api.errors`). Tokens are read only from the ``Authorization`` header,
never from a query string, so they cannot end up in access logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vsmml.pipeline.tokens import TokenInfo

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `vsmml token create --scopes ...`; scopes: ingest, read, admin.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require(scope: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], TokenInfo]:
    """A dependency that lets a request in only with a valid token holding `scope`."""

    def check(request: Request, credentials: Credentials) -> TokenInfo:
        token = credentials.credentials if credentials is not None else None
        info: TokenInfo = request.app.state.service.tokens.check(token, scope)
        return info

    check.__name__ = f"require_{scope}"
    return check
