"""Canonical event contract: dtypes, kinds, per-record validation and UTC normalisation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import SchemaError, VsmmlError
from vsmml.events.schema import (
    EVENT_COLUMNS,
    KINDS,
    TS_DTYPE,
    attrs_of,
    derive_event_ids,
    empty_events,
    ensure_events,
    events_from_records,
    normalise_env,
    normalise_status,
    to_canonical,
    validate_events,
    validate_record,
)

NOW = pd.Timestamp("2026-06-01T00:00:00Z")


def _frame(**cols: list[object]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base: dict[str, list[object]] = {
        "kind": ["commit"] * n,
        "ts": ["2026-03-01T10:00:00+00:00"] * n,
        "source": ["git"] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_empty_events_has_every_column_with_its_dtype() -> None:
    frame = empty_events()
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert frame["ts"].dtype == TS_DTYPE
    assert frame["received_at"].dtype == TS_DTYPE
    assert list(frame["kind"].cat.categories) == list(KINDS)
    assert isinstance(frame["service"].dtype, pd.CategoricalDtype)
    assert frame["sha"].dtype == "str"


def test_offsets_are_normalised_to_utc() -> None:
    result = validate_events(
        _frame(ts=["2026-03-01T12:00:00+02:00", "2026-03-01T10:00:00Z", "2026-03-01T05:00-05:00"]),
        now=NOW,
    )
    assert result.ok
    expected = pd.Timestamp("2026-03-01T10:00:00Z")
    assert (result.events["ts"] == expected).all()
    assert result.events["ts"].dtype == TS_DTYPE


def test_naive_timestamps_are_rejected_unless_a_zone_is_named() -> None:
    frame = _frame(ts=["2026-03-01T10:00:00", "2026-03-01T10:00:00Z"])
    strict = validate_events(frame, now=NOW)
    assert [r.index for r in strict.rejections] == [0]
    assert "no UTC offset" in strict.rejections[0].reason
    assert len(strict.events) == 1

    zoned = validate_events(frame, tz="Europe/Berlin", now=NOW)
    assert zoned.ok
    assert zoned.events["ts"].iloc[0] == pd.Timestamp("2026-03-01T09:00:00Z")


def test_naive_datetime_column_needs_a_zone() -> None:
    frame = _frame(ts=list(pd.to_datetime(["2026-03-01 10:00", "2026-03-02 10:00"])))
    frame["ts"] = pd.to_datetime(frame["ts"])
    assert not validate_events(frame, now=NOW).events.shape[0]
    utc = validate_events(frame, tz="UTC", now=NOW)
    assert utc.ok
    assert utc.events["ts"].iloc[1] == pd.Timestamp("2026-03-02T10:00Z")


def test_every_bad_record_is_reported_with_index_field_and_reason() -> None:
    frame = _frame(
        kind=["commit", "bogus.kind", "commit", None, "commit", "commit"],
        ts=[
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:00:00Z",
            "12/03/2024",
            "2026-03-01T10:00:00Z",
            "1999-12-31T23:00:00Z",
            "2030-01-01T00:00:00Z",
        ],
    )
    result = validate_events(frame, now=NOW)
    by_index = {r.index: r for r in result.rejections}
    assert sorted(by_index) == [1, 2, 3, 4, 5]
    assert by_index[1].field == "kind" and "not a known kind" in by_index[1].reason
    assert by_index[2].field == "ts" and "'12/03/2024'" in by_index[2].reason
    assert by_index[3].field == "kind" and "required" in by_index[3].reason
    assert "before 2000" in by_index[4].reason
    assert "future" in by_index[5].reason
    assert len(result.events) == 1
    message = by_index[2].message()
    assert message.startswith("event 2 (git)") and "'ts'" in message


def test_one_record_with_two_faults_lists_both() -> None:
    result = validate_events(_frame(kind=["nope"], attrs=["not json"]), now=NOW)
    assert {r.field for r in result.rejections} == {"kind", "attrs"}
    q = result.quarantine_frame()
    assert len(q) == 1
    assert q.loc[0, "field"] == "kind,attrs"
    assert json.loads(q.loc[0, "record"])["kind"] == "nope"


def test_wrong_types_are_rejected_per_field() -> None:
    frame = _frame(service=["pay", {"nested": 1}], sha=["abc", ["x"]])
    result = validate_events(frame, now=NOW)
    assert {(r.index, r.field) for r in result.rejections} == {(1, "service"), (1, "sha")}
    assert result.events["service"].tolist() == ["pay"]


def test_numbers_are_not_timestamps() -> None:
    result = validate_events(_frame(ts=[1_700_000_000, 1_700_000_001]), now=NOW)
    assert len(result.rejections) == 2
    assert "ISO-8601" in result.rejections[0].reason


def test_missing_required_column_and_unknown_columns_raise() -> None:
    with pytest.raises(SchemaError, match="'source'"):
        validate_events(pd.DataFrame({"kind": ["commit"], "ts": ["2026-01-01T00:00Z"]}))
    with pytest.raises(SchemaError, match="unknown column"):
        validate_events(_frame(colour=["red"]))


def test_missing_source_value_is_a_record_error() -> None:
    result = validate_events(_frame(source=["git", " "]), now=NOW)
    assert [(r.index, r.field) for r in result.rejections] == [(1, "source")]


def test_event_ids_are_derived_stably_when_absent() -> None:
    frame = _frame(sha=["a", "b"], event_id=[None, "given"])
    first = validate_events(frame, now=NOW).events
    again = validate_events(frame, now=NOW).events
    assert first["event_id"].iloc[1] == "given"
    assert first["event_id"].iloc[0].startswith("h")
    assert first["event_id"].tolist() == again["event_id"].tolist()
    other = validate_events(_frame(sha=["c"]), now=NOW).events
    assert other["event_id"].iloc[0] != first["event_id"].iloc[0]


def test_derive_event_ids_depends_on_time() -> None:
    a = to_canonical(validate_events(_frame(sha=["x"]), now=NOW).events)
    b = a.assign(ts=a["ts"] + pd.Timedelta(seconds=1))
    assert derive_event_ids(a).iloc[0] != derive_event_ids(b).iloc[0]


def test_env_and_status_are_normalised() -> None:
    envs = normalise_env(pd.Series(["PROD", "stage", "qa", "moon", None]))
    assert envs.tolist()[:4] == ["production", "staging", "test", "other"]
    assert pd.isna(envs.iloc[4])
    statuses = normalise_status(pd.Series(["SUCCESS", "Failed", "canceled", "weird"]))
    assert statuses.tolist() == ["success", "failure", "cancelled", "weird"]
    frame = _frame(env=["prod", "Production"], status=["passed", "FAILURE"])
    events = validate_events(frame, now=NOW).events
    assert events["env"].tolist() == ["production", "production"]
    assert events["status"].tolist() == ["success", "failure"]


def test_categorical_env_with_no_values() -> None:
    frame = _frame(env=[None, None])
    frame["env"] = frame["env"].astype("category")
    events = validate_events(frame, now=NOW).events
    assert events["env"].isna().all()


def test_attrs_dicts_become_json_and_can_be_read_back() -> None:
    records = [
        {"kind": "commit", "ts": "2026-03-01T10:00:00Z", "source": "git", "attrs": {"la": 12}},
        {"kind": "commit", "ts": "2026-03-01T11:00:00Z", "source": "git"},
    ]
    events = ensure_events(events_from_records(records))
    assert json.loads(events["attrs"].iloc[0]) == {"la": 12}
    la = attrs_of(events, "la")
    assert la.iloc[0] == 12
    assert pd.isna(la.iloc[1])


def test_validate_record_and_ensure_events_raise_with_every_message() -> None:
    row = validate_record({"kind": "commit", "ts": "2026-03-01T10:00:00+01:00", "source": "git"})
    assert row["ts"] == pd.Timestamp("2026-03-01T09:00:00Z")
    with pytest.raises(SchemaError, match="unknown field"):
        validate_record({"kind": "commit", "when": "x"})
    with pytest.raises(SchemaError, match="'kind'") as info:
        ensure_events(_frame(kind=["x", "y"]))
    assert "event 0" in str(info.value) and "event 1" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, VsmmlError)


def test_datetime_objects_with_zones_are_accepted() -> None:
    ts = pd.Timestamp("2026-03-01T10:00:00", tz="Asia/Tokyo").to_pydatetime()
    result = validate_events(_frame(ts=[ts, np.nan]), now=NOW)
    assert result.events["ts"].iloc[0] == pd.Timestamp("2026-03-01T01:00:00Z")
    assert [(r.index, r.field) for r in result.rejections] == [(1, "ts")]


def test_first_index_offsets_reported_positions() -> None:
    result = validate_events(_frame(kind=["commit", "bad"]), now=NOW, first_index=1000)
    assert [r.index for r in result.rejections] == [1001]
    assert result.quarantine_frame()["index"].tolist() == [1001]
