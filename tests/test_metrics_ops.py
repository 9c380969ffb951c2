"""Operations metrics on hand-made events: MTTD, rollbacks, promotion, flags, ingest, security."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_events import at, deploy, ev, frame, pr
from vsmml.correlate import correlate
from vsmml.metrics.ops import (
    artifact_promotion_time,
    flag_activation_time,
    ingest_latency,
    mttd,
    ops_metrics,
    rollback_frequency,
    security_remediation_time,
)


def _events() -> pd.DataFrame:
    rows = pr("c1", "a1", 0, 5)
    rows += [ev("artifact.published", 5.6, artifact_id="x1", sha="a1")]
    rows += [ev("artifact.promoted", 8, artifact_id="x1", sha="a1", env="production")]
    rows += deploy("d1", "a1", 9, artifact_id="x1")
    rows += [
        ev(
            "flag.toggled", 12, flag="f1", change_id="c1", env="production", attrs={"enabled": True}
        ),
        ev("incident.opened", 9.5, incident_id="i1", deploy_id="d1"),
        ev("incident.opened", 20, incident_id="i2", attrs={"started_at": at(18).isoformat()}),
        ev(
            "rollback",
            10,
            deploy_id="r1",
            sha="a0",
            env="production",
            attrs={"rolled_back_deploy_id": "d1"},
        ),
        ev("security.finding.opened", 0, attrs={"finding_id": "f1", "severity": "high"}),
        ev("security.finding.closed", 48, attrs={"finding_id": "f1"}),
        ev("security.finding.opened", 1, attrs={"finding_id": "f2"}),  # still open
    ]
    for r in rows:
        r["received_at"] = r["ts"] + pd.Timedelta(seconds=30)
    return frame(rows)


def _one(tidy: pd.DataFrame, metric: str) -> float:
    return float(tidy.loc[tidy["metric"] == metric, "value"].iloc[0])


def test_ops_known_values() -> None:
    events = _events()
    corr = correlate(events)
    assert _one(mttd(corr, None, None), "mttd_median") == pytest.approx(1.25)  # 0.5 h and 2 h
    rb = rollback_frequency(corr, "service", "W")
    assert _one(rb, "rollbacks") == 1 and _one(rb, "rollback_frequency") == 1.0
    promo = artifact_promotion_time(events, corr, None, None)
    assert _one(promo, "artifact_promotion_time_median") == pytest.approx(2.4)
    assert _one(flag_activation_time(corr, None, None), "flag_activation_time_median") == 3.0
    assert _one(ingest_latency(events, None, None), "ingest_latency_seconds_median") == 30.0
    sec = security_remediation_time(events, None, None)
    assert _one(sec, "security_remediation_time_median") == 48.0
    assert sec["n"].iloc[0] == 1
    allm = ops_metrics(events, corr, "team", "M")
    assert {"mttd_p85", "rollbacks", "flag_activation_time_p85"} <= set(allm["metric"])


def test_promotion_falls_back_to_first_production_deploy() -> None:
    rows = [ev("artifact.published", 1, artifact_id="x", sha="t1"), ev("commit", 0, sha="t1")]
    rows += deploy("d1", "t1", 4, artifact_id="x")
    events = frame(rows)
    promo = artifact_promotion_time(events, correlate(events), None, None)
    assert _one(promo, "artifact_promotion_time_median") == 3.0


def test_ops_without_rollbacks_or_deployments() -> None:
    events = frame([ev("commit", 0, sha="t1")])
    corr = correlate(events)
    assert rollback_frequency(corr).empty
    assert ingest_latency(events).empty
