"""The dashboards as `vsmml serve` answers them under ``/ui/``: each page over the served store.

A page is built from a read cursor of the server's connection (`open_for_reading`), with the
server's loaded risk model, and remembered until the next write (`Service.cached`; the on-call
page, which is "as of now", for a minute at most), because building one takes seconds. Every
answer is rendered afresh with its own script nonce, which the Content-Security-Policy header
states. What the page cannot show (an unknown service or id, an empty store) is a page too,
saying so, with the tabs to go elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Final, Literal

from vsmml.errors import DataError
from vsmml.pipeline import dashboards
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.service_store import open_for_reading
from vsmml.report.pages import Page, content_security_policy, render_login, render_page

__all__ = ["PAGE_KEYS", "PageRequest", "Rendered", "login_view", "page_view"]

PageKey = Literal["executive", "oncall", "debug"]
PAGE_KEYS: Final[tuple[str, ...]] = ("executive", "oncall", "debug")
DEFAULT_WEEKS: Final = 8
DEFAULT_HOURS: Final = 24
ONCALL_BUCKET_S: Final = 60
"""The on-call page's "now" moves on: a cached one is kept at most this long."""
LOGIN_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class PageRequest:
    """Which page and its filters: a service (executive, on-call), a span (weeks, hours), the
    drill-down id of the debug page (a change or a deployment; neither: the latest one)."""

    key: PageKey
    service: str | None = None
    weeks: int = DEFAULT_WEEKS
    hours: int = DEFAULT_HOURS
    change: str | None = None
    deploy: str | None = None

    def cache_key(self) -> str:
        """The key of the page's cached object (the on-call one per minute)."""
        bucket = int(time.time() // ONCALL_BUCKET_S) if self.key == "oncall" else 0
        return f"ui:{self!r}:{bucket}"


@dataclass(frozen=True)
class Rendered:
    """An HTML answer: the document, its status and the policy header that goes with it."""

    html: str
    policy: str
    status: int = 200


def _build(service: Service, request: PageRequest) -> Page:
    scorer = service.model.scorer
    with open_for_reading(service.settings) as store:
        if request.key == "executive":
            page = dashboards.executive(
                store,
                service=request.service,
                weeks=request.weeks,
                settings=service.settings,
                scorer=scorer,
                model=dashboards.model_label(service.model.location),
            )
            extra = {"weeks": str(request.weeks)} if request.weeks != DEFAULT_WEEKS else {}
        elif request.key == "oncall":
            page = dashboards.oncall(store, service=request.service, hours=request.hours)
            extra = {"hours": str(request.hours)} if request.hours != DEFAULT_HOURS else {}
        else:
            return dashboards.debug(
                store,
                change=request.change,
                deploy=request.deploy,
                settings=service.settings,
                scorer=scorer,
            )
    # the service filter keeps the page's other parameters
    return replace(page, params={**page.params, **extra}) if extra else page


def _unavailable(request: PageRequest, message: str) -> Page:
    titles = {"executive": "Executive", "oncall": "On-call", "debug": "Debug"}
    return Page(request.key, titles[request.key], message, ())


def _outcome(service: Service, request: PageRequest) -> tuple[Page, int]:
    """The page, or the page saying why not (remembered as well: it costs as much)."""
    if request.change is not None and request.deploy is not None:
        return _unavailable(request, "give ?change= or ?deploy=, not both"), 400
    try:
        return _build(service, request), 200
    except DataError as exc:
        return _unavailable(request, str(exc)), 404


def page_view(service: Service, request: PageRequest) -> Rendered:
    """The page as HTML with a fresh nonce; 404 with the reason when it cannot be shown."""
    page, status = service.cached(request.cache_key(), lambda: _outcome(service, request))
    nonce = _nonce()
    html = render_page(page, nonce=nonce, signed_in=True)
    return Rendered(html, content_security_policy(nonce), status)


def login_view(next_url: str, error: str = "", status: int = 200) -> Rendered:
    """The sign-in form (it posts the token to ``/ui/login``), then on to `next_url`."""
    return Rendered(render_login(next_url=next_url, error=error), LOGIN_POLICY, status)


def _nonce() -> str:
    import secrets

    return secrets.token_urlsafe(16)
