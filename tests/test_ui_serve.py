"""The dashboards as `vsmml serve` serves them, over HTTP against the real server process.

The ``?token=`` link and the login form exchange a ``read`` token for an opaque HttpOnly,
SameSite=Strict session cookie and redirect (303) without the token; without a session a
browser goes to the form and other clients get 401; a token without ``read`` gets 403;
revoking the token ends its sessions; the pages equal the pipeline's pages built from the
file; their drill-down links open; and no token ever reaches the server's log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ui_server import HTML, UiServer, same_page, ui_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with ui_server(tmp_path_factory.mktemp("ui-serve") / "home") as server:
        yield server


def _client(ui: UiServer) -> httpx.Client:
    return httpx.Client(base_url=ui.url, follow_redirects=False, timeout=120)


def _sign_in(ui: UiServer, token: str | None = None) -> httpx.Client:
    client = _client(ui)
    r = client.get("/ui/executive", params={"token": token or ui.tokens["read"]}, headers=HTML)
    assert r.status_code == 303, r.text
    return client


def test_the_token_link_becomes_a_session_cookie_and_a_redirect_without_it(ui: UiServer) -> None:
    client = _client(ui)
    token = ui.tokens["read"]
    r = client.get(f"/ui/oncall?service={ui.services[0]}&token={token}", headers=HTML)
    assert r.status_code == 303
    assert r.headers["location"] == f"/ui/oncall?service={ui.services[0]}"  # the token is gone
    cookie = r.headers["set-cookie"]
    flags = {p.strip().split("=")[0].lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= flags
    assert "samesite=strict" in cookie.lower() and "path=/ui" in cookie.lower()
    session = client.cookies["vsmml_session"]
    assert len(session) >= 40 and token not in cookie and session not in token
    page = client.get(r.headers["location"], headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<option value="{ui.services[0]}" selected>' in page.text
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page.text
    assert "frame-ancestors 'none'" in policy and page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"  # no URL here carries a secret
    again = client.get("/ui/oncall", headers=HTML)
    assert again.headers["content-security-policy"] != policy  # a fresh nonce per answer
    # a bad token in the link: the form says why, and no cookie is set
    bad = _client(ui).get("/ui/executive?token=vsmml_000000000000_nope", headers=HTML)
    assert bad.status_code == 401 and "invalid bearer token" in bad.text
    assert "set-cookie" not in bad.headers and 'type="password"' in bad.text


def test_without_a_session_a_browser_goes_to_the_form_others_get_401(ui: UiServer) -> None:
    client = _client(ui)
    r = client.get("/ui/debug?deploy=x", headers=HTML)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/ui/login" and parse_qs(target.query)["next"] == ["/ui/debug?deploy=x"]
    form = client.get(r.headers["location"], headers=HTML)
    assert form.status_code == 200 and 'name="next" value="/ui/debug?deploy=x"' in form.text
    assert form.headers["content-security-policy"].startswith("default-src 'none'")
    api = client.get("/ui/executive")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
    assert api.headers["www-authenticate"] == "Bearer"
    forged = _client(ui)
    forged.cookies.set("vsmml_session", "forged")
    assert forged.get("/ui/executive").status_code == 401
    # a bearer header works for scripts, without a session
    auth = {"Authorization": f"Bearer {ui.tokens['read']}"}
    assert client.get("/ui/oncall", headers=auth).status_code == 200
    assert client.get("/ui", headers=HTML).headers["location"] == "/ui/executive"


def test_the_login_form_posts_a_token_and_refuses_cross_site_posts(ui: UiServer) -> None:
    client = _client(ui)
    good = {"token": ui.tokens["read"], "next": "/ui/debug"}
    r = client.post("/ui/login", data=good, headers={**HTML, "Origin": ui.url})
    assert r.status_code == 303 and r.headers["location"] == "/ui/debug"
    assert client.get("/ui/debug", headers=HTML).status_code == 200
    for off_site in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = _client(ui).post("/ui/login", data={**good, "next": off_site})
        assert r.headers["location"] == "/ui/executive", off_site  # no open redirect
    for xsite in (
        {"Origin": "https://evil.example"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    ):
        refused = _client(ui).post("/ui/login", data=good, headers=xsite)
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
    wrong = _client(ui).post("/ui/login", data={**good, "token": "wrong"}, headers=HTML)
    assert wrong.status_code == 401 and "invalid bearer token" in wrong.text
    assert _client(ui).get("/ui/login", headers=HTML).status_code == 200
    session = client.cookies["vsmml_session"]
    out = client.post("/ui/logout", headers={"Origin": ui.url})
    assert out.status_code == 303 and 'vsmml_session=""' in out.headers["set-cookie"]
    replayed = _client(ui)
    replayed.cookies.set("vsmml_session", session)
    assert replayed.get("/ui/debug", headers=HTML).status_code == 303  # the session has ended


def test_a_token_without_the_read_scope_is_refused_with_403(ui: UiServer) -> None:
    ingest = ui.tokens["ingest"]
    page = _client(ui).get(f"/ui/executive?token={ingest}", headers=HTML)
    assert page.status_code == 403 and "lacks the &#39;read&#39; scope" in page.text
    assert "set-cookie" not in page.headers
    api = _client(ui).get(f"/ui/executive?token={ingest}")
    assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    bearer = _client(ui).get("/ui/oncall", headers={"Authorization": f"Bearer {ingest}"})
    assert bearer.status_code == 403


def test_revoking_the_token_ends_its_sessions(ui: UiServer) -> None:
    admin = {"Authorization": f"Bearer {ui.tokens['admin']}"}
    made = httpx.post(
        ui.url + "/v1/admin/tokens", json={"scopes": ["read"], "name": "browser"}, headers=admin
    )
    assert made.status_code in (200, 201), made.text
    browser = _sign_in(ui, made.json()["token"])
    other = _sign_in(ui, made.json()["token"])  # a second browser with the same token
    assert browser.get("/ui/oncall", headers=HTML).status_code == 200
    gone = httpx.delete(ui.url + "/v1/admin/tokens/browser", headers=admin)
    assert gone.status_code == 200
    r = browser.get("/ui/oncall", headers=HTML)
    assert r.status_code == 303 and "ended=true" in r.headers["location"]
    assert 'vsmml_session=""' in r.headers["set-cookie"]  # the stale cookie is cleared
    ended = browser.get(r.headers["location"], headers=HTML)
    assert "session has ended" in ended.text
    assert other.get("/ui/oncall").status_code == 401
    assert _client(ui).get("/ui/oncall", params={"token": made.json()["token"]}, headers=HTML
                           ).status_code == 401  # fmt: skip


def test_the_pages_equal_the_pipelines_and_their_links_drill_down(ui: UiServer) -> None:
    client = _sign_in(ui)
    executive = client.get("/ui/executive", headers=HTML)
    assert executive.status_code == 200
    assert same_page(executive.text, ui.expected["executive"])
    debug = client.get("/ui/debug", headers=HTML)
    assert same_page(debug.text, ui.expected["debug"])
    assert f"<title>Deployment {ui.latest_deploy} · vsmml</title>" in debug.text
    deploys = sorted(set(re.findall(r'href="/ui/debug\?deploy=([^"&]+)"', executive.text)))
    assert deploys
    for deploy in deploys[:3]:
        page = client.get("/ui/debug", params={"deploy": deploy}, headers=HTML)
        assert page.status_code == 200 and f"<title>Deployment {deploy} · vsmml" in page.text
        changes = re.findall(r'href="/ui/debug\?change=([^"&]+)"', page.text)
        assert changes, deploy
    change = client.get("/ui/debug", params={"change": changes[0]}, headers=HTML)
    assert change.status_code == 200 and f"<title>Change {changes[0]} · vsmml" in change.text
    oncall = client.get("/ui/oncall", headers=HTML)
    assert oncall.status_code == 200 and 'href="/ui/executive"' in oncall.text
    missing = client.get("/ui/debug?deploy=nope", headers=HTML)
    assert missing.status_code == 404 and "no deployment &#39;nope&#39;" in missing.text
    both = client.get(f"/ui/debug?deploy={deploys[0]}&change={changes[0]}", headers=HTML)
    assert both.status_code == 400 and "not both" in both.text
    unknown = client.get("/ui/executive?service=nope", headers=HTML)
    assert unknown.status_code == 404 and "no events for &#39;nope&#39;" in unknown.text
    weeks = client.get(f"/ui/executive?weeks=4&service={ui.services[0]}", headers=HTML)
    assert weeks.status_code == 200 and 'name="weeks" value="4"' in weeks.text  # kept by the filter
    assert client.get("/ui/executive?weeks=0", headers=HTML).status_code == 422


def test_serve_prints_the_link_and_no_token_reaches_the_log(ui: UiServer) -> None:
    read = ui.tokens["read"]
    link = f"dashboards: {ui.url}/ui/executive?token={read}"
    _sign_in(ui).get(f"/ui/executive?service={ui.services[0]}&token={read}", headers=HTML)
    httpx.get(ui.url + f"/v1/models?token={ui.tokens['admin']}")  # pasted into an API URL
    httpx.get(ui.url + f"/ui/nowhere?token={ui.tokens['ingest']}")
    time.sleep(0.3)  # let the access log reach the file
    log = ui.srv.output()
    assert link in log
    assert log.count(read) == 1  # the printed link only, never a log line
    assert f'"GET /ui/executive?service={ui.services[0]} HTTP/1.1" 303' in log
    assert "GET /v1/models?token=[redacted]" in log
    for secret in ui.tokens.values():
        assert secret not in log.replace(link, "")
    session = _sign_in(ui).cookies["vsmml_session"]
    assert session not in log


def test_the_link_line_without_a_token_says_how_to_make_one() -> None:
    from vsmml.cli.serve import dashboards_link

    line = dashboards_link("0.0.0.0", 8080, None)
    assert "http://127.0.0.1:8080/ui/executive" in line
    assert "vsmml token create --scopes read" in line and "token=" not in line
    assert dashboards_link("::", 9, "vsmml_a_b").endswith(
        "http://[::1]:9/ui/executive?token=vsmml_a_b"
    )


def test_a_write_shows_on_the_next_page(ui: UiServer) -> None:
    """Pages are cached until the next write: an ingested event shows at once."""
    client = _sign_in(ui)
    before = client.get("/ui/executive", headers=HTML)
    assert '<option value="zz-new">' not in before.text
    event = {
        "event_id": "ui-new-service",
        "kind": "commit",
        "ts": "2020-01-06T10:00:00Z",
        "repo": "acme/zz-new",
        "sha": "a" * 40,
        "service": "zz-new",
    }
    auth = {"Authorization": f"Bearer {ui.tokens['ingest']}"}
    posted = httpx.post(ui.url + "/v1/events", json=[event], headers=auth, timeout=60)
    assert posted.status_code in (200, 201, 202), posted.text
    after = client.get("/ui/executive", headers=HTML)
    assert '<option value="zz-new">' in after.text
