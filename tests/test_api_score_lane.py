"""The scoring hot path (`api.score_lane.ScoreLane`) answers what the route answers, and hands
every other request to the app with its body intact.

The lane is called as ASGI with a real `Service` (store, token book, compiled model); the app
behind it is a recorder, so a test sees whether the lane answered or handed the request on and
what the app then received. Its behaviour through a real uvicorn (errors, auth, metrics) is in
test_api_e2e.py, where every score request passes through it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from vsmml.api.score_lane import PATH, ScoreLane
from vsmml.config import Settings
from vsmml.models.treefast import TableTrees
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.scoring import score_and_lower, score_records
from vsmml.pipeline.service_errors import BodyTooLargeError
from vsmml.pipeline.service_scoring import score_json
from vsmml.pipeline.service_state import LoadedModel, Service
from vsmml.pipeline.tokens import TokenRequest, create_token
from vsmml.recommend.counterfactual import what_would_lower
from vsmml.store import Store


class Recorder:
    """The app behind the lane: records each request it gets, with the body it reads."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes | BaseException]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except BodyTooLargeError as exc:
            self.calls.append((scope["path"], exc))
        else:
            self.calls.append((scope["path"], b"".join(chunks)))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"route"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = Settings(home=Path(tmp_path_factory.mktemp("lane")) / "home")
    store = Store.from_settings(settings)
    tokens = {
        role: create_token(store, TokenRequest(scopes, role)).token
        for role, scopes in (("read", "read"), ("ingest", "ingest"))
    }
    scorer, location = load_risk_scorer(settings=settings)
    scorer.trees = TableTrees(scorer.trees)  # type: ignore[arg-type]
    # two services on one model: answers are remembered per loaded model, so the second
    # computes afresh what the lane answered from the first
    lane_svc = Service(settings, store, LoadedModel(scorer, location, time.time()))
    other = Service(settings, store, LoadedModel(scorer, location, time.time() + 1))
    yield {"lane": lane_svc, "other": other, "tokens": tokens}
    store.close()


def _call(
    lane: ScoreLane,
    body: bytes,
    *,
    token: str | None,
    query: bytes = b"",
    method: str = "POST",
    path: str = PATH,
    chunks: int = 1,
    fail_after: int | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    headers = [(b"content-type", b"application/json")]
    if token is not None:
        headers.append((b"authorization", b"Bearer " + token.encode()))
    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": headers}  # fmt: skip
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if fail_after is not None and fail_after <= 0:
            raise BodyTooLargeError("the request body is larger than 10 bytes", "body")
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(lane(scope, receive, send))
    start, end = sent
    return start["status"], dict(start["headers"]), end["body"]


def _lane(world: dict[str, Any]) -> tuple[ScoreLane, Recorder]:
    app = Recorder()
    route = SimpleNamespace(path=PATH)
    return ScoreLane(app, state=SimpleNamespace(service=world["lane"]), route=route), app


def test_the_lane_answers_the_bytes_the_route_would(world: dict[str, Any]) -> None:
    lane, app = _lane(world)
    rng = np.random.default_rng(5)
    for i in range(60):
        doc: Any = {"la": int(rng.integers(1, 3000)), "ld": int(rng.integers(0, 400)),
                    "nf": int(rng.integers(1, 40)), "fix": bool(i % 2)}  # fmt: skip
        if i % 5 == 0:
            doc = [doc, {"la": i + 1, "nf": 2}]
        body = json.dumps(doc).encode()
        threshold, top = (0.3, 3) if i % 3 == 0 else (None, 5)
        query = f"threshold={threshold}&top={top}".encode() if threshold is not None else b""
        status, headers, text = _call(lane, body, token=world["tokens"]["read"], query=query)
        assert status == 200 and headers[b"content-type"] == b"application/json"
        assert int(headers[b"content-length"]) == len(text)
        assert text == score_json(world["other"], body, threshold=threshold, top=top).encode()
    assert app.calls == []  # every one answered by the lane


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("no token", {"token": None}),
        ("unknown token", {"token": "vsmml_nope_nope"}),
        ("token without the read scope", {"token": "ingest"}),
        ("a range the route refuses", {"query": b"top=0"}),
        ("a threshold that is not a number", {"query": b"threshold=nan"}),
        ("an unknown parameter", {"query": b"verbose=1"}),
        ("a parameter twice", {"query": b"top=2&top=3"}),
        ("a body in three chunks, malformed", {"body": b'{"la": 12, "nf": ', "chunks": 3}),
        ("a change named by sha", {"body": b'{"sha": "abcdef1234567"}'}),
        ("a list longer than the lane takes", {"body": json.dumps([{"la": 3}] * 5).encode()}),
        ("a model input that is not a number", {"body": b'{"la": "many"}'}),
    ],
)
def test_everything_else_reaches_the_route_with_its_body(
    world: dict[str, Any], case: str, kwargs: dict[str, Any]
) -> None:
    lane, app = _lane(world)
    body = kwargs.pop("body", b'{"la": 120, "ld": 30, "nf": 4}')
    token = kwargs.pop("token", "read")
    token = world["tokens"].get(token, token) if token is not None else None
    status, _, text = _call(lane, body, token=token, **kwargs)
    assert (status, text) == (299, b"route"), case
    assert app.calls == [(PATH, body)], case


def test_other_routes_and_methods_pass_straight_through(world: dict[str, Any]) -> None:
    lane, app = _lane(world)
    body = b'{"la": 120}'
    read = world["tokens"]["read"]
    assert _call(lane, body, token=read, method="GET")[0] == 299
    assert _call(lane, body, token=read, path="/v1/events")[0] == 299
    assert app.calls == [(PATH, body), ("/v1/events", body)]


def test_a_body_over_the_limit_reaches_the_route_as_the_same_error(
    world: dict[str, Any],
) -> None:
    lane, app = _lane(world)
    status, _, _ = _call(lane, b'{"la": 1}', token=world["tokens"]["read"], fail_after=0)
    assert status == 299
    [(path, error)] = app.calls
    assert path == PATH and isinstance(error, BodyTooLargeError)


def test_a_service_still_opening_is_left_to_the_route(world: dict[str, Any]) -> None:
    app = Recorder()
    lane = ScoreLane(app, state=SimpleNamespace(service=None), route=None)
    assert _call(lane, b'{"la": 1}', token=world["tokens"]["read"])[0] == 299
    assert len(app.calls) == 1


def _record(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "la": int(rng.lognormal(4, 2)),
        "ld": int(rng.lognormal(3, 2)),
        "nf": int(rng.integers(1, 60)),
        "entropy": float(rng.random() * 3),
        "nd": int(rng.integers(1, 9)),
        "ndev": int(rng.integers(1, 20)),
    }


def test_one_pass_scores_equal_the_gate_s_counterfactuals(world: dict[str, Any]) -> None:
    """`score_and_lower` (changes and their variants in one pass) gives the numbers of
    `score_records` + `what_would_lower` (one call each), for many changes and lists."""
    svc: Service = world["lane"]
    scorer, location = svc.model.scorer, svc.model.location
    rng = np.random.default_rng(8)
    splits = 0
    for i in range(150):
        records = [_record(rng) for _ in range(1 + i % 3)]
        for r in records:
            if rng.random() < 0.3:
                r.pop(str(rng.choice(list(r))))
        report, lowered = score_and_lower(records, scorer, location, top=4)
        alone = score_records(records, scorer, location, top=4)
        for got, want, record, lower in zip(
            report.changes, alone.changes, records, lowered, strict=True
        ):
            assert got.probability == pytest.approx(want.probability, abs=1e-12)
            assert [r.feature for r in got.reasons] == [r.feature for r in want.reasons]
            inputs = {c: float(record.get(c, np.nan)) for c in scorer.input_columns}
            gate = what_would_lower(scorer, inputs)
            assert [c.action for c in lower] == [c.action for c in gate]
            for a, b in zip(lower, gate, strict=True):
                assert a.new_probability == pytest.approx(b.new_probability, abs=1e-12)
                assert a.changed == b.changed
                splits += a.action == "split_change"
    assert splits >= 20
