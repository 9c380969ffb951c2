"""A dashboard page, the links between pages by correlation id, and its rendering."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from vsmml.report.model import Section

PAGES: tuple[tuple[str, str], ...] = (
    ("executive", "Executive"),
    ("oncall", "On-call"),
    ("debug", "Debug"),
)


@dataclass(frozen=True)
class Links:
    """URLs of the pages for an item (all under `base`, e.g. ``/ui``)."""

    base: str = "/ui"

    def page(self, key: str, **params: str | None) -> str:
        """``/ui/<key>?a=b`` (parameters that are None are left out)."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/{key}" + (f"?{query}" if query else "")

    def change(self, change_id: Any) -> str | None:
        """The debug page of a change."""
        return self.page("debug", change=str(change_id)) if _present(change_id) else None

    def deploy(self, deploy_id: Any) -> str | None:
        """The debug page of a deployment."""
        return self.page("debug", deploy=str(deploy_id)) if _present(deploy_id) else None

    def service(self, service: Any) -> str | None:
        """The executive page filtered to a service."""
        return self.page("executive", service=str(service)) if _present(service) else None

    def incident(self, incident_id: Any) -> str | None:
        """The incident's row on the on-call page."""
        return (
            f"{self.base}/oncall#incident-{quote(str(incident_id))}"
            if _present(incident_id)
            else None
        )


def _present(v: Any) -> bool:
    return v is not None and str(v) not in ("", "nan", "None", "<NA>")


@dataclass(frozen=True)
class Page:
    """One dashboard page.

    Attributes:
        key: ``executive``, ``oncall`` or ``debug`` (the URL and the current tab).
        title, subtitle: the heading and what the page covers ("as of ...").
        sections: the page's content (the report's section objects).
        refresh_s: reload every this many seconds (None: no refresh).
        services: the services the filter offers; service: the one chosen (None: all).
        params: the query parameters that identify the page (kept by the filter).
    """

    key: str
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    refresh_s: int | None = None
    services: tuple[str, ...] = ()
    service: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (no drawings)."""
        return {
            "key": self.key,
            "title": self.title,
            "subtitle": self.subtitle,
            "service": self.service,
            "sections": [s.to_dict() for s in self.sections],
        }


def render_page(
    page: Page, *, links: Links | None = None, nonce: str | None = None, signed_in: bool = False
) -> str:
    """The page as one HTML document; the inline script runs only with `nonce` (a fresh one
    per response when not given), as the Content-Security-Policy says. `signed_in` (a page
    the server answers to a session) adds the sign-out button."""
    from vsmml.report.render import render

    return render(
        "page.html.j2",
        page=page,
        tabs=[(k, label, (links or Links()).page(k)) for k, label in PAGES],
        nonce=nonce or secrets.token_urlsafe(16),
        signout=f"{(links or Links()).base}/logout" if signed_in else None,
    )


def content_security_policy(nonce: str) -> str:
    """The policy the page's meta tag states (a server should send it as a header too)."""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def render_login(
    *, action: str = "/ui/login", next_url: str = "/ui/executive", error: str = ""
) -> str:
    """The login form: a token with the ``read`` scope, posted to `action`; `next_url` is
    where to go after (kept only when it is a page of this site)."""
    from vsmml.report.render import render

    safe_next = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/ui"
    return render("login.html.j2", action=action, next=safe_next, error=error)
