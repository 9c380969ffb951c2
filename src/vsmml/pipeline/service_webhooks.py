"""Webhook authenticity: each sender signs (or carries a shared token) with its configured secret.

GitHub signs the raw body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``), PagerDuty
too (``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]``, several while a secret rotates); GitLab
sends its secret token as is (``X-Gitlab-Token``). Every comparison is constant-time, the body
is checked before it is parsed, and neither secrets nor signatures appear in any message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from vsmml.config import Settings
from vsmml.pipeline.service_errors import SignatureError, WebhookNotConfiguredError

__all__ = ["WEBHOOKS", "SignatureError", "WebhookNotConfiguredError", "verify"]


@dataclass(frozen=True)
class Webhook:
    """How one sender authenticates: the header, the setting holding the secret, the scheme."""

    source: str
    header: str
    setting: str
    scheme: str  # "hmac-sha256" with `prefix` before the hex digest, or "token"
    prefix: str = ""


WEBHOOKS: Final[dict[str, Webhook]] = {
    "github": Webhook(
        "github", "X-Hub-Signature-256", "github_webhook_secret", "hmac-sha256", "sha256="
    ),
    "gitlab": Webhook("gitlab", "X-Gitlab-Token", "gitlab_webhook_token", "token"),
    "pagerduty": Webhook(
        "pagerduty", "X-PagerDuty-Signature", "pagerduty_webhook_secret", "hmac-sha256", "v1="
    ),
}


def _hmac_ok(secret: str, body: bytes, header: str, prefix: str) -> bool:
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    ok = False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith(prefix):  # check every candidate: time does not tell which
            ok |= hmac.compare_digest(candidate[len(prefix) :].lower(), expected)
    return ok


def verify(source: str, headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    """Refuse a delivery of `source` unless it carries a valid signature (or token).

    Raises:
        WebhookNotConfiguredError: the secret setting is empty.
        SignatureError: the header is missing or does not match.
    """
    hook = WEBHOOKS[source]
    secret = getattr(settings, hook.setting)
    if not secret:
        raise WebhookNotConfiguredError(
            f"the {source} webhook is not configured: set VSMML_{hook.setting.upper()}"
        )
    low = {k.lower(): v for k, v in headers.items()}
    given = low.get(hook.header.lower())
    if not given:
        raise SignatureError(f"missing {hook.header} header")
    if hook.scheme == "token":
        ok = hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))
    else:
        ok = _hmac_ok(secret, body, given, hook.prefix)
    if not ok:
        raise SignatureError(f"{hook.header} does not match the configured secret")
