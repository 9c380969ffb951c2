"""The dashboards (scope ``read``) under ``/ui/``: executive, on-call and debug pages, sign-in.

A browser signs in with a ``read`` token, either from a link (``/ui/executive?token=...``,
which `vsmml serve` prints) or the form at ``/ui/login``; the server answers with an opaque,
HttpOnly, SameSite=Strict session cookie and redirects (303) to the page without the token.
The token is taken out of the request's query before anything logs it (uvicorn's access line
is written from the same query when the answer starts). Without a session, a browser is sent
to the form and any other client gets 401; an ``Authorization: Bearer`` header works as well.
Each route names its page and filters and calls `pipeline.dashboards_service`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vsmml.api.deps import ServiceDep
from vsmml.api.errors import status_of
from vsmml.pipeline.dashboards_sessions import SCOPE, SESSION_COOKIE, SessionBook, sessions
from vsmml.pipeline.service_errors import InvalidTokenError, TokenError
from vsmml.pipeline.service_state import Service

if TYPE_CHECKING:
    from vsmml.pipeline import dashboards_service


def _pages() -> Any:
    """`vsmml.pipeline.dashboards_service`, imported on first use (pandas and the core)."""
    import vsmml.pipeline.dashboards_service as module

    return module


def take_token(request: Request) -> None:
    """Move ``?token=`` out of the query (into the request's state) before it can be logged."""
    raw: bytes = request.scope.get("query_string", b"")
    if b"token=" not in raw:
        return
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    tokens = [v for k, v in pairs if k == "token"]
    if tokens:
        request.state.ui_token = tokens[-1]
        request.scope["query_string"] = urlencode(
            [(k, v) for k, v in pairs if k != "token"]
        ).encode()


router = APIRouter(
    prefix="/ui", tags=["ui"], include_in_schema=False, dependencies=[Depends(take_token)]
)
HOME: Final = "/ui/executive"
HEADERS: Final = {"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
ENDED: Final = "Your session has ended (signed out, expired, or its token was revoked)."

Name = Annotated[str | None, Query(max_length=200, description="Only this service.")]
Weeks = Annotated[int, Query(ge=1, le=52, description="Weeks the executive page covers.")]
Hours = Annotated[int, Query(ge=1, le=168, description="Hours of deployments on-call shows.")]
Id = Annotated[str | None, Query(min_length=1, max_length=200)]


# -- pages ------------------------------------------------------------------------------------
@router.get("/executive")
def executive(request: Request, s: ServiceDep, service: Name = None, weeks: Weeks = 8) -> Any:
    """Lead time, deployment frequency and success, CFR and restore time, the risk heatmap."""
    return _page(request, s, _pages().PageRequest("executive", service=service, weeks=weeks))


@router.get("/oncall")
def oncall(request: Request, s: ServiceDep, service: Name = None, hours: Hours = 24) -> Any:
    """Open incidents, the last hours' deployments, error-budget burn, alerts by service."""
    return _page(request, s, _pages().PageRequest("oncall", service=service, hours=hours))


@router.get("/debug")
def debug(request: Request, s: ServiceDep, change: Id = None, deploy: Id = None) -> Any:
    """A change's or deployment's events, canary, tests, steps (default: the latest deploy)."""
    return _page(request, s, _pages().PageRequest("debug", change=change, deploy=deploy))


@router.get("")
@router.get("/")
def home() -> Any:
    """The executive page."""
    return RedirectResponse(HOME, 303, headers=HEADERS)


# -- signing in and out -----------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: Id = None, ended: bool = False) -> Any:
    """The sign-in form (a token with the ``read`` scope)."""
    if getattr(request.state, "ui_token", None) is not None:  # a link to the form itself
        return _sign_in(request, sessions(_running(request)), _safe_next(next))
    return _html(_pages().login_view(_safe_next(next), ENDED if ended else ""))


@router.post("/login")
async def login(request: Request, s: ServiceDep) -> Any:
    """Exchange the posted token for a session cookie; on to ``next``."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    next_url = _safe_next(form.get("next"))
    if not _same_origin(request):
        return _html(_pages().login_view(next_url, "cross-site sign-in refused", 403))
    request.state.ui_token = form.get("token", "")
    return _sign_in(request, sessions(s), next_url)


@router.post("/logout")
def logout(request: Request, s: ServiceDep) -> Any:
    """End this browser's session."""
    if _same_origin(request):
        sessions(s).close(request.cookies.get(SESSION_COOKIE))
    answer = RedirectResponse("/ui/login", 303, headers=HEADERS)
    answer.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")
    return answer


# -- the gate every page passes ---------------------------------------------------------------
def _page(request: Request, s: Service, page: dashboards_service.PageRequest) -> Response:
    book = sessions(s)
    here = _here(request)
    if getattr(request.state, "ui_token", None) is not None:
        return _sign_in(request, book, here)
    try:
        _who(request, s, book)
    except InvalidTokenError:
        if not _wants_html(request):
            raise
        ended = request.cookies.get(SESSION_COOKIE) is not None
        answer = RedirectResponse(_login_url(here, ended), 303, headers=HEADERS)
        if ended:
            answer.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")
        return answer
    except TokenError as exc:  # a bearer token without the scope
        return _refused(request, exc, here)
    return _html(_pages().page_view(s, page))


def _who(request: Request, s: Service, book: SessionBook) -> None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        s.tokens.check(auth[7:].strip(), SCOPE)
    else:
        book.check(request.cookies.get(SESSION_COOKIE))


def _sign_in(request: Request, book: SessionBook, next_url: str) -> Response:
    try:
        session_id, session = book.open(request.state.ui_token)
    except TokenError as exc:
        return _refused(request, exc, next_url)
    answer = RedirectResponse(next_url, 303, headers=HEADERS)
    answer.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=session.max_age,
        path="/ui",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return answer


def _refused(request: Request, exc: TokenError, next_url: str) -> Response:
    if not _wants_html(request):
        raise exc
    status, _ = status_of(exc)
    return _html(_pages().login_view(next_url, str(exc), status))


def _html(rendered: dashboards_service.Rendered) -> Response:
    headers = {**HEADERS, "Content-Security-Policy": rendered.policy}
    return HTMLResponse(rendered.html, rendered.status, headers=headers)


def _running(request: Request) -> Service:
    from vsmml.api.auth import served

    return served(request)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _here(request: Request) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")


def _login_url(next_url: str, ended: bool) -> str:
    return f"/ui/login?next={quote(next_url, safe='')}" + ("&ended=true" if ended else "")


def _safe_next(next_url: str | None) -> str:
    """Only a page of this site's ``/ui/`` goes as ``next`` (no open redirect)."""
    if not next_url or not next_url.startswith("/ui/") or "\\" in next_url:
        return HOME
    if any(ord(c) < 0x20 for c in next_url) or next_url.startswith("/ui/login"):
        return HOME
    return next_url


def _same_origin(request: Request) -> bool:
    """A form post from this site: its ``Origin``, else (none, or ``null``) the browser's
    ``Sec-Fetch-Site``; a client sending neither is no browser posting across sites."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
