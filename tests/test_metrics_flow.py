"""Flow Framework metrics on three hand-made work items."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_events import T0, ev, frame
from vsmml.metrics.flow import flow_load, flow_metrics, work_items


def _events() -> pd.DataFrame:
    def item(wid: str, wtype: str, start: float, done: float | None) -> list[dict[str, object]]:
        a = {"work_id": wid, "work_type": wtype}
        rows = [
            ev("work.created", start - 1, change_id=wid, attrs=a),
            ev("work.started", start, change_id=wid, attrs=a),
        ]
        if done is not None:
            rows.append(ev("work.done", done, change_id=wid, attrs=a))
        return rows

    return frame(
        item("w1", "feature", 0, 10) + item("w2", "defect", 1, 30) + item("w3", "debt", 2, None)
    )


def _values(tidy: pd.DataFrame, metric: str) -> list[float]:
    return tidy.loc[tidy["metric"] == metric, "value"].tolist()


def test_work_items_frame() -> None:
    items = work_items(_events()).set_index("work_id")
    assert items.loc["w1", "work_type"] == "feature"
    assert items.loc["w2", "done_at"] == T0 + pd.Timedelta(hours=30)
    assert pd.isna(items.loc["w3", "done_at"])


def test_weekly_flow_metrics() -> None:
    m = flow_metrics(_events(), None, "service", "W")
    assert _values(m, "flow_velocity") == [2.0]
    assert _values(m, "flow_time_median") == [pytest.approx(19.5)]
    assert _values(m, "flow_distribution_feature") == [0.5]
    assert _values(m, "flow_distribution_defect") == [0.5]
    assert _values(m, "flow_load") == [1.0]
    assert "flow_efficiency" not in set(m["metric"])


def test_daily_load_is_work_in_progress_at_period_end() -> None:
    items = work_items(_events())
    assert _values(flow_load(items, None, "D"), "flow_load") == [2.0, 1.0]
    assert _values(flow_load(items, "team", None), "flow_load") == [1.0]
    assert flow_load(items.iloc[:0], "team", "D").empty
