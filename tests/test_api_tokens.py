"""Tokens, webhook signatures and body limits of the HTTP service, below HTTP (fast)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vsmml.config import Settings
from vsmml.errors import ConfigError, DataError
from vsmml.pipeline.service_body import json_depth, parse_json
from vsmml.pipeline.service_errors import (
    BodyTooDeepError,
    InvalidTokenError,
    MalformedBodyError,
    ScopeError,
    SignatureError,
    UnknownTokenError,
    WebhookNotConfiguredError,
)
from vsmml.pipeline.service_webhooks import verify
from vsmml.pipeline.tokens import (
    TokenBook,
    TokenRequest,
    create_token,
    list_tokens,
    parse_expiry,
    parse_scopes,
    revoke_token,
)
from vsmml.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.duckdb")


def test_scopes_and_lifetimes_are_checked() -> None:
    assert parse_scopes(" READ, ingest ,read") == ("ingest", "read")
    assert parse_scopes(["admin"]) == ("admin",)
    with pytest.raises(DataError, match="unknown scope 'root'"):
        parse_scopes("read,root")
    with pytest.raises(DataError, match="at least one"):
        parse_scopes(" , ")
    assert parse_expiry("90d") == timedelta(days=90)
    assert parse_expiry("12h") == timedelta(hours=12)
    assert parse_expiry("2w") == timedelta(weeks=2)
    assert parse_expiry(None) is None and parse_expiry("never") is None
    for bad in ("0d", "3x", "-1d", "1.5d", "d", "999999w", "3661d"):
        with pytest.raises(DataError, match="--expires"):
            parse_expiry(bad)


def test_only_a_hash_of_the_secret_is_stored(store: Store, tmp_path: Path) -> None:
    new = create_token(store, TokenRequest("read", "ci"))
    assert new.token.startswith("vsmml_" + new.info.token_id + "_") and len(new.token) > 50
    rows = store.connection.execute("SELECT * FROM tokens").fetchall()
    assert rows and all(new.token not in str(v) for v in rows[0])
    assert new.token not in repr(new)
    store.close()
    assert new.token.encode() not in (tmp_path / "s.duckdb").read_bytes()


def test_names_are_checked_and_unique_while_live(store: Store) -> None:
    create_token(store, TokenRequest("read", "ci"))
    with pytest.raises(DataError, match="exists"):
        create_token(store, TokenRequest("ingest", "ci"))
    with pytest.raises(DataError, match="--name"):
        create_token(store, TokenRequest("read", "has space"))
    revoke_token(store, "ci")
    again = create_token(store, TokenRequest("read", "ci"))
    assert [t.state() for t in list_tokens(store)] == ["revoked", "active"]
    assert revoke_token(store, again.info.token_id).state() == "revoked"
    with pytest.raises(UnknownTokenError):
        revoke_token(store, "nobody")


def test_the_book_checks_state_scope_and_secret(store: Store) -> None:
    now = datetime.now(UTC)
    good = create_token(store, TokenRequest("read,ingest", "a")).token
    old = create_token(store, TokenRequest("read", "b", "1h"), now=now - timedelta(hours=2)).token
    gone = create_token(store, TokenRequest("read", "c")).token
    revoke_token(store, "c")
    book = TokenBook.load(store)
    assert book.check(good, "read").name == "a"
    with pytest.raises(ScopeError, match="admin"):
        book.check(good, "admin")
    for token, says in (
        (old, "expired"),
        (gone, "revoked"),
        (None, "missing"),
        ("", "missing"),
        ("vsmml_x", "invalid"),
        (good[:-1] + "?", "invalid"),
        ("other_" + good[6:], "invalid"),
    ):
        with pytest.raises(InvalidTokenError, match=says):
            book.check(token, "read")


def test_last_use_is_remembered_and_flushed(store: Store) -> None:
    new = create_token(store, TokenRequest("read", "a"))
    book = TokenBook.load(store)
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    book.check(new.token, "read", now=when)
    assert book.infos()[0].last_used_at == when
    assert list_tokens(store)[0].last_used_at is None
    assert book.flush(store) == 1 and book.flush(store) == 0
    assert list_tokens(store)[0].last_used_at == when


def test_settings_keep_secrets_out_of_repr() -> None:
    s = Settings.from_env(
        {
            "VSMML_GITHUB_WEBHOOK_SECRET": "gh-top-secret",
            "VSMML_TOKEN": "vsmml_abc_def",
            "VSMML_CORS_ORIGINS": "https://a.example, http://b.example:8080",
        }
    )
    assert s.github_webhook_secret == "gh-top-secret" and s.token == "vsmml_abc_def"
    assert "gh-top-secret" not in repr(s) and "vsmml_abc_def" not in repr(s)
    assert s.cors_origins == ("https://a.example", "http://b.example:8080")
    with pytest.raises(ConfigError, match="VSMML_CORS_ORIGINS"):
        Settings.from_env({"VSMML_CORS_ORIGINS": "a.example"})
    assert Settings.from_env({"VSMML_GITHUB_WEBHOOK_SECRET": " "}).github_webhook_secret is None


def _sig(secret: str, body: bytes, prefix: str) -> str:
    return prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhook_signatures() -> None:
    s = Settings(github_webhook_secret="g", gitlab_webhook_token="t", pagerduty_webhook_secret="p")
    body = b'{"a": 1}'
    verify("github", {"X-Hub-Signature-256": _sig("g", body, "sha256=")}, body, s)
    upper_hex = "sha256=" + _sig("g", body, "")[0:].upper()  # header names and hex case vary
    verify("github", {"x-hub-signature-256": upper_hex}, body, s)
    verify("gitlab", {"X-Gitlab-Token": "t"}, body, s)
    rotated = f"v1={'0' * 64}, {_sig('p', body, 'v1=')}"
    verify("pagerduty", {"X-PagerDuty-Signature": rotated}, body, s)
    for source, headers in (
        ("github", {}),
        ("github", {"X-Hub-Signature-256": _sig("x", body, "sha256=")}),
        ("github", {"X-Hub-Signature-256": _sig("g", body + b" ", "sha256=")}),
        ("github", {"X-Hub-Signature-256": _sig("g", body, "sha1=")}),
        ("gitlab", {"X-Gitlab-Token": "T"}),
        ("pagerduty", {"X-PagerDuty-Signature": _sig("p", body, "v0=")}),
    ):
        with pytest.raises(SignatureError):
            verify(source, headers, body, s)
    with pytest.raises(WebhookNotConfiguredError, match="VSMML_GITHUB_WEBHOOK_SECRET"):
        verify("github", {"X-Hub-Signature-256": "x"}, body, Settings())


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"{}", 1),
        (b"[[[]]]", 3),
        (b'{"a": "[[[[", "b": [1, {"c": "}}}"}]}', 3),
        (b'["\\"[[[", ["\\\\"], [[0]]]', 3),
        (b'"just text"', 0),
        (b"3", 0),
    ],
)
def test_json_depth_ignores_brackets_in_strings(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


def test_parse_json_limits() -> None:
    assert parse_json(b'{"a": [1, 2]}', max_depth=2) == {"a": [1, 2]}
    with pytest.raises(BodyTooDeepError, match="3 levels"):
        parse_json(b'{"a": [[1]]}', max_depth=2)
    with pytest.raises(MalformedBodyError, match="not UTF-8"):
        parse_json(b'"\xff"', max_depth=2)
    with pytest.raises(MalformedBodyError, match="line 1 column"):
        parse_json(b"{", max_depth=2)
    with pytest.raises(MalformedBodyError, match="empty"):
        parse_json(b"  ", max_depth=2)
