"""The server's compiled scorer answers ``POST /v1/risk/score`` as LightGBM's booster does.

`vsmml serve` explains with `TableTrees` (TreeSHAP from leaf tables); the answers it gives must
be the ones the booster-backed scorer gives (same fields, texts, reasons in the same order,
recommendations), numbers equal to 1e-12, for many generated changes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vsmml.config import Settings
from vsmml.models.treefast import TableTrees
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.service_scoring import score_json
from vsmml.pipeline.service_state import LoadedModel, Service
from vsmml.store import Store

COUNTS = ("ns", "nd", "nf", "la", "ld", "lt", "ndev", "nuc", "exp", "sexp")


def _change(rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in COUNTS:
        if rng.random() < 0.8:
            out[name] = int(rng.lognormal(2.0, 2.0))
    for name in ("entropy", "age", "rexp"):
        if rng.random() < 0.7:
            out[name] = float(rng.lognormal(0.0, 1.5))
    if rng.random() < 0.7:
        out["fix"] = bool(rng.random() < 0.3)
    if rng.random() < 0.2:
        out[str(rng.choice(COUNTS))] = None
    if not any(v is not None for v in out.values()):
        out["la"] = 1
    return out


def _same(a: Any, b: Any, where: str = "answer") -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), where
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-12), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    settings = Settings(home=Path(tmp_path_factory.mktemp("home")))
    store = Store.from_settings(settings)
    compiled, location = load_risk_scorer(settings=settings)
    compiled.trees = TableTrees(compiled.trees)  # type: ignore[arg-type]
    booster, _ = load_risk_scorer(settings=settings, native=True)
    a = Service(settings, store, LoadedModel(compiled, location, time.time()))
    b = Service(settings, store, LoadedModel(booster, location, time.time() + 1))
    yield a, b
    store.close()


def test_the_server_loads_the_compiled_trees(vsmml_home: Path) -> None:
    service = Service.open(Settings(home=vsmml_home))
    try:
        assert isinstance(service.model.scorer.trees, TableTrees)
    finally:
        service.close()


def test_answers_equal_the_boosters_for_many_changes(services: tuple[Service, Service]) -> None:
    fast, booster = services
    rng = np.random.default_rng(11)
    splits = lowered = 0
    for i in range(400):
        doc: Any = _change(rng) if i % 10 else [_change(rng) for _ in range(1 + i % 4)]
        body = json.dumps(doc).encode()
        top = 1 + i % 7
        got = json.loads(score_json(fast, body, top=top))
        want = json.loads(score_json(booster, body, top=top))
        _same(got, want, f"change {i} {doc}")
        for answer in got if isinstance(got, list) else [got]:
            assert answer["reasons"] and len(answer["reasons"]) <= top
            actions = [r["action"] for r in answer["recommendations"]]
            splits += "split_change" in actions
            lowered += bool(actions)
    assert splits >= 5 and lowered >= 5  # the counterfactuals were exercised, not skipped
