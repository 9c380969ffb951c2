"""Hand-made change records and stage.finished events for the graph tests (times in hours)."""

from __future__ import annotations

import json

import pandas as pd

T0 = pd.Timestamp("2026-03-02 08:00", tz="UTC")  # a Monday


def at(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


def change(cid: str, start: float, **h: float) -> dict[str, object]:
    """A change record whose stage boundaries are hours after `start` (cumulative)."""
    s = {
        "opened": 2,
        "review": 5,
        "merged": 6,
        "published": 9,
        "stg_start": 9.5,
        "stg_done": 9.6,
        "prd_start": 20,
        "prd_done": 20.1,
    }
    s.update(h)
    return {
        "change_id": cid,
        "sha": f"sha-{cid}",
        "service": "svc",
        "team": "blue",
        "first_commit_at": at(start),
        "opened_at": at(start + s["opened"]),
        "first_review_at": at(start + s["review"]),
        "merged_at": at(start + s["merged"]),
        "artifact_published_at": at(start + s["published"]),
        "staging_deploy_started_at": at(start + s["stg_start"]),
        "staging_deployed_at": at(start + s["stg_done"]),
        "production_deploy_id": f"d-{cid}",
        "production_deploy_started_at": at(start + s["prd_start"]),
        "production_deployed_at": at(start + s["prd_done"]),
        "build_wait_s": 1800.0,
        "build_active_s": 3600.0,
        "failed": False,
    }


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"change_id": "str", "sha": "str", "service": "str"})


def runs(rows: list[tuple[str, str, float, float, str, float, int]]) -> pd.DataFrame:
    """stage.finished events: (change, stage, queue_s, duration_s, status, ts hours, attempt)."""
    return pd.DataFrame(
        {
            "kind": "stage.finished",
            "ts": [at(r[5]) for r in rows],
            "sha": [f"sha-{r[0]}" for r in rows],
            "change_id": [r[0] for r in rows],
            "pipeline_id": [f"p-{r[0]}-{r[6]}" for r in rows],
            "stage": [r[1] for r in rows],
            "status": [r[4] for r in rows],
            "attrs": [json.dumps({"queue_s": r[2], "duration_s": r[3]}) for r in rows],
        }
    )
