"""Headless Chromium for the page tests (Debian's `chromium` and `chromium-driver`, Selenium).

`open_page` loads a URL, waits for it, takes a full-page screenshot and returns every request
the page made and every console message, so a test can fail on an external request or a
console error. Without the browser the tests skip with a message saying what to install.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
SCREENSHOTS = Path(os.environ.get("VSMML_SCREENSHOTS", Path(__file__).parent / ".screenshots"))


def executables() -> tuple[str, str]:
    """The Chromium and chromedriver binaries, or skip the test naming what is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "headless Chromium not found (need `chromium` and `chromedriver` on PATH): "
            "apt-get install -y chromium chromium-driver (.ci/run does this)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (it is a dev dependency: make install)")
    return chromium, driver


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium driven by chromedriver, with a fresh profile in `profile`."""
    binary, driver_path = executables()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Visit:
    """What one page load did: requests made, console messages, the screenshot, the title."""

    url: str
    requests: list[str]
    console: list[dict[str, Any]]
    screenshot: Path
    title: str

    @property
    def errors(self) -> list[str]:
        """Console messages at error level (CSP violations and script errors among them)."""
        return [m["message"] for m in self.console if m.get("level") == "SEVERE"]


def _requests(driver: Any, origin: str) -> list[str]:
    """Every request a document of `origin` (the page and what it loads) sent; the browser's
    own pages (chrome://...) are not the page's doing and are left out."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") != "Network.requestWillBeSent":
            continue
        params = msg["params"]
        if str(params.get("documentURL", "")).startswith(origin):
            urls.append(params["request"]["url"])
    return urls


def open_page(driver: Any, url: str, name: str, origin: str | None = None) -> Visit:
    """Load `url` (its requests are those of documents under `origin`, default the URL
    itself), screenshot the whole page to `SCREENSHOTS/<name>.png`, collect the logs."""
    driver.get_log("performance")  # drop what earlier pages left
    driver.get_log("browser")
    driver.get(url)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": min(max(height, 600), 16000), "deviceScaleFactor": 1,
         "mobile": False},
    )  # fmt: skip
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    import base64

    path.write_bytes(base64.b64decode(shot["data"]))
    return Visit(
        url, _requests(driver, origin or url), driver.get_log("browser"), path, driver.title
    )


def foreign(requests: list[str], allowed: tuple[str, ...]) -> list[str]:
    """The requests that went anywhere but the allowed prefixes (and inline data)."""
    return [u for u in requests if not u.startswith((*allowed, "data:", "about:"))]
