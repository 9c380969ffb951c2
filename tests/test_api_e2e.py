"""The HTTP service end to end: a real uvicorn on a free loopback port, talked to over HTTP.

One server per module (a small synthetic organisation ingested through `POST /v1/events`):
every auth case, signatures, limits, malformed bodies, ingest then read-back, scoring, reload.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_server import ThreadServer

pytestmark = [pytest.mark.integration]

SECRETS = {"github": "gh-s3cret-value", "gitlab": "gl-t0ken-value", "pagerduty": "pd-s1gning-key"}


@dataclass
class Api:
    """A running server, its home and a token per role."""

    url: str
    home: Path
    tokens: dict[str, str]
    client: httpx.Client

    def call(self, method: str, path: str, role: str | None = "all", **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.request(method, self.url + path, headers=headers, **kw)


def _events() -> list[dict[str, Any]]:
    from vsmml.synth import SynthConfig, generate

    frame = generate(SynthConfig(n_services=2, n_teams=1, days=21, seed=7)).events
    first = sorted(set(frame["service"].dropna().astype(str)))[0]
    frame = frame[(frame["kind"] != "slo.sample") | (frame["service"] == first)]
    rows = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="us"))
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from vsmml.api.app import create_app
    from vsmml.config import Settings
    from vsmml.pipeline.tokens import TokenRequest, create_token, revoke_token
    from vsmml.store import Store

    home = tmp_path_factory.mktemp("api") / "home"
    settings = Settings(
        home=home,
        github_webhook_secret=SECRETS["github"],
        gitlab_webhook_token=SECRETS["gitlab"],
        pagerduty_webhook_secret=SECRETS["pagerduty"],
    )
    past = datetime.now(UTC) - timedelta(days=2)
    with Store.from_settings(settings) as store:
        tokens = {
            role: create_token(store, TokenRequest(scopes, role)).token
            for role, scopes in (
                ("all", "ingest,read,admin"),
                ("ingest", "ingest"),
                ("read", "read"),
                ("admin", "admin"),
                ("revoked", "read,ingest"),
            )
        }
        tokens["expired"] = create_token(
            store, TokenRequest("read", "expired", "1d"), now=past
        ).token
        revoke_token(store, "revoked")
    with ThreadServer(create_app(settings)) as server, httpx.Client(timeout=60) as client:
        yield Api(server.url, home, tokens, client)


@pytest.fixture(scope="module")
def ingested(api: Api) -> dict[str, Any]:
    """The synthetic organisation posted in batches of 1,000; the totals of the answers."""
    events = _events()
    totals = {"accepted": 0, "duplicates": 0, "quarantined": 0, "batches": 0, "sent": len(events)}
    for start in range(0, len(events), 1000):
        r = api.call("POST", "/v1/events", role="ingest", json=events[start : start + 1000])
        assert r.status_code == 200, r.text
        for k in ("accepted", "duplicates", "quarantined"):
            totals[k] += r.json()[k]
        totals["batches"] += 1
    totals["first_batch"] = events[:1000]
    totals["deployed_services"] = {
        e["service"]
        for e in events
        if e["kind"] == "deploy.finished" and e.get("env") == "production"
    }
    totals["teams"] = sorted({e["team"] for e in events if e.get("team")})
    return totals


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    doc = r.json()
    assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "field"}
    assert doc["error"]["code"] == code, doc
    assert "Traceback" not in r.text
    return dict(doc["error"])


# -- operate -----------------------------------------------------------------------------------
def test_health_ready_and_docs_need_no_token(api: Api) -> None:
    assert api.call("GET", "/healthz", role=None).json() == {"status": "ok"}
    ready = api.call("GET", "/readyz", role=None).json()
    assert ready["status"] == "ready" and ready["model"]["source"] == "default"
    spec = api.call("GET", "/openapi.json", role=None).json()
    assert "/v1/risk/score" in spec["paths"] and "/v1/webhooks/github" in spec["paths"]
    assert api.call("GET", "/docs", role=None).status_code == 200


def test_every_answer_has_a_request_id_and_safe_headers(api: Api) -> None:
    r = api.call("GET", "/healthz", role=None, headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    assert r.headers["x-content-type-options"] == "nosniff"
    made = api.call("GET", "/healthz", role=None, headers={"X-Request-ID": "bad id;drop"})
    assert made.headers["x-request-id"] != "bad id;drop" and len(made.headers["x-request-id"]) == 16


# -- auth --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "header", "status", "code"),
    [
        (None, None, 401, "unauthorized"),
        (None, "Bearer", 401, "unauthorized"),
        (None, "Basic dXNlcjpwYXNz", 401, "unauthorized"),
        (None, "Bearer vsmml_000000000000_notarealsecret", 401, "unauthorized"),
        (None, "Bearer garbage", 401, "unauthorized"),
        ("revoked", None, 401, "unauthorized"),
        ("expired", None, 401, "unauthorized"),
        ("ingest", None, 403, "forbidden"),
        ("admin", None, 403, "forbidden"),
    ],
)
def test_reads_refuse_bad_tokens(
    api: Api, role: str | None, header: str | None, status: int, code: str
) -> None:
    headers = {"Authorization": header} if header else {}
    r = api.call("GET", "/v1/models", role=role, headers=headers)
    err = _error(r, status, code)
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    if role in ("revoked", "expired"):
        assert role in err["message"]


def test_a_wrong_secret_of_a_real_token_id_is_refused(api: Api) -> None:
    good = api.tokens["read"]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    _error(
        api.call("GET", "/v1/models", role=None, headers={"Authorization": f"Bearer {forged}"}),
        401,
        "unauthorized",
    )


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/v1/events", "read"),
        ("POST", "/v1/cdevents", "read"),
        ("GET", "/v1/metrics/dora", "ingest"),
        ("POST", "/v1/risk/score", "ingest"),
        ("POST", "/v1/admin/models/reload", "read"),
        ("GET", "/v1/admin/tokens", "read"),
        ("GET", "/metrics", "ingest"),
    ],
)
def test_each_route_needs_its_scope(api: Api, method: str, path: str, role: str) -> None:
    _error(api.call(method, path, role=role, json={}), 403, "forbidden")
    _error(api.call(method, path, role=None, json={}), 401, "unauthorized")


# -- limits and malformed bodies ---------------------------------------------------------------
def test_oversize_bodies_are_refused_with_413(api: Api) -> None:
    big = b"[" + b" " * (5 * 2**20) + b"]"
    err = _error(
        api.call(
            "POST",
            "/v1/events",
            role="ingest",
            content=big,
            headers={"Content-Type": "application/json"},
        ),
        413,
        "body_too_large",
    )
    assert "VSMML_MAX_BODY_BYTES" in err["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"["
        for _ in range(6):
            yield b" " * 2**20
        yield b"]"

    _error(
        api.call(
            "POST",
            "/v1/events",
            role="ingest",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        ),
        413,
        "body_too_large",
    )


def test_too_many_events_in_one_batch_is_413(api: Api) -> None:
    err = _error(
        api.call("POST", "/v1/events", role="ingest", json=[{}] * 10_001), 413, "batch_too_large"
    )
    assert "10001" in err["message"] and err["field"] == "events"


@pytest.mark.parametrize("path", ["/v1/events", "/v1/risk/score", "/v1/cdevents"])
def test_deeply_nested_json_is_refused(api: Api, path: str) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    err = _error(
        api.call("POST", path, content=deep, headers={"Content-Type": "application/json"}),
        400,
        "body_too_deep",
    )
    assert "5000 levels" in err["message"]


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"\xff\xfe{}", b'{"a": 1', b"[1, 2,]"], ids=repr
)
def test_malformed_json_is_400(api: Api, body: bytes) -> None:
    for path in ("/v1/events", "/v1/risk/score"):
        r = api.call("POST", path, content=body, headers={"Content-Type": "application/json"})
        err = _error(r, 400, "malformed_body")
        assert err["field"] == "body"


def test_wrong_content_type_is_415(api: Api) -> None:
    r = api.call(
        "POST",
        "/v1/events",
        role="ingest",
        content=b"kind=commit",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert _error(r, 415, "unsupported_media_type")["field"] == "content-type"


def test_unknown_route_and_method_keep_the_error_shape(api: Api) -> None:
    _error(api.call("GET", "/v1/nothing-here"), 404, "not_found")
    _error(api.call("DELETE", "/v1/events"), 405, "method_not_allowed")
    err = _error(api.call("GET", "/v1/metrics/dora?freq=fortnight"), 422, "invalid_parameter")
    assert err["field"] == "freq"


# -- ingest then read back ---------------------------------------------------------------------
def test_ingest_accounts_for_every_record_and_is_idempotent(
    api: Api, ingested: dict[str, Any]
) -> None:
    assert (
        ingested["accepted"] + ingested["duplicates"] + ingested["quarantined"] == ingested["sent"]
    )
    assert ingested["accepted"] > 1000
    again = api.call("POST", "/v1/events", role="ingest", json=ingested["first_batch"]).json()
    assert again["accepted"] == 0 and again["duplicates"] + again["quarantined"] == 1000
    assert again["quarantined"] == 0


def test_bad_records_are_quarantined_and_their_neighbours_land(api: Api) -> None:
    batch = [
        {"event_id": "ok-1", "kind": "commit", "ts": "2026-01-02T03:04:05+02:00", "sha": "f00d"},
        {"event_id": "bad-1", "kind": "deploy.completed", "ts": "2026-01-02T03:04:05Z"},
        "not an object",
        {"event_id": "ok-2", "kind": "commit", "ts": "2026-01-02T04:04:05Z", "sha": "beef"},
    ]
    r = api.call("POST", "/v1/events", role="ingest", json={"events": batch}).json()
    assert (r["accepted"], r["quarantined"]) == (2, 2), r
    q = api.call("GET", "/v1/quarantine?limit=1000").json()
    reasons = " ".join(rec["reason"] for rec in q["records"])
    assert "deploy.completed" in reasons
    assert all(rec["received_at"].endswith("Z") for rec in q["records"])
    assert all(len(rec["record"]) <= min(rec["record_chars"], 4096) for rec in q["records"])
    assert any(r["request_id"] in rec["location"] for rec in q["records"])


def test_metrics_read_back_what_was_ingested(api: Api, ingested: dict[str, Any]) -> None:
    dora = api.call("GET", "/v1/metrics/dora?freq=W").json()
    assert {row["service"] for row in dora["summary"]} == ingested["deployed_services"]
    assert all(row["deployments"] > 0 for row in dora["summary"])
    names = {m["metric"] for m in dora["metrics"]}
    assert "deployment_frequency" in names and not any(n.startswith("flow_") for n in names)
    service = sorted(ingested["deployed_services"])[0]
    one = api.call("GET", f"/v1/metrics/dora?service={service}&freq=W").json()
    assert one["metrics"] and {m["service"] for m in one["metrics"]} == {service}
    assert all(m["period"].endswith("Z") for m in one["metrics"])
    assert [r["service"] for r in one["summary"]] == [service]
    stages = api.call("GET", "/v1/metrics/stages?freq=W").json()
    assert stages["metrics"] and all(m["metric"].startswith("stage_") for m in stages["metrics"])
    team = ingested["teams"][0]
    flow = api.call("GET", f"/v1/metrics/flow?team={team}&freq=W").json()
    assert flow["by"] == "team" and flow["metrics"]
    assert all(m["metric"].startswith("flow_") and m["team"] == team for m in flow["metrics"])
    _error(api.call("GET", "/v1/metrics/dora?by=team&service=x"), 422, "invalid_input")
    _error(api.call("GET", "/v1/metrics/dora?profile=nope"), 422, "invalid_parameter")


def test_graph_bottlenecks_slo_anomalies(api: Api, ingested: dict[str, Any]) -> None:
    g = api.call("GET", "/v1/graph").json()
    assert g["nodes"] and g["links"]
    b = api.call("GET", "/v1/bottlenecks").json()
    assert b["constraints"] and all(0 <= c["wait_share"] <= 1 for c in b["constraints"])
    _error(api.call("GET", "/v1/bottlenecks?service=nope"), 422, "invalid_input")
    slo = api.call("GET", "/v1/slo?objective=0.99").json()
    assert len(slo["services"]) == 1 and slo["objective"] == 0.99  # one service sends samples
    assert slo["services"][0]["budget_remaining"] <= 1 and slo["services"][0]["at"].endswith("Z")
    an = api.call("GET", "/v1/anomalies?top=3").json()
    assert [s["name"] for s in an["series"]] == [slo["services"][0]["service"]]
    assert an["series"][0]["rows"] > 100 and len(an["series"][0]["hits"]) <= 3


# -- scoring -----------------------------------------------------------------------------------
def test_score_one_change_matches_vsmml_score(api: Api) -> None:
    from vsmml.pipeline.scoring import ScoreRequest, score_changes

    r = api.call("POST", "/v1/risk/score", role="read", json={"la": 400, "ld": 20, "nf": 6})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert 0 <= doc["probability"] <= 1 and doc["reasons"]
    assert doc["band"] in ("low", "medium", "high") and doc["decision"] in ("pass", "fail")
    assert (doc["decision"] == "fail") == (doc["band"] == "high")
    cli = score_changes(ScoreRequest(values={"la": 400, "ld": 20, "nf": 6}))
    assert doc["probability"] == pytest.approx(cli.changes[0].probability, abs=1e-12)
    assert [x["feature"] for x in doc["reasons"]] == [x.feature for x in cli.changes[0].reasons]
    again = api.call("POST", "/v1/risk/score", role="read", json={"la": 400, "ld": 20, "nf": 6})
    assert again.json() == doc


def test_score_a_list_and_the_options(api: Api) -> None:
    changes = [{"la": 10, "nf": 1}, {"la": 5000, "nf": 80, "ndev": 12, "surprise": 1}]
    r = api.call("POST", "/v1/risk/score?threshold=0.9&top=2", json=changes).json()
    assert isinstance(r, list) and len(r) == 2
    assert all(len(a["reasons"]) == 2 and a["threshold"] == 0.9 for a in r)
    assert r[1]["probability"] > r[0]["probability"] and r[1]["ignored_fields"] == ["surprise"]


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        ({"la": -3}, 422, "invalid_input", "'la'"),
        ({"la": "many"}, 422, "invalid_input", "must be a number"),
        ({}, 422, "invalid_input", "no model input"),
        ([], 400, "malformed_body", "at least one"),
        ([{"la": 1}, 3], 400, "malformed_body", "change 1"),
        ("la", 400, "malformed_body", "JSON object"),
        ({"sha": "0000000deadbeef"}, 404, "unknown_change", "0000000deadbeef"),
        ({"sha": 12}, 422, "invalid_input", "'sha'"),
    ],
)
def test_score_refuses_bad_changes(
    api: Api, ingested: dict[str, Any], body: Any, status: int, code: str, says: str
) -> None:
    # `ingested`: an unknown sha is a 404 against a store with changes (an empty store says
    # "no events" instead); asking for it keeps the case independent of the tests' order
    assert says in _error(api.call("POST", "/v1/risk/score", json=body), status, code)["message"]


def test_score_a_change_known_to_the_store(api: Api, ingested: dict[str, Any]) -> None:
    commits = [e for e in ingested["first_batch"] if e.get("kind") == "commit" and e.get("sha")]
    deployed = None
    for commit in commits:
        r = api.call("POST", "/v1/risk/score", json={"sha": commit["sha"], "repo": commit["repo"]})
        if r.status_code == 200:
            deployed = r.json()
            break
    assert deployed is not None and deployed["reasons"]


def test_score_says_what_would_lower_the_risk_as_the_gate_does(api: Api) -> None:
    from vsmml.config import Settings
    from vsmml.pipeline.models import load_risk_scorer
    from vsmml.recommend.counterfactual import what_would_lower

    big, small = {"la": 900, "ld": 100, "nf": 12, "ndev": 4}, {"la": 10, "ld": 2, "nf": 1}
    doc = api.call("POST", "/v1/risk/score", json=big).json()
    [split] = [c for c in doc["recommendations"] if c["action"] == "split_change"]
    assert split["description"] == "split into 5 changes under 200 lines"
    assert split["probability"] == pytest.approx(doc["probability"], abs=1e-12)
    assert split["new_probability"] < split["probability"] and 0 < split["any_piece"] < 1
    assert split["changed"]["la"] == [900.0, 180.0] and split["changed"]["nf"][1] < 12
    scorer, _ = load_risk_scorer(settings=Settings(home=api.home))
    gate = what_would_lower(scorer, {c: float(big.get(c, math.nan)) for c in scorer.input_columns})
    assert [c["action"] for c in doc["recommendations"]] == [c.action for c in gate]
    assert [c["new_probability"] for c in doc["recommendations"]] == pytest.approx(
        [c.new_probability for c in gate], abs=1e-12
    )
    both = api.call("POST", "/v1/risk/score", json=[small, big]).json()
    assert both[0]["recommendations"] == [] and both[1]["recommendations"] == doc["recommendations"]


def test_recommendations_are_vsmml_recommend(api: Api, ingested: dict[str, Any]) -> None:
    from vsmml.config import Settings
    from vsmml.pipeline.recommend import RecommendRequest, recommendations

    r = api.call("GET", "/v1/recommendations", role="read")
    assert r.status_code == 200, r.text
    doc = r.json()
    local = recommendations(RecommendRequest(), Settings(home=api.home))
    assert doc["recommendations"] == json.loads(json.dumps(local.to_list()))
    assert doc["recommendations"], "the synthetic organisation has something to fix"
    assert (doc["since"], doc["until"]) == (local.since.isoformat(), local.until.isoformat())
    first = doc["recommendations"][0]
    assert first["rank"] == 1 and first["evidence"][0]["event_ids"]
    assert {"metric", "value", "low", "high", "unit"} <= set(first["expected_effect"])
    service = sorted(ingested["deployed_services"])[0]
    only = api.call("GET", f"/v1/recommendations?service={service}&top=3").json()
    mine = recommendations(RecommendRequest(service=service, top=3), Settings(home=api.home))
    assert only["recommendations"] == json.loads(json.dumps(mine.to_list()))
    assert 0 < len(only["recommendations"]) <= 3
    assert all(x["target"]["service"] in (service, None) for x in only["recommendations"])
    flow = api.call("GET", "/v1/recommendations?category=flow&since=2000-01-01&weeks=2").json()
    assert all(x["category"] == "flow" for x in flow["recommendations"])
    assert flow["since"] == "2000-01-01T00:00:00+00:00"
    assert api.call("GET", "/v1/recommendations").json() == doc  # cached until the next write
    bad = _error(api.call("GET", "/v1/recommendations?service=nope"), 422, "invalid_parameter")
    assert bad["field"] == "service" and "'nope' is not in the store" in bad["message"]
    late = "/v1/recommendations?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z"
    assert "must be before" in _error(api.call("GET", late), 422, "invalid_parameter")["message"]
    _error(api.call("GET", "/v1/recommendations?category=vibes"), 422, "invalid_parameter")
    for path in ("/v1/recommendations?until=9999-12-31T23:00:00-05:00", "/v1/metrics/flow?until="
                 "9999-12-31T23:00:00-05:00", "/v1/metrics/dora?since=0001-01-01"):  # fmt: skip
        far = _error(api.call("GET", path), 422, "invalid_parameter")
        assert far["field"] in ("since", "until") and "outside 1677-09-22" in far["message"]
    _error(api.call("GET", "/v1/recommendations", role="ingest"), 403, "forbidden")
    spec = api.call("GET", "/openapi.json", role=None).json()
    assert "Recommendation" in spec["components"]["schemas"]
    assert "Lowering" in spec["components"]["schemas"]


def test_models_and_hot_reload_of_a_new_champion(api: Api) -> None:
    from vsmml.pipeline.models import default_models_dir

    before = api.call("GET", "/v1/models").json()["models"][0]
    assert before["name"] == "risk" and before["source"] == "default" and before["inputs"]
    _error(api.call("POST", "/v1/admin/models/reload", role="read"), 403, "forbidden")
    same = api.call("POST", "/v1/admin/models/reload", role="admin").json()
    assert same["changed"] is False
    root = default_models_dir()
    assert root is not None
    target = api.home / "models" / "risk" / "7"
    shutil.copytree(root / "risk", target)
    meta = json.loads((target / "metadata.json").read_text())
    (target / "metadata.json").write_text(json.dumps({**meta, "version": "7", "threshold": 0.3}))
    (target.parent / "champion.json").write_text(json.dumps({"version": "7"}))
    try:
        score = {"la": 400, "ld": 20, "nf": 6}
        old = api.call("POST", "/v1/risk/score", json=score).json()
        done = api.call("POST", "/v1/admin/models/reload", role="admin").json()
        assert done["changed"] and done["after"] == {
            "name": "risk",
            "version": "7",
            "source": "home",
        }
        now = api.call("POST", "/v1/risk/score", json=score).json()
        assert old["model"]["source"] == "default" and now["model"]["version"] == "7"
        assert now["threshold"] == 0.3 and now["probability"] == pytest.approx(old["probability"])
        metrics = api.call("GET", "/metrics").text
        assert 'vsmml_model_info{name="risk",source="home",version="7"} 1.0' in metrics
    finally:
        shutil.rmtree(target.parent)
        api.call("POST", "/v1/admin/models/reload", role="admin")


# -- webhooks and CDEvents ---------------------------------------------------------------------
def _gh(body: bytes, secret: str = SECRETS["github"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _push() -> bytes:
    doc = {
        "ref": "refs/heads/main",
        "repository": {"full_name": "acme/shop"},
        "pusher": {"name": "alice"},
        "commits": [
            {
                "id": "a" * 40,
                "timestamp": "2026-01-05T10:00:00+01:00",
                "message": "Add x",
                "author": {"username": "alice"},
                "added": ["x.py"],
                "removed": [],
                "modified": [],
            },
        ],
    }
    return json.dumps(doc).encode()


def test_github_webhook_signatures(api: Api) -> None:
    body = _push()
    hdr = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    post = "/v1/webhooks/github"
    ok = api.call(
        "POST", post, role=None, content=body, headers={**hdr, "X-Hub-Signature-256": _gh(body)}
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    replay = api.call(
        "POST", post, role=None, content=body, headers={**hdr, "X-Hub-Signature-256": _gh(body)}
    ).json()
    assert replay["accepted"] == 0 and replay["duplicates"] == 1
    for signature in (None, _gh(body, "other-secret"), "sha256=" + "0" * 64, "sha1=abc", ""):
        headers = dict(hdr)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        r = api.call("POST", post, role=None, content=body, headers=headers)
        err = _error(r, 401, "bad_signature")
        assert SECRETS["github"] not in r.text and (not signature or signature not in r.text)
        assert "X-Hub-Signature-256" in err["message"]
    tampered = body.replace(b"alice", b"mallory")
    _error(
        api.call(
            "POST",
            post,
            role=None,
            content=tampered,
            headers={**hdr, "X-Hub-Signature-256": _gh(body)},
        ),
        401,
        "bad_signature",
    )


def test_gitlab_and_pagerduty_webhooks(api: Api) -> None:
    mr = {
        "object_kind": "merge_request",
        "project": {"path_with_namespace": "acme/api"},
        "object_attributes": {
            "iid": 7,
            "action": "open",
            "state": "opened",
            "created_at": "2026-01-05 10:00:00 UTC",
            "updated_at": "2026-01-05 10:00:00 UTC",
            "last_commit": {"id": "b" * 40},
        },
    }
    body = json.dumps(mr).encode()
    hdr = {"Content-Type": "application/json"}
    ok = api.call(
        "POST",
        "/v1/webhooks/gitlab",
        role=None,
        content=body,
        headers={**hdr, "X-Gitlab-Token": SECRETS["gitlab"]},
    )
    assert ok.status_code == 200, ok.text
    got = ok.json()
    assert got["accepted"] + got["quarantined"] + got["skipped"] >= 1
    _error(
        api.call(
            "POST",
            "/v1/webhooks/gitlab",
            role=None,
            content=body,
            headers={**hdr, "X-Gitlab-Token": "nope"},
        ),
        401,
        "bad_signature",
    )
    pd_body = json.dumps(
        {
            "event": {
                "id": "E1",
                "event_type": "incident.triggered",
                "occurred_at": "2026-01-05T11:00:00Z",
                "data": {"id": "P1", "type": "incident", "service": {"summary": "shop"}},
            }
        }
    ).encode()
    sig = "v1=" + hmac.new(SECRETS["pagerduty"].encode(), pd_body, hashlib.sha256).hexdigest()
    r = api.call(
        "POST",
        "/v1/webhooks/pagerduty",
        role=None,
        content=pd_body,
        headers={**hdr, "X-PagerDuty-Signature": f"v1={'0' * 64},{sig}"},
    )
    assert r.status_code == 200, r.text
    _error(
        api.call("POST", "/v1/webhooks/pagerduty", role=None, content=pd_body, headers=hdr),
        401,
        "bad_signature",
    )


def test_cdevents_binary_structured_and_batch(api: Api) -> None:
    event = {
        "context": {
            "specversion": "0.5.1",
            "id": "cd-1",
            "source": "/ci",
            "timestamp": "2026-01-05T12:00:00Z",
            "type": "dev.cdevents.service.deployed.0.3.0",
        },
        "subject": {
            "id": "shop",
            "source": "/ci",
            "content": {"environment": {"id": "prod"}, "artifactId": "pkg:oci/shop@sha256:abc"},
        },
    }
    binary = api.call(
        "POST",
        "/v1/cdevents",
        role="ingest",
        json=event,
        headers={
            "ce-type": event["context"]["type"],
            "ce-id": "cd-1",
            "ce-source": "/ci",
            "ce-specversion": "1.0",
        },
    )
    assert binary.status_code == 200 and binary.json()["accepted"] == 1, binary.text
    envelope = {
        "specversion": "1.0",
        "id": "ce-2",
        "source": "/ci",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "data": {**event, "context": {**event["context"], "id": "cd-2"}},
    }
    structured = api.call(
        "POST",
        "/v1/cdevents",
        role="ingest",
        content=json.dumps(envelope),
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert structured.json()["accepted"] == 1, structured.text
    batch = api.call(
        "POST",
        "/v1/cdevents",
        role="ingest",
        content=json.dumps([envelope, {}]),
        headers={"Content-Type": "application/cloudevents-batch+json"},
    ).json()
    assert batch["duplicates"] == 1 and batch["quarantined"] == 1, batch


# -- tokens through the API, and Prometheus ----------------------------------------------------
def test_admin_tokens_create_use_list_revoke(api: Api) -> None:
    made = api.call(
        "POST",
        "/v1/admin/tokens",
        role="admin",
        json={"scopes": "read", "name": "dash", "expires": "1d"},
    )
    assert made.status_code == 200, made.text
    new = made.json()
    assert new["token"].startswith("vsmml_") and new["scopes"] == ["read"]
    use = api.client.get(
        api.url + "/v1/models", headers={"Authorization": f"Bearer {new['token']}"}
    )
    assert use.status_code == 200
    listed = api.call("GET", "/v1/admin/tokens", role="admin").json()["tokens"]
    dash = next(t for t in listed if t["name"] == "dash")
    assert dash["last_used_at"] is not None and "token" not in dash
    assert all(new["token"] not in json.dumps(t) for t in listed)
    gone = api.call("DELETE", "/v1/admin/tokens/dash", role="admin").json()
    assert gone["state"] == "revoked"
    again = api.client.get(
        api.url + "/v1/models", headers={"Authorization": f"Bearer {new['token']}"}
    )
    assert again.status_code == 401
    _error(api.call("DELETE", "/v1/admin/tokens/nobody", role="admin"), 404, "unknown_token")
    _error(
        api.call("POST", "/v1/admin/tokens", role="admin", json={"scopes": "root"}),
        422,
        "invalid_input",
    )


def test_prometheus_metrics(api: Api, ingested: dict[str, Any]) -> None:
    text = api.call("GET", "/metrics", role="read").text
    assert 'vsmml_http_requests_total{method="POST",route="/v1/events",status="200"}' in text
    assert 'vsmml_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert 'vsmml_ingest_records_total{outcome="accepted",source="jsonl"}' in text
    assert 'vsmml_model_info{name="risk"' in text
    assert 'vsmml_store_rows{table="events"}' in text and "vsmml_store_bytes" in text
    assert "process_resident_memory_bytes" in text


def _count(text: str, sample: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(sample))


def test_scores_answered_below_fastapi_are_counted_under_their_route(api: Api) -> None:
    """The scoring hot path (api/score_lane.py) labels its requests as the route does."""
    sample = 'vsmml_http_requests_total{method="POST",route="/v1/risk/score",status="200"}'
    before = _count(api.call("GET", "/metrics", role="read").text, sample)
    for la in range(9001, 9006):  # new changes: none remembered
        r = api.call("POST", "/v1/risk/score", role="read", json={"la": la, "nf": 3})
        assert r.status_code == 200 and r.json()["reasons"]
        assert r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"
    after = _count(api.call("GET", "/metrics", role="read").text, sample)
    assert after - before == 5


# -- the CLI's writes through the server (--server) -------------------------------------------
def test_ingest_replay_and_retry_through_the_server(api: Api, tmp_path: Path) -> None:
    from conftest import FIXTURES
    from vsmml.config import Settings
    from vsmml.pipeline.service_client import ingest_through, replay_through, retry_through

    s = Settings(home=tmp_path / "client-home", token=api.tokens["all"])
    gh = ingest_through(api.url, "github", [FIXTURES / "github"], settings=s)
    assert gh.files > 0 and gh.counts["payloads"] > 0 and gh.counts["accepted"] > 0
    again = ingest_through(api.url, "github", [FIXTURES / "github"], settings=s)
    assert again.counts["accepted"] == 0 and again.counts["duplicates"] >= gh.counts["accepted"]
    bad = tmp_path / "events.jsonl"
    bad.write_text(
        '{"event_id": "t-1", "kind": "commit", "ts": "2026-01-02 03:04:05", "sha": "t1"}\n'
        "{broken\n"
        '{"event_id": "t-2", "kind": "commit", "ts": "2026-01-02T03:04:05Z", "sha": "t2"}\n',
        encoding="utf-8",
    )
    jl = ingest_through(api.url, "jsonl", [bad, tmp_path / "nothing-*.jsonl"], settings=s)
    assert (jl.counts["accepted"], jl.counts["quarantined"]) == (1, 2), jl
    assert jl.missing == [str(tmp_path / "nothing-*.jsonl")] and "file(s)" in jl.summary()
    q = api.call("GET", "/v1/quarantine?source=file&limit=1000").json()["records"]
    assert any(rec["location"].startswith(f"{bad.name}:") for rec in q), q
    lake = ingest_through(api.url, "devlake", [FIXTURES / "devlake_tables"], settings=s)
    assert lake.counts["accepted"] + lake.counts["duplicates"] > 0
    replayed = replay_through(api.url, source="jsonl", settings=s)
    assert replayed["payloads"].get("jsonl", 0) >= 3 and replayed["accepted"] == 0
    import vsmml.pipeline.service_admin as admin

    whole = retry_through(api.url, source="file", settings=s)
    assert whole["summary"].startswith("payloads re-converted") and whole["resolved"] == 0
    chunk, admin.RETRY_CHUNK = admin.RETRY_CHUNK, 1  # the server runs in this process: page by 1
    try:
        first = api.call(
            "POST", "/v1/admin/quarantine/retry", role="admin", json={"source": "file"}
        )
        assert first.json()["next_after"] is not None
        paged = retry_through(api.url, source="file", settings=s)
    finally:
        admin.RETRY_CHUNK = chunk
    assert paged["next_after"] is None and paged["summary"] == whole["summary"]
    _error(api.call("POST", "/v1/admin/replay", role="ingest", json={}), 403, "forbidden")
    _error(
        api.call("POST", "/v1/ingest/git", role="ingest", json={"units": []}), 400, "malformed_body"
    )
    _error(
        api.call("POST", "/v1/ingest/nope", role="ingest", json={"units": []}),
        422,
        "invalid_parameter",
    )


def test_cors_is_off_by_default_and_webhooks_need_a_secret(api: Api, tmp_path: Path) -> None:
    from vsmml.api.app import create_app
    from vsmml.config import Settings

    pre = {"Origin": "https://dash.example", "Access-Control-Request-Method": "GET"}
    off = api.call("OPTIONS", "/v1/models", role=None, headers=pre)
    assert "access-control-allow-origin" not in off.headers
    s = Settings(home=tmp_path / "home", cors_origins=("https://dash.example",))
    with ThreadServer(create_app(s)) as other, httpx.Client() as c:
        on = c.options(other.url + "/v1/models", headers=pre)
        assert on.headers["access-control-allow-origin"] == "https://dash.example"
        body = _push()
        r = c.post(
            other.url + "/v1/webhooks/github",
            content=body,
            headers={"X-Hub-Signature-256": _gh(body), "Content-Type": "application/json"},
        )
        err = _error(r, 403, "webhook_not_configured")
        assert "VSMML_GITHUB_WEBHOOK_SECRET" in err["message"]
