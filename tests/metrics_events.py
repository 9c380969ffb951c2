"""Tiny hand-made canonical event frames for the correlation and metrics tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vsmml.events.schema import events_from_records, to_canonical

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")  # a Monday


def at(hours: float) -> pd.Timestamp:
    """T0 plus `hours`."""
    return T0 + pd.Timedelta(hours=hours)


def ev(kind: str, hours: float, **fields: Any) -> dict[str, Any]:
    """One event at T0 + hours; `service` defaults to "api" (repo "api-repo", team "core")."""
    row: dict[str, Any] = {
        "kind": kind,
        "ts": at(hours),
        "source": fields.pop("source", "test"),
        "service": "api",
        "team": "core",
        "repo": "api-repo",
    }
    if "service" in fields and "repo" not in fields:
        row["repo"] = f"{fields['service']}-repo"
    row.update(fields)
    return row


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Canonical frame with unique event ids, in the given order."""
    for i, r in enumerate(rows):
        r.setdefault("event_id", f"e{i}")
    return to_canonical(events_from_records(rows))


def pr(cid: str, sha: str, start: float, merged: float, **where: Any) -> list[dict[str, Any]]:
    """A PR: first commit at `start`, opened 1 h later, reviewed 1 h after, merged at `merged`."""
    return [
        ev("commit", start, sha=f"{sha}0", change_id=cid, **where),
        ev("commit", start + 0.5, sha=sha, change_id=cid, **where),
        ev("change.opened", start + 1, change_id=cid, sha=sha, attrs={"author": "ann"}, **where),
        ev("change.reviewed", start + 2, change_id=cid, attrs={"reviewer": "ann"}, **where),
        ev("change.reviewed", start + 2.5, change_id=cid, attrs={"reviewer": "bob"}, **where),
        ev("change.merged", merged, change_id=cid, sha=sha, **where),
    ]


def deploy(
    did: str, sha: str, hours: float, env: str = "production", **kw: Any
) -> list[dict[str, Any]]:
    """A deployment started 0.25 h before `hours`, finished at `hours`."""
    status = kw.pop("status", "success")
    return [
        ev("deploy.started", hours - 0.25, deploy_id=did, sha=sha, env=env, **kw),
        ev("deploy.finished", hours, deploy_id=did, sha=sha, env=env, status=status, **kw),
    ]
