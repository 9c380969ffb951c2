"""Properties of ingest on generated mixes of good and bad input, for every payload source:
records read = accepted + duplicates + quarantined + skipped, one bad record never costs a good
one, re-ingest leaves the three tables unchanged; and the canonical SQL path gives the events
the Python reference converter gives."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsmml.events.connectors import files
from vsmml.pipeline.ingest import ingest_paths, located_validation
from vsmml.pipeline.ingest import jenkins as jenkins_reader
from vsmml.pipeline.ingest import pagerduty as pagerduty_reader
from vsmml.store import Store
from vsmml.store.health import TABLES

FIXTURES = Path(__file__).parents[1] / "data/fixtures"
LIMIT = 20_000


def _fixture_payloads() -> dict[str, list[str]]:
    """Good payloads of each source, one JSON text each."""
    out: dict[str, list[str]] = {}
    out["cdevents"] = [
        json.dumps(json.loads(p.read_text()))
        for p in sorted((FIXTURES / "cdevents/conformance").glob("*.json"))
    ]
    for name in ("github", "gitlab"):
        out[name] = []
        for p in sorted((FIXTURES / name).glob("*.json")):
            doc = json.loads(p.read_text())
            doc.pop("_note", None)
            doc.pop("_expected", None)
            out[name].append(json.dumps(doc))
    for name, reader in (("jenkins", jenkins_reader), ("pagerduty", pagerduty_reader)):
        records, _ = reader.load([FIXTURES / name / "raw_tables"])
        out[name] = [json.dumps(v) if not isinstance(v, str) else v for _, v in records[:40]]
    out["jsonl"] = [json.dumps(r) for r in _canonical_rows(40)]
    return out


def _canonical_rows(n: int) -> list[dict[str, Any]]:
    kinds = ["commit", "deploy.finished", "incident.opened", "pipeline.finished"]
    return [
        {
            "event_id": f"c{i}",
            "kind": kinds[i % 4],
            "ts": f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:00:00{'Z' if i % 2 else '+02:00'}",
            "service": f"svc{i % 3}",
            "env": ["prod", "staging", "qa", None][i % 4],
            "status": ["Passed", "failed", "ok", None][i % 4],
            "sha": f"{i:08x}",
            "attrs": {"n": i, "tags": ["a", "b"]} if i % 3 else None,
        }
        for i in range(n)
    ]


GOOD = _fixture_payloads()
BAD_LINES: tuple[bytes, ...] = (
    b"{broken",
    b"\xff\xfe not utf-8",
    b"[" * 300 + b"]" * 300,
    b'{"a": ' + b"[" * 200 + b"1" + b"]" * 200 + b"}",
    b'"just a string"',
    b"12345",
    b"   ",
    b"",
    b'{"kind": "commit"}',
    b'{"x": "' + b"y" * (LIMIT + 10) + b'"}',
)


def _mutate(text: str, draw: Any) -> bytes:
    doc = json.loads(text)
    if isinstance(doc, dict) and doc:
        key = draw(st.sampled_from(sorted(doc)))
        action = draw(st.sampled_from(["drop", "null", "number", "list", "blank"]))
        if action == "drop":
            del doc[key]
        else:
            doc[key] = {"null": None, "number": 12, "list": [], "blank": ""}[action]
    return json.dumps(doc).encode()


def _lines(source: str, draw: Any) -> list[bytes]:
    good = GOOD[source]
    line = st.one_of(
        st.sampled_from(good).map(str.encode),
        st.sampled_from(BAD_LINES),
        st.sampled_from(good).map(lambda t: _mutate(t, draw)),
    )
    picked: list[bytes] = draw(st.lists(line, min_size=1, max_size=25))
    return picked


def _rows(store: Store) -> dict[str, int]:
    con = store.connection
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in TABLES}


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(GOOD))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_record_is_accounted_for(source: str, data: Any, tmp_path: Path) -> None:
    lines = _lines(source, data.draw)
    path = tmp_path / f"in-{abs(hash(tuple(lines)))}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store_path = path.with_suffix(".duckdb")
    with Store(store_path) as store:
        report = ingest_paths(store, source, [path], max_payload_bytes=LIMIT)
        assert report.balanced, report
        if source == "jsonl":  # one record per non-blank line
            assert report.records == sum(1 for line in lines if line.strip())
        before = _rows(store)
        again = ingest_paths(store, source, [path], max_payload_bytes=LIMIT)
        assert again.balanced and again.accepted == 0, again
        assert again.records == report.records
        assert _rows(store) == before  # raw payloads, events and quarantine unchanged


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_csv_records_are_accounted_for_by_line(data: Any, tmp_path: Path) -> None:
    rows = _canonical_rows(30)
    header = ["event_id", "kind", "ts", "service", "env", "status", "sha", "attrs"]
    picked = data.draw(
        st.lists(
            st.one_of(
                st.sampled_from(rows).map(lambda r: ("good", r)),
                st.sampled_from(["bad_kind", "naive_ts", "extra_cell", "not_utf8", "blank"]).map(
                    lambda b: (b, None)
                ),
            ),
            min_size=1,
            max_size=25,
        )
    )
    out = io.BytesIO()
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(header)
    out.write(text.getvalue().encode())
    expected_records = 0
    for what, row in picked:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        if what == "good":
            assert row is not None
            cells = [row.get(c) for c in header]
            cells[-1] = json.dumps(row["attrs"]) if row["attrs"] else ""
            writer.writerow(["" if c is None else c for c in cells])
        elif what == "bad_kind":
            writer.writerow(["b1", "comit", "2026-01-01T00:00:00Z", "s", "", "", "x", ""])
        elif what == "naive_ts":
            writer.writerow(["b2", "commit", "2026-01-01T00:00:00", "s", "", "", "x", ""])
        elif what == "extra_cell":
            writer.writerow(["b3", "commit", "2026-01-01T00:00:00Z", "s", "", "", "x", "", "9"])
        elif what == "blank":
            text.write("\n")
        if what == "not_utf8":
            out.write(b"b4,commit,2026-01-01T00:00:00Z,\xff\xfe,,,x,\n")
        else:
            out.write(text.getvalue().encode())
        expected_records += what != "blank"
    path = tmp_path / f"in-{abs(hash(out.getvalue()))}.csv"
    path.write_bytes(out.getvalue())
    with Store(path.with_suffix(".duckdb")) as store:
        report = ingest_paths(store, "csv", [path])
        assert report.balanced and report.records == expected_records, report
        good = {r["event_id"] for what, r in picked if what == "good" and r is not None}
        stored = set(store.read_events()["event_id"])
        assert good <= stored  # one bad row never costs a good one
        before = _rows(store)
        assert ingest_paths(store, "csv", [path]).accepted == 0
        assert _rows(store) == before


def _reference(path: Path) -> tuple[pd.DataFrame, set[str]]:
    """What the Python reference converter makes of a JSON Lines file: events, refused lines."""
    units = [
        (f"{path.name}:{i}", line.strip())
        for i, line in enumerate(path.read_text().split("\n"), start=1)
        if line.strip()
    ]
    conv = located_validation(files.to_events(units))
    return conv.events, {r.location for r in conv.rejects}


CANONICAL_VALUES = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["commit", "deploy.finished", "bogus", "incident.opened", None]),
        "ts": st.sampled_from(
            [
                "2026-01-01T10:00:00Z",
                "2026-01-01 10:00:00.123456+05:30",
                "2026-01-01T10:00Z",
                "2026-01-01T10:00:00",
                "1999-01-01T00:00:00Z",
                "2999-01-01T00:00:00Z",
                "yesterday",
                "2026-01-01T10:00:00.1234567Z",
            ]
        ),
    },
    optional={
        "event_id": st.sampled_from(["e1", "e2", "e3", " ", ""]),
        "service": st.sampled_from(["pay", "", "  ", "search"]),
        "env": st.sampled_from(["prod", "Production ", "qa", "weird", None]),
        "status": st.sampled_from(["Passed", "FAILED", "ok", "odd", None]),
        "sha": st.sampled_from(["abc", 123, True, None, ["x"], {"y": 1}]),
        "attrs": st.sampled_from([{"a": 1}, None, "text", [1], '{"b": 2}', {"d": {"e": [1]}}]),
        "note": st.sampled_from(["extra", 5]),
    },
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(CANONICAL_VALUES, min_size=1, max_size=12))
def test_sql_path_gives_the_reference_events(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / f"p-{abs(hash(json.dumps(rows, sort_keys=True)))}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    expected, refused = _reference(path)
    with Store(path.with_suffix(".duckdb")) as store:
        report = ingest_paths(store, "jsonl", [path])
        got = store.read_events()
        q = store.read_quarantine()
    assert report.balanced
    assert set(q["location"]) >= refused
    columns = ["event_id", "kind", "ts", "source", "service", "env", "status", "sha"]
    want = expected.drop_duplicates("event_id")[columns].astype(str)
    have = got[columns].astype(str)
    want = want.sort_values("event_id").reset_index(drop=True)
    have = have.sort_values("event_id").reset_index(drop=True)
    stored_ids = set(have["event_id"])
    want = want[want["event_id"].isin(stored_ids)].reset_index(drop=True)  # conflicts aside
    pd.testing.assert_frame_equal(
        have[have["event_id"].isin(set(want["event_id"]))].reset_index(drop=True), want
    )
    assert len(got) <= len(expected.drop_duplicates("event_id"))
    first = expected.drop_duplicates("event_id")  # the store keeps the first of one id
    attrs_want = {
        e: json.loads(a) if isinstance(a, str) else None
        for e, a in zip(first["event_id"], first["attrs"], strict=True)
    }
    for e, a in zip(got["event_id"], got["attrs"], strict=True):
        assert (json.loads(a) if isinstance(a, str) else None) == attrs_want[e]
