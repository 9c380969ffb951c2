"""The admin routes' use cases: the served store's tokens, changed through the server's writer."""

from __future__ import annotations

from typing import Any

from vsmml.pipeline.service_state import Service
from vsmml.pipeline.tokens import TokenRequest

__all__ = ["create_token", "list_tokens", "revoke_token"]


def create_token(service: Service, request: TokenRequest) -> dict[str, Any]:
    """A new token, accepted at once; its fields and, this once, the secret."""
    with service.writing() as store:
        new = service.tokens.add(store, request)
    return {**new.info.to_dict(), "token": new.token}


def list_tokens(service: Service) -> list[dict[str, Any]]:
    """Every token's fields with its latest use (including uses not yet written)."""
    return [t.to_dict() for t in service.tokens.infos()]


def revoke_token(service: Service, ref: str) -> dict[str, Any]:
    """Revoke a token by id or name; refused from the next request on."""
    with service.writing() as store:
        return service.tokens.revoke(store, ref).to_dict()
