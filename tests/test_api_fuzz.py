"""Property-based fuzzing of the HTTP service from its own OpenAPI document (schemathesis).

Every operation gets generated requests (valid and invalid parameters, bodies and headers),
sent over HTTP to a real uvicorn with a token holding every scope; no answer may be a 5xx, each
status must be one the document lists, and answers must fit their documented shape. The example
count is bounded here (``VSMML_FUZZ_EXAMPLES``, default 12, without the coverage phase);
`bench/bench_api.py` runs a longer pass with it (``VSMML_FUZZ_COVERAGE=1``). A training runs
"meanwhile" (the test holds its lock), so ``POST /v1/admin/train`` answers 422 or 409 and the
fuzzer checks its validation without training models for minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api_server import ThreadServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("VSMML_FUZZ_EXAMPLES", "12"))
COVERAGE = os.environ.get("VSMML_FUZZ_COVERAGE") == "1"
"""Schemathesis's coverage phase (every boundary case the document defines, unbounded by the
example count): off in `make test`, on in the benchmark's long run."""


def _schema() -> Any:
    from vsmml.api.app import create_app
    from vsmml.config import Settings

    phases = {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}}
    config = schemathesis.Config.from_dict({"phases": phases})
    document = create_app(Settings(home=Path("unused"))).openapi()
    return schemathesis.openapi.from_dict(document, config=config)


schema = _schema()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from vsmml.api.app import create_app
    from vsmml.config import Settings
    from vsmml.pipeline.tokens import TokenRequest, create_token
    from vsmml.store import Store

    home = tmp_path_factory.mktemp("fuzz") / "home"
    s = Settings(home=home, github_webhook_secret="fuzz-gh", gitlab_webhook_token="fuzz-gl")
    with Store.from_settings(s) as store:
        token = create_token(store, TokenRequest("ingest,read,admin", "fuzz-all-7f3a9c")).token
    from vsmml.pipeline import service_training

    with service_training._TRAINING, ThreadServer(create_app(s)) as server:
        yield server.url, token


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_for_any_generated_request(case: Any, live: tuple[str, str]) -> None:
    url, token = live
    headers = {"Authorization": f"Bearer {token}"} if case.path != "/healthz" else {}
    case.call_and_validate(
        base_url=url,
        headers=headers,
        timeout=60,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
