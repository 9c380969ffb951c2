"""``POST /v1/admin/train``: `vsmml train` run by the server, on the store it owns.

While `vsmml serve` runs it holds the store (DuckDB: one process per file), so `vsmml train risk
--store` cannot read the changes from another process; `vsmml train ... --server URL` asks the
server to train instead. The server runs the same use case (`pipeline.training.jobs`) in a worker
thread, reading the store through its own cursor, registering in its ``VSMML_HOME``; a newly
promoted risk champion is loaded at once (no reload call needed). One training at a time: a
second request meanwhile is refused (`TrainingBusyError`, HTTP 409), not queued. Training is
CPU-bound: scoring answers stay correct meanwhile but slower (docs/api.md).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from vsmml.errors import ConfigError
from vsmml.pipeline.service_errors import TrainingBusyError
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.training.jobs import TrainOutcome, TrainRequest, train_models

__all__ = ["TrainRequest", "outcome_dict", "train_on_server"]

_TRAINING = threading.Lock()


def outcome_dict(outcome: TrainOutcome) -> dict[str, Any]:
    """One model's outcome as JSON values: the registry's answer, the evaluation table (columns
    and rows), or the error."""
    table = None
    if outcome.table is not None:
        frame = outcome.table
        table = {
            "columns": [str(c) for c in frame.columns],
            "rows": json.loads(frame.to_json(orient="values", double_precision=10)),
        }
    result = None
    if outcome.result is not None:
        r = outcome.result
        result = {
            "version": r.version,
            "run_id": r.run_id,
            "metric": r.metric,
            "promoted": r.promoted,
            "previous_version": r.previous_version,
            "previous_metric": r.previous_metric,
            "export_dir": str(r.export_dir),
            "reason": r.reason,
        }
    return {"name": outcome.name, "error": outcome.error, "result": result, "table": table}


def _ref(model: Any) -> dict[str, str]:
    loc = model.location
    return {"name": loc.name, "version": loc.version, "source": loc.source}


def train_on_server(service: Service, request: TrainRequest) -> dict[str, Any]:
    """Train as `vsmml train` does, on the served store and home; reload the risk model when
    a new champion was promoted. The answer: what was announced, each outcome, the reload."""
    if request.data is not None or request.engine != "local":
        raise ConfigError("train: the server trains on its store or the synthetic organisation")
    if not _TRAINING.acquire(blocking=False):
        raise TrainingBusyError("train: a training already runs on this server; try again later")
    try:
        log: list[str] = []
        outcomes = train_models(request, settings=service.settings, announce=log.append)
        promoted = any(o.name == "risk" and o.result and o.result.promoted for o in outcomes)
        reloaded = None
        if promoted:
            before, after = service.reload_model()
            reloaded = {"before": _ref(before), "after": _ref(after)}
        return {"log": log, "outcomes": [outcome_dict(o) for o in outcomes], "reloaded": reloaded}
    finally:
        _TRAINING.release()
