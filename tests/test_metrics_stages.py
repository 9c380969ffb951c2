"""Per-stage lead/wait/active times and flow efficiency on a hand-made change with known spans."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_events import deploy, ev, frame, pr
from vsmml.correlate import Correlation, correlate
from vsmml.metrics.flow import flow_efficiency
from vsmml.metrics.stages import change_stage_spans, ci_stage_times, stage_times


def _events() -> pd.DataFrame:
    rows = pr("c1", "a1", 0, 5)
    rows += [
        ev("pipeline.started", 5.1, pipeline_id="p1", sha="a1", change_id="c1"),
        ev(
            "stage.finished",
            5.3,
            pipeline_id="p1",
            stage="build",
            sha="a1",
            attrs={"queue_s": 360, "duration_s": 540},
        ),
        ev(
            "stage.finished",
            5.5,
            pipeline_id="p1",
            stage="unit-tests",
            sha="a1",
            attrs={"queue_s": 0, "duration_s": 360},
        ),
        ev("pipeline.finished", 5.5, pipeline_id="p1", sha="a1", status="success"),
        ev("artifact.published", 5.6, artifact_id="x1", sha="a1", pipeline_id="p1"),
    ]
    rows += deploy("s1", "a1", 7, env="staging", artifact_id="x1")
    rows += deploy("d1", "a1", 9, artifact_id="x1")
    return frame(rows)


@pytest.fixture(scope="module")
def corr() -> Correlation:
    return correlate(_events())


def test_stage_spans_of_one_change(corr: Correlation) -> None:
    s = change_stage_spans(corr).iloc[0]
    expected = {
        "coding": (1.0, 0.0, 1.0),
        "pickup": (1.5, 1.5, 0.0),
        "review": (2.5, 0.0, 2.5),
        "build": (0.5, 0.1, 0.25),
        "staging": (1.4, 1.15, 0.25),
        "production": (2.0, 1.75, 0.25),
    }
    for stage, (lead, wait, active) in expected.items():
        assert s[f"{stage}_lead"] == pytest.approx(lead), stage
        assert s[f"{stage}_wait"] == pytest.approx(wait), stage
        assert s[f"{stage}_active"] == pytest.approx(active), stage


def test_stage_times_tidy_median_and_p85(corr: Correlation) -> None:
    st = stage_times(corr, "service", "W").set_index("metric")
    assert st.loc["stage_review_lead_median", "value"] == pytest.approx(2.5)
    assert st.loc["stage_production_wait_p85", "value"] == pytest.approx(1.75)
    assert st.loc["stage_build_active_median", "n"] == 1
    assert len(st) == 6 * 3 * 2


def test_ci_stage_times() -> None:
    ci = ci_stage_times(_events(), None, None).set_index("metric")["value"]
    assert ci["ci_build_wait_median"] == pytest.approx(0.1)
    assert ci["ci_unit-tests_active_p85"] == pytest.approx(0.1)


def test_flow_efficiency_is_active_over_total(corr: Correlation) -> None:
    fe = flow_efficiency(corr, "service", "W")
    assert fe["value"].iloc[0] == pytest.approx(4.25 / 9)
    assert fe["n"].iloc[0] == 1
