"""The admin routes' use cases on the served store, through the server's one writer: tokens,
replay of raw payloads and retry of quarantined records (what `--server` sends)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vsmml.pipeline.service_state import Service
from vsmml.pipeline.tokens import TokenRequest

__all__ = [
    "create_token",
    "list_tokens",
    "replay_payloads",
    "retry_quarantined",
    "revoke_token",
]


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


def _replay_dict(report: Any) -> dict[str, Any]:
    return {
        "payloads": dict(report.payloads),
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "quarantined": report.quarantined,
        "resolved": report.resolved,
        "skipped": list(report.skipped),
        "messages": list(report.messages[:20]),
        "summary": report.summary(),
    }


def replay_payloads(
    service: Service, source: str | None, rules: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`vsmml replay` on the served store: re-convert kept raw payloads with today's rules."""
    from vsmml.pipeline.ingest.replay import replay

    with service.writing() as store:
        return _replay_dict(replay(store, source=source, rules=rules))


def retry_quarantined(
    service: Service,
    ids: Sequence[int] | None,
    source: str | None,
    rules: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """`vsmml quarantine retry` on the served store: convert refused records again."""
    from vsmml.pipeline.ingest.replay import retry_quarantine

    with service.writing() as store:
        return _replay_dict(retry_quarantine(store, ids=ids or None, source=source, rules=rules))
