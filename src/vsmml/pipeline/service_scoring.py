"""``POST /v1/risk/score``: one change, a list of them, or a change the store knows by its sha.

The records go through `pipeline.scoring.score_records`, the checks and the scorer `vsmml score`
uses, with the model the server loaded (`Service.model`); each answer also says what would lower
the risk: the release gate's counterfactuals (`vsmml.recommend.counterfactual`: split the
change, ship it alone, a second reviewer), re-scored by the same model. The server's model
explains with `models.treefast.TableTrees` (TreeSHAP from precomputed leaf tables, ~8x
LightGBM's own), and a body of a few described changes is answered on the event loop
(`score_inline`): about a millisecond of CPU, which a worker thread would only delay.
Answers are also remembered per model and input in a bounded LRU: scoring is a pure function
of the two, and a gate asking again about the same change gets the same answer without the
work. ``{"sha": ..., "repo": ...}`` scores a
change correlated from the stored events, with the features the model was trained on
(`features.change_features`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd

from vsmml.correlate import correlate
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.features.change_features import change_features
from vsmml.pipeline.queries.reads import read_events
from vsmml.pipeline.scoring import BadChangeError, ScoredChange, ScoreReport, score_and_lower
from vsmml.pipeline.service_body import parse_json
from vsmml.pipeline.service_errors import (
    BatchTooLargeError,
    MalformedBodyError,
    UnknownChangeError,
)
from vsmml.pipeline.service_state import LoadedModel, Service
from vsmml.recommend.counterfactual import Counterfactual

__all__ = [
    "UnknownChangeError",
    "answer_now",
    "band",
    "memoized",
    "score_inline",
    "score_json",
]

MEMO_SIZE: Final[int] = 4096
INLINE_CHANGES: Final[int] = 4
"""Bodies of up to this many described changes are scored on the event loop (`score_inline`)."""
BANDS: Final[tuple[str, ...]] = ("low", "medium", "high")


def band(probability: float, threshold: float) -> str:
    """``high`` at or above the gate threshold (the gate fails), ``medium`` from half of it,
    else ``low``."""
    if probability >= threshold:
        return "high"
    return "medium" if probability >= threshold / 2 else "low"


class _Memo:
    """A bounded LRU of answers keyed by model and canonical input."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)


_MEMO = _Memo(MEMO_SIZE)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _answer(
    change: ScoredChange, lower: list[Counterfactual], report: ScoreReport, model: LoadedModel
) -> dict[str, Any]:
    loc = model.location
    return {
        "probability": change.probability,
        "band": band(change.probability, report.threshold),
        "decision": change.decision,
        "threshold": report.threshold,
        "raw_score": change.raw_score,
        "reasons": [
            {
                "feature": r.feature,
                "value": _finite(r.value),
                "contribution": r.contribution,
                "text": r.text,
            }
            for r in change.reasons
        ],
        "recommendations": [c.to_dict() for c in lower],
        "model": {"name": loc.name, "version": loc.version, "source": loc.source},
        "ignored_fields": report.ignored_fields,
    }


def _records(doc: Any) -> tuple[list[dict[str, Any]], bool]:
    """The change records of a body and whether it was a list."""
    if isinstance(doc, list):
        if not doc:
            raise MalformedBodyError("expected at least one change in the list", "body")
        for i, item in enumerate(doc):
            if not isinstance(item, dict):
                raise MalformedBodyError(f"change {i}: expected a JSON object", f"[{i}]")
        return doc, True
    if isinstance(doc, dict):
        return [doc], False
    raise MalformedBodyError("expected a change as a JSON object, or a list of them", "body")


def memoized(
    service: Service, body: bytes, *, threshold: float | None = None, top: int = 5
) -> str | None:
    """The remembered answer to this exact request for a described change, else None (cheap:
    the route calls it before handing the work to a thread)."""
    hit = _MEMO.get(f"{service.model.key}|-1|{threshold}|{top}|{body!r}")
    return None if hit is None else str(hit)


def score_inline(
    service: Service, body: bytes, *, threshold: float | None = None, top: int = 5
) -> str | None:
    """The answer for a body of at most `INLINE_CHANGES` described changes (a millisecond of
    CPU: the route answers it on the event loop, as a thread hop would only add the GIL's
    hand-over latency), else None: changes named by sha read the store, and long lists are
    scored in a worker thread (`score_json`)."""
    doc = parse_json(body, max_depth=service.settings.max_request_depth)
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > INLINE_CHANGES:
        return None
    model = service.model
    if any(isinstance(r, dict) and _is_reference(r, model) for r in items):
        return None
    return _score_doc(service, model, doc, body, threshold, top)


def answer_now(
    service: Service, body: bytes, *, threshold: float | None = None, top: int = 5
) -> str | None:
    """The answer the event loop can give at once (remembered, or a few described changes
    scored inline), else None: the caller then scores in a worker thread (`score_json`)."""
    text = memoized(service, body, threshold=threshold, top=top)
    return score_inline(service, body, threshold=threshold, top=top) if text is None else text


def score_json(
    service: Service, body: bytes, *, threshold: float | None = None, top: int = 5
) -> str:
    """The JSON answer to a score request: one object for an object, a list for a list."""
    doc = parse_json(body, max_depth=service.settings.max_request_depth)
    return _score_doc(service, service.model, doc, body, threshold, top)


def _score_doc(
    service: Service,
    model: LoadedModel,
    doc: Any,
    body: bytes,
    threshold: float | None,
    top: int,
) -> str:
    records, many = _records(doc)
    limit = service.settings.max_batch_events
    if len(records) > limit:
        raise BatchTooLargeError(
            f"{len(records)} changes in one request, above the limit of {limit} "
            "(VSMML_MAX_BATCH_EVENTS)",
            "body",
        )
    named = [_is_reference(r, model) for r in records]
    # A change named by sha is scored from the store: its answer lasts until the next write.
    state = service.generation if any(named) else -1
    key = f"{model.key}|{state}|{threshold}|{top}|{body!r}"
    hit = _MEMO.get(key)
    if hit is not None:
        return str(hit)
    records = [
        _known(service, r, i, model) if n else r
        for i, (r, n) in enumerate(zip(records, named, strict=True))
    ]
    report, lowered = score_and_lower(
        records, model.scorer, model.location, threshold=threshold, top=top
    )
    answers = [_answer(c, w, report, model) for c, w in zip(report.changes, lowered, strict=True)]
    # orjson: a tenth of json.dumps' time, the same numbers (shortest round-trip floats); every
    # float of an answer is finite (`_finite`), so none becomes null
    text = orjson.dumps(answers if many else answers[0]).decode()
    _MEMO.put(key, text)
    return text


def _is_reference(record: dict[str, Any], model: LoadedModel) -> bool:
    """True for ``{"sha": ..., "repo": ...}``: a change named, not described."""
    inputs = model.inputs
    return "sha" in record and not any(k in inputs for k in record)


def _known(service: Service, record: dict[str, Any], i: int, model: LoadedModel) -> dict[str, Any]:
    sha, repo = record.get("sha"), record.get("repo")
    if not isinstance(sha, str) or not sha.strip():
        raise BadChangeError(f"change {i}: 'sha' must be a commit sha (text)")
    if repo is not None and not isinstance(repo, str):
        raise BadChangeError(f"change {i}: 'repo' must be text")
    table = service.cached("change-features", lambda: _change_table(service))
    rows = table[table["sha"].str.startswith(sha.strip().lower())] if len(sha) >= 7 else table[:0]
    if repo is not None:
        rows = rows[rows["repo"] == repo]
    if rows.empty:
        where = f" in {repo!r}" if repo else ""
        raise UnknownChangeError(f"change {i}: no change with sha {sha!r}{where} in the store")
    if rows["change_id"].nunique() > 1:
        raise BadChangeError(f"change {i}: sha {sha!r} names several changes; give 'repo' too")
    row = rows.iloc[-1]
    values: dict[str, Any] = {}
    for c in model.scorer.input_columns:
        if c in row.index:
            v = row[c]
            values[c] = None if pd.isna(v) else float(v)
    return values


def _change_table(service: Service) -> pd.DataFrame:
    """Every stored change with its sha, repo and model features."""
    events = read_events(service.settings, kinds=DELIVERY_KINDS)
    corr = correlate(events)
    feats = change_features(corr.changes, events, corr.deployments)
    keys = corr.changes[["change_id", "sha", "repo"]].drop_duplicates("change_id")
    out = feats.merge(keys, on="change_id", how="left")
    out["sha"] = out["sha"].astype("str").str.lower()
    numeric = out.select_dtypes(include=[np.number]).columns
    out[numeric] = out[numeric].astype(float)
    return out
