"""`vsmml serve` over the dashboards' test store, with tokens, and the pages it should serve.

Before the server takes the store, the pages are built straight from the file (the pipeline's
`dashboards` functions with the same risk model) and rendered with a fixed nonce, so a test
can compare what the server answers with them byte for byte (after swapping the nonce).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api_server import ProcessServer
from report_store import build_store
from vsmml.config import Settings
from vsmml.correlate import correlate
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.pipeline import dashboards
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.tokens import TokenRequest, create_token
from vsmml.store import Store

NONCE = "test-nonce"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@dataclass
class UiServer:
    """The running server, its tokens by role, the expected pages and the store's facts."""

    srv: ProcessServer
    settings: Settings
    tokens: dict[str, str]
    expected: dict[str, str]
    latest_deploy: str
    services: tuple[str, ...]

    @property
    def url(self) -> str:
        return self.srv.url


def same_page(served: str, expected: str) -> bool:
    """The served page equals the expected one but for its fresh nonce."""
    nonces = set(re.findall(r"nonce-([A-Za-z0-9_-]+)'|nonce=\"([A-Za-z0-9_-]+)\"", served))
    found = {a or b for a, b in nonces}
    assert len(found) == 1, found  # one nonce, in the policy and on the script
    return served.replace(found.pop(), NONCE) == expected


@contextmanager
def ui_server(home: Path) -> Iterator[UiServer]:
    """Build the store under `home`, make tokens, render the pages, then serve it."""
    settings = build_store(home)
    scorer, location = load_risk_scorer(settings=settings)
    model = dashboards.model_label(location)
    with Store.from_settings(settings) as store:
        tokens = {
            "read": create_token(store, TokenRequest("read", "dash")).token,
            "ingest": create_token(store, TokenRequest("ingest", "ci")).token,
            "admin": create_token(store, TokenRequest("admin,read", "root")).token,
        }
        events = store.read_events(kinds=DELIVERY_KINDS)
        expected = {
            "executive": dashboards.render_page(
                dashboards.executive(store, settings=settings, scorer=scorer, model=model),
                nonce=NONCE,
                signed_in=True,
            ),
            "debug": dashboards.render_page(
                dashboards.debug(store, settings=settings, scorer=scorer),
                nonce=NONCE,
                signed_in=True,
            ),
        }
    deps = correlate(events).deployments
    prod = deps.loc[(deps["env"] == "production") & ~deps["is_rollback"]].sort_values("finished_at")
    services = tuple(sorted(set(events["service"].astype(str))))
    srv = ProcessServer(home, {"VSMML_TOKEN": tokens["read"]}).start(ready=True)
    try:
        yield UiServer(srv, settings, tokens, expected, str(prod["deploy_id"].iloc[-1]), services)
    finally:
        srv.stop()
