"""The executive, on-call and debug pages in a real headless Chromium, rendered to files (the
HTTP service mounts the same HTML under /ui/): nothing fetched, no console error (the inline
script runs under the page's nonce policy), the service filter works; screenshots of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import chromium, executables, foreign, open_page
from report_store import build_store
from ui_server import ui_server
from vsmml.pipeline import dashboards
from vsmml.report.pages import render_page
from vsmml.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_the_three_pages_render_offline_in_chromium(tmp_path: Path) -> None:
    executables()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    settings = build_store(tmp_path / "home")
    pages = tmp_path / "ui"
    pages.mkdir()
    with Store.from_settings(settings, read_only=True) as store:
        built = {
            "executive": dashboards.executive(store, settings=settings),
            "oncall": dashboards.oncall(store),
            "debug": dashboards.debug(store, settings=settings),
        }
    files = {}
    for name, page in built.items():
        files[name] = pages / f"{name}.html"
        files[name].write_text(render_page(page), encoding="utf-8")
    origin = pages.resolve().as_uri()
    with chromium(tmp_path / "profile") as driver:
        for name, path in files.items():
            visit = open_page(driver, path.resolve().as_uri(), f"ui-{name}", origin=origin)
            assert foreign(visit.requests, (origin,)) == [], name
            assert visit.errors == [], name
            assert visit.title.startswith(built[name].title), name
            headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
            assert headings == [s.heading for s in built[name].sections], name
            assert driver.find_elements(By.CSS_SELECTOR, "nav.tabs a.current")[0].text
            assert visit.screenshot.stat().st_size > 20_000
        # the filter's inline script submits on change: proof that it ran under the CSP nonce
        driver.get(files["executive"].resolve().as_uri())
        Select(driver.find_element(By.ID, "service")).select_by_value("checkout")
        WebDriverWait(driver, 10).until(lambda d: "service=checkout" in d.current_url)
        assert [m for m in driver.get_log("browser") if m["level"] == "SEVERE"] == []


def test_the_served_pages_with_a_session_in_chromium(tmp_path: Path) -> None:
    """`vsmml serve`'s sign-in link in Chromium: the token leaves the address bar for an
    HttpOnly session cookie; the three pages load from the server alone, without console
    errors (the inline script runs under the header's nonce), and their links drill down."""
    executables()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with ui_server(tmp_path / "home") as ui, chromium(tmp_path / "profile") as driver:
        read = ui.tokens["read"]
        first = open_page(driver, f"{ui.url}/ui/executive?token={read}", "served-executive",
                          origin=ui.url)  # fmt: skip
        assert driver.current_url == f"{ui.url}/ui/executive"  # the token left the address bar
        cookies = {c["name"]: c for c in driver.get_cookies()}
        session = cookies["vsmml_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/ui"
        assert read not in session["value"]
        assert driver.execute_script("return document.cookie") == ""  # out of the script's reach
        visits = {"executive": first}
        for name in ("oncall", "debug"):
            visits[name] = open_page(driver, f"{ui.url}/ui/{name}", f"served-{name}", ui.url)
        for name, visit in visits.items():
            assert foreign(visit.requests, (ui.url,)) == [], name
            assert visit.errors == [], name
            assert visit.screenshot.stat().st_size > 20_000, name
            assert driver.find_elements(By.CSS_SELECTOR, "nav.tabs a")[0].text == "Executive"
        assert visits["debug"].title.startswith(f"Deployment {ui.latest_deploy}")
        # drill down: the executive page's latest deployment of a service, then one of its changes
        driver.get(f"{ui.url}/ui/executive")
        driver.find_element(By.CSS_SELECTOR, 'a[href^="/ui/debug?deploy="]').click()
        WebDriverWait(driver, 60).until(lambda d: d.title.startswith("Deployment "))
        driver.find_element(By.CSS_SELECTOR, 'a[href^="/ui/debug?change="]').click()
        WebDriverWait(driver, 60).until(lambda d: d.title.startswith("Change "))
        # the service filter (inline script, allowed by the header's nonce) reloads the page
        driver.get(f"{ui.url}/ui/oncall")
        Select(driver.find_element(By.ID, "service")).select_by_value(ui.services[0])
        WebDriverWait(driver, 60).until(lambda d: f"service={ui.services[0]}" in d.current_url)
        assert [m for m in driver.get_log("browser") if m["level"] == "SEVERE"] == []
        # signing out ends the session: the next page goes to the form
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        WebDriverWait(driver, 60).until(lambda d: d.current_url == f"{ui.url}/ui/login")
        driver.get(f"{ui.url}/ui/debug")
        assert driver.current_url.startswith(f"{ui.url}/ui/login?next=")
        assert driver.find_element(By.ID, "token").get_attribute("type") == "password"
        driver.find_element(By.ID, "token").send_keys(read)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        WebDriverWait(driver, 60).until(lambda d: d.current_url == f"{ui.url}/ui/debug")
        assert [m for m in driver.get_log("browser") if m["level"] == "SEVERE"] == []
