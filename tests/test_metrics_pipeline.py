"""Pipeline success rate, duration, flakiness (failures that pass on retry) and test pass rate."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_events import ev, frame
from vsmml.metrics.pipeline import pipeline_metrics, pipeline_runs


def _events() -> pd.DataFrame:
    rows = []
    for i, (pid, sha, status, dur) in enumerate(
        [("p1", "s1", "failure", 600), ("p2", "s1", "success", 1200), ("p3", "s2", "failure", 1800)]
    ):
        rows.append(ev("pipeline.started", i, pipeline_id=pid, sha=sha))
        rows.append(
            ev(
                "pipeline.finished",
                i + 0.5,
                pipeline_id=pid,
                sha=sha,
                status=status,
                attrs={"duration_s": dur},
            )
        )
    rows.append(ev("pipeline.started", 5, pipeline_id="p4", sha="s3"))
    rows.append(ev("pipeline.finished", 5.25, pipeline_id="p4", sha="s3", status="success"))
    rows.append(
        ev(
            "test.finished",
            1,
            pipeline_id="p2",
            stage="unit-tests",
            sha="s1",
            attrs={"passed": 90, "failed": 10, "skipped": 5},
        )
    )
    return frame(rows)


def test_runs_flag_flaky_failures() -> None:
    runs = pipeline_runs(_events()).set_index("pipeline_id")
    assert runs["flaky"].to_dict() == {"p1": True, "p2": False, "p3": False, "p4": False}
    assert runs.loc["p4", "duration_h"] == pytest.approx(0.25)  # from start/finish events


def test_pipeline_metrics_known_values() -> None:
    m = pipeline_metrics(_events(), None, None).set_index("metric")
    assert m.loc["pipeline_success_rate", "value"] == 0.5
    assert m.loc["pipeline_flakiness", "value"] == 0.25
    assert m.loc["pipeline_flaky_failures", "value"] == 1
    assert m.loc["pipeline_duration_median", "value"] == pytest.approx(1050 / 3600)
    assert m.loc["test_pass_rate", "value"] == 0.9
    assert m.loc["test_pass_rate", "n"] == 100


def test_no_pipelines() -> None:
    assert pipeline_metrics(frame([ev("commit", 0, sha="x")])).empty
