"""Store a waived release gate as a `gate.waived` event: which commit, who, why, at what risk.

The event id is stable for (repository, sha, actor, reason), so re-running the same waiver
finds it and stores nothing. The store is opened for writing (one writer per file: a running
server must be stopped, or the waiver sent through it). `vsmml recommend` reads the waivers
back (`WaiverRule`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.store import Store

if TYPE_CHECKING:
    from vsmml.pipeline.gate import GateReport

SOURCE = "vsmml"
KIND = "gate.waived"


def waiver_event(
    report: GateReport, *, actor: str, reason: str, now: datetime | None = None
) -> dict[str, Any]:
    """The canonical event of a waiver (a plain row for `Store.write_events`)."""
    key = f"{report.repo}\0{report.sha}\0{actor}\0{reason}".encode()
    attrs = {
        "actor": actor,
        "reason": reason,
        "probability": round(report.probability, 6),
        "threshold": report.threshold,
        "model": f"{report.location.name} v{report.location.version}",
        "repository": str(report.repo),
    }
    return {
        "event_id": f"vsmml:gate.waived:{hashlib.sha256(key).hexdigest()[:24]}",
        "kind": KIND,
        "ts": pd.Timestamp(now or datetime.now(UTC)),
        "source": SOURCE,
        "service": report.context.service,
        "repo": report.repo.name,
        "sha": report.sha,
        "change_id": report.context.change_id,
        "status": "success",
        "attrs": json.dumps(attrs, sort_keys=True),
    }


def store_waiver(
    settings: Settings,
    report: GateReport,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the waiver event unless it is stored already; returns it (``stored``: ``new`` or
    ``already stored``)."""
    row = waiver_event(report, actor=actor, reason=reason, now=now)
    with Store.from_settings(settings) as store:
        known = store.read_events(kinds=[KIND])
        before = known.loc[(known["event_id"].astype(str) == row["event_id"]).to_numpy(bool)]
        if len(before):
            row["ts"] = pd.Timestamp(before["ts"].iloc[0])
            stored = "already stored"
        else:
            result = store.write_events(pd.DataFrame([row]))
            if result.quarantined or not result.accepted:
                problem = "; ".join(result.messages) or "not accepted"
                raise DataError(f"the waiver was refused by the store: {problem}")
            stored = "new"
    attrs = json.loads(row["attrs"])
    return {
        "event_id": row["event_id"],
        "actor": actor,
        "reason": reason,
        "service": row["service"],
        "stored": stored,
        "at": row["ts"].isoformat(),
        "probability": attrs["probability"],
    }
