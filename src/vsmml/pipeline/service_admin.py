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
        "still_failing": report.still_failing,
        "skipped": list(report.skipped),
        "messages": list(report.messages[:20]),
        "summary": report.summary(),
        "next_after": None,
    }


def replay_payloads(
    service: Service, source: str | None, rules: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`vsmml replay` on the served store: re-convert kept raw payloads with today's rules."""
    from vsmml.pipeline.ingest.replay import replay

    with service.writing() as store:
        return _replay_dict(replay(store, source=source, rules=rules))


RETRY_CHUNK = 500
"""Quarantined records retried per request; the answer's ``next_after`` continues."""


def retry_quarantined(
    service: Service,
    ids: Sequence[int] | None,
    source: str | None,
    rules: Mapping[str, Any] | None,
    after: int = 0,
) -> dict[str, Any]:
    """`vsmml quarantine retry` on the served store: convert refused records again, the open
    ones with an id above `after`, `RETRY_CHUNK` at a time (``next_after`` says where to go on,
    None when done), so no request holds the store for long."""
    from vsmml.pipeline.ingest.registry import stored_source
    from vsmml.pipeline.ingest.replay import retry_quarantine

    wanted = set(ids) if ids else None
    with service.writing() as store:
        open_q = store.read_quarantine(source=stored_source(source))
        todo = sorted(
            int(i)
            for i in open_q["quarantine_id"]
            if int(i) > after and (wanted is None or int(i) in wanted)
        )
        chunk = todo[:RETRY_CHUNK]
        answer = _replay_dict(retry_quarantine(store, ids=chunk, source=source, rules=rules))
    answer["next_after"] = chunk[-1] if len(todo) > len(chunk) else None
    return answer
