"""Ingest pipeline and CLI against a real DuckDB store: raw kept, events, quarantine, replay."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.config import Settings
from vsmml.errors import ConfigError
from vsmml.events.connectors.base import Reject
from vsmml.pipeline.ingest import IngestReport, ingest_paths, ingest_units
from vsmml.pipeline.ingest.readers import expand, split_csv_rows, split_json
from vsmml.pipeline.ingest.registry import get_source, known_sources
from vsmml.pipeline.ingest.replay import replay, retry_quarantine
from vsmml.pipeline.ingest.rules import build_rules, read_rules_file
from vsmml.store import Store
from vsmml.store.health import TABLES

FIXTURES = Path(__file__).parents[1] / "data/fixtures"
CONFORMANCE = FIXTURES / "cdevents/conformance"


def _event(name: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads((CONFORMANCE / f"{name}.json").read_text())
    return doc


def _all_rows(store: Store) -> dict[str, int]:
    con = store.connection
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.duckdb")


def test_known_sources_cover_the_issue() -> None:
    assert set(known_sources()) >= {
        "cdevents",
        "github",
        "gitlab",
        "jenkins",
        "pagerduty",
        "git",
        "devlake",
        "jsonl",
        "csv",
    }
    with pytest.raises(ConfigError, match="unknown source 'svn'"):
        get_source("svn")


def test_bad_lines_are_quarantined_by_file_and_line_while_good_ones_land(
    store: Store, tmp_path: Path
) -> None:
    lines = [
        json.dumps(_event("change_merged")),
        '{"context": {"id": "trunc',
        json.dumps(
            {
                **_event("pipelinerun_started"),
                "context": {
                    **_event("pipelinerun_started")["context"],
                    "timestamp": "1999-12-31T00:00:00Z",
                },
            }
        ),  # type: ignore[dict-item]
        json.dumps(
            {
                "context": {
                    **_event("change_merged")["context"],
                    "type": "dev.cdevents.foo.bar.0.1.0",
                },
                "subject": {},
            }
        ),  # type: ignore[dict-item]
        json.dumps(_event("service_deployed")),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_paths(store, "cdevents", [path])
    assert (report.payloads, report.accepted, report.quarantined) == (5, 2, 3)
    q = store.read_quarantine()
    assert sorted(q["location"]) == ["events.jsonl:2", "events.jsonl:3", "events.jsonl:4"]
    assert set(q["field"]) == {"payload", "ts", "context.type"}
    raw = store.read_raw(source="cdevents")
    assert len(raw) == 5  # every payload kept, bad ones too


def test_reingest_is_idempotent_and_replay_counts_duplicates(store: Store) -> None:
    first = ingest_paths(store, "cdevents", [CONFORMANCE])
    tables = _all_rows(store)
    again = ingest_paths(store, "cdevents", [str(CONFORMANCE / "*.json")])
    assert (first.accepted, again.accepted, again.duplicates) == (45, 0, 45)
    assert _all_rows(store) == tables  # raw payloads, events and quarantine unchanged
    rep = replay(store, source="cdevents")
    assert (rep.accepted, rep.duplicates, rep.quarantined) == (0, 45, 0)
    assert _all_rows(store) == tables
    assert store.counts()["events"] == 45


def test_replay_after_a_rule_fix_and_quarantine_retry(store: Store, tmp_path: Path) -> None:
    event = _event("service_deployed")
    event["subject"]["content"]["extra"] = 1  # type: ignore[index]
    (tmp_path / "e.json").write_text(json.dumps(event))
    assert ingest_paths(store, "cdevents", [tmp_path / "e.json"]).quarantined == 1
    again = replay(store)
    assert again.quarantined == 1  # refused again, but the same reject is not stored twice
    assert len(store.read_quarantine(include_resolved=True)) == 1
    fixed = replay(store, rules={"cdevents": {"validate_schema": False}})
    assert (fixed.accepted, fixed.resolved) == (1, 1)
    assert store.read_quarantine().empty


def test_retry_keeps_what_still_fails_and_resolves_what_lands(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"kind": "commit", "ts": "2024-01-01T00:00:00", "sha": "a"}) + "\n")
    assert ingest_paths(store, "jsonl", [path]).quarantined == 1
    assert retry_quarantine(store).resolved == 0  # still naive: stays, not duplicated
    assert len(store.read_quarantine()) == 1
    event = _event("service_deployed")
    event["subject"]["content"]["extra"] = 1  # type: ignore[index]
    assert ingest_units(store, "cdevents", [("h", json.dumps(event))]).quarantined == 1
    fixed = retry_quarantine(
        store, source="cdevents", rules={"cdevents": {"validate_schema": False}}
    )
    assert (fixed.accepted, fixed.resolved) == (1, 1)


def test_oversize_single_payload_is_refused_before_reading(store: Store, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"blob": "x" * 3000}))
    report = ingest_paths(store, "github", [big], rules={"max_payload_bytes": 1000})
    assert report.quarantined == 1 and report.payloads == 0
    reason = store.read_quarantine()["reason"].iloc[0]
    assert "above the maximum payload size of 1,000 bytes" in reason
    assert report.nothing_read


def test_settings_set_the_payload_limit() -> None:
    limit = Settings.from_env({"VSMML_MAX_PAYLOAD_BYTES": "2048"}).max_payload_bytes
    assert build_rules(get_source("gitlab"), max_payload_bytes=limit).max_payload_bytes == 2048
    assert build_rules(get_source("gitlab"), {"max_payload_bytes": 4096}, max_payload_bytes=limit)
    with pytest.raises(ConfigError, match="VSMML_MAX_PAYLOAD_BYTES"):
        Settings.from_env({"VSMML_MAX_PAYLOAD_BYTES": "lots"})
    with pytest.raises(ConfigError, match="rules for github"):
        build_rules(get_source("github"), {"deployment_pattern": "("})


def test_stdin_csv_and_github_devlake_csv(store: Store) -> None:
    csv_text = (
        "kind,ts,sha,attrs\ncommit,2024-01-01T00:00:00Z,abc,\ncommit,2024-01-02T00:00:00Z,def,{}\n"
    )
    report = ingest_paths(store, "csv", ["-"], stdin=io.StringIO(csv_text))
    assert (report.payloads, report.accepted) == (2, 2)
    runs = FIXTURES / "devlake_github/_raw_github_api_runs.csv"
    report = ingest_paths(store, "github", [runs])
    assert report.payloads == 35 and report.quarantined == 0 and report.accepted > 35


def test_readers_split_and_refuse(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"a": 1}, {"b": 2}]')
    (tmp_path / "b.jsonl").write_text('{"a": 1}\n\n{"b": 2}\n')
    (tmp_path / "c.json").write_bytes(b"\xff\xfe")
    (tmp_path / "d.csv").write_text("x,y\n1,2,3\n4,5\n")
    found, missing = expand([tmp_path, tmp_path / "nope*.json"], (".json", ".jsonl"))
    assert [p.name for p in found] == ["a.json", "b.jsonl", "c.json"] and missing
    assert list(split_json(tmp_path / "a.json", 10_000, source="s")) == [
        ("a.json", '[{"a": 1}, {"b": 2}]')
    ]
    assert [u[0] for u in split_json(tmp_path / "b.jsonl", 10_000, source="s")] == [
        "b.jsonl:1",
        "b.jsonl:3",
    ]
    (bad,) = split_json(tmp_path / "c.json", 10_000, source="s")
    assert isinstance(bad, Reject) and "UTF-8" in bad.reason
    rows = list(split_csv_rows(tmp_path / "d.csv", 10_000, source="s"))
    assert isinstance(rows[0], Reject) and rows[0].location == "d.csv:2"
    assert rows[1] == ("d.csv:3", '{"x": "4", "y": "5"}')


def test_jsonl_inside_a_json_file_and_units_api(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(
        json.dumps(_event("change_created")) + "\n" + json.dumps(_event("change_merged"))
    )
    assert ingest_paths(store, "cdevents", [path]).accepted == 2
    report = ingest_units(store, "cdevents", [("http", json.dumps(_event("incident_resolved")))])
    assert isinstance(report, IngestReport) and report.accepted == 1


def test_path_sources_go_through_their_reader(store: Store) -> None:
    report = ingest_paths(store, "devlake", [FIXTURES / "devlake_tables"])
    assert report.accepted > 0 or report.quarantined > 0
    assert ingest_paths(store, "git", ["/no/such/repo"]).nothing_read


def test_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("github:\n  incident_labels: [outage]\n")
    assert read_rules_file(path) == {"github": {"incident_labels": ["outage"]}}
    path.write_text("- 1\n")
    with pytest.raises(ConfigError):
        read_rules_file(path)


def test_cli_ingest_replay_and_quarantine(vsmml_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(_event("change_merged")) + "\n{broken\n")
    result = runner.invoke(app, ["ingest", "cdevents", str(path)])
    assert result.exit_code == 0, result.output
    assert "accepted 1, duplicates 0, quarantined 1, skipped 0" in result.output
    result = runner.invoke(app, ["ingest", "cdevents", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["ingest", "svn", str(path)])
    assert result.exit_code == 2
    listing = runner.invoke(app, ["quarantine", "list"])
    assert "e.jsonl:2" in listing.output
    qid = listing.output.split()[0]
    shown = runner.invoke(app, ["quarantine", "show", qid])
    assert "{broken" in shown.output
    missing = runner.invoke(app, ["quarantine", "show", "999"])
    assert missing.exit_code == 2 and "no quarantined record 999" in missing.output
    assert "resolved 0" in runner.invoke(app, ["quarantine", "retry"]).output
    rules = tmp_path / "r.yaml"
    rules.write_text("cdevents:\n  validate_schema: false\n")
    out = runner.invoke(app, ["replay", "--source", "cdevents", "--rules", str(rules)])
    assert "duplicates 1" in out.output, out.output


def test_quarantine_source_option_takes_the_ingest_command_name(
    vsmml_home: Path, tmp_path: Path
) -> None:
    # `vsmml ingest jsonl|csv` store their records under source `file`: the option must find them
    runner = CliRunner()
    bad = {"event_id": "q1", "kind": "commit", "ts": "not a time", "service": "a", "sha": "s1"}
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(bad) + "\n")
    assert "quarantined 1" in runner.invoke(app, ["ingest", "jsonl", str(path)]).output
    for name in ("jsonl", "csv", "file"):
        listing = runner.invoke(app, ["quarantine", "list", "--source", name])
        assert listing.exit_code == 0 and "e.jsonl:1" in listing.output, (name, listing.output)
    assert (
        "e.jsonl:1" not in runner.invoke(app, ["quarantine", "list", "--source", "github"]).output
    )
    out = runner.invoke(app, ["quarantine", "retry", "--source", "jsonl"])
    assert out.exit_code == 0 and "still failing 1" in out.output, out.output


def test_oversize_lines_and_big_json_lines_files(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"a": 1}\n' + json.dumps({"b": "x" * 500}) + "\n" + '{"c": 3}\n')
    items = list(split_json(path, 100, source="s"))
    assert [i[0] if isinstance(i, tuple) else i.location for i in items] == [
        "big.json:1",
        "big.json:2",
        "big.json:3",
    ]
    assert isinstance(items[1], Reject) and "maximum payload size" in items[1].reason
    (tmp_path / "e.json").write_text("  ")
    (empty,) = split_json(tmp_path / "e.json", 100, source="s")
    assert isinstance(empty, Reject) and empty.reason == "is empty"


def test_expand_paths_walks_like_expand_and_names_the_first_unmatched_path(tmp_path: Path) -> None:
    from vsmml.errors import DataError
    from vsmml.pipeline.ingest.filewalk import expand_paths

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "c.txt").write_text("")
    assert expand_paths([tmp_path], suffixes=(".json",)) == expand([tmp_path], (".json",))[0]
    assert [p.name for p in expand_paths([tmp_path], suffixes=(".json",))] == ["a.json", "b.json"]
    with pytest.raises(DataError, match="nope1"):
        expand_paths([tmp_path / "a.json", tmp_path / "nope1*", tmp_path / "nope2"], suffixes=())


def test_crlf_canonical_files_land_as_lf_ones_and_keep_their_line_numbers(tmp_path: Path) -> None:
    rows = [
        {"kind": "commit", "ts": "2026-01-01T00:00:00Z", "repo": "r", "sha": f"a{i}"}
        for i in range(3)
    ]
    bad = {"kind": "commit", "ts": "not a time", "repo": "r", "sha": "b"}
    lines = [json.dumps(rows[0]), "", json.dumps(rows[1]), json.dumps(bad), json.dumps(rows[2])]
    header = "kind,ts,repo,sha"
    cells = [",".join(str(r[c]) for c in header.split(",")) for r in [*rows[:2], bad, rows[2]]]
    csv_lines = [header, cells[0], "", cells[1], cells[2], cells[3]]
    for name, text, where in (
        ("e.jsonl", lines, "e.jsonl:4"),
        ("e.csv", csv_lines, "e.csv:5"),
    ):
        ends = {}
        for eol in ("\n", "\r\n"):
            path = tmp_path / f"{len(eol)}{name}"
            path.write_bytes(eol.join(text).encode() + eol.encode())
            with Store(tmp_path / f"{len(eol)}{name}.duckdb") as s:
                report = ingest_paths(s, "jsonl" if name.endswith("jsonl") else "csv", [path])
                assert (report.records, report.accepted, report.quarantined) == (4, 3, 1)
                q = s.read_quarantine()
                assert q["location"].tolist() == [f"{len(eol)}{where}"] and q["field"][0] == "ts"
                payloads = s.read_raw()["payload"].tolist()
                assert not any("\r" in p or "\n" in p for p in payloads)
                events = s.read_events().sort_values("sha")
                ends[eol] = (payloads, events.drop(columns="received_at").to_dict("records"))
        assert ends["\n"] == ends["\r\n"]


def test_gc_is_paused_for_a_batch_and_restored_after_nesting_and_errors() -> None:
    import gc

    from vsmml.pipeline.ingest.gc_pause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer batch is still running
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector the caller turned off stays off
    finally:
        gc.enable()


def test_depth_limit_agrees_with_the_exact_depth_on_generated_documents() -> None:
    import random

    from vsmml.pipeline.ingest.limits import json_depth, too_deep

    rng = random.Random(11)

    def doc(depth: int) -> object:
        if depth == 0:
            return rng.choice([1, "a[{", 'x\\"]', None, "\\\\", "}}"])
        if rng.random() < 0.5:
            return [doc(depth - 1), doc(rng.randint(0, depth - 1))]
        return {"k{": doc(depth - 1), "b": [doc(rng.randint(0, depth - 1))], "c": {}}

    def nesting(value: object) -> int:
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            return 1 + max((nesting(v) for v in value), default=0)
        return 0

    for _ in range(500):
        text = json.dumps(doc(rng.randint(0, 9))) + " " * 2100  # long: the peeling path
        depth = json_depth(text)
        assert depth == nesting(json.loads(text))
        for limit in (1, 2, 3, 5, 8, 64):
            assert too_deep(text, limit) == (depth if depth > limit else None), (text, limit)
    assert too_deep("[" * 100 + "]" * 100 + " " * 3000, 64) == 100


def test_batches_written_in_the_background_land_as_one_batch_does(tmp_path: Path) -> None:
    files = sorted((FIXTURES / "github_octokit").glob("*.json"))
    tables = {}
    for batch_size in (2, 10_000):  # many batches (background writes) vs one (caller's thread)
        with Store(tmp_path / f"{batch_size}.duckdb") as s:
            report = ingest_paths(s, "github", files, batch_size=batch_size)
            assert report.batches == (-(-report.payloads // 2) if batch_size == 2 else 1)
            rows = _all_rows(s)
            raw = s.read_raw()[["location", "payload"]].to_dict("records")
            events = s.read_events().drop(columns="received_at").sort_values("event_id")
            tables[batch_size] = (report.summary(), rows, raw, events.to_dict("records"))
    assert tables[2] == tables[10_000]


def test_batch_writer_folds_in_order_and_waits_for_the_write_in_flight_on_error() -> None:
    import threading
    import time

    from vsmml.pipeline.ingest.writer import BatchWriter
    from vsmml.store import WriteReport

    folded: list[int] = []
    threads: list[str] = []

    def job(n: int, pause: float = 0.0) -> Callable[[], WriteReport]:
        def run() -> WriteReport:
            time.sleep(pause)
            threads.append(threading.current_thread().name)
            return WriteReport(accepted=n)

        return run

    with BatchWriter(lambda w: folded.append(w.accepted)) as writer:
        writer.write(job(1, 0.05), last=False)
        writer.write(job(2), last=False)
        writer.write(job(3), last=True)
    assert folded == [1, 2, 3]
    assert threads[0].startswith("vsmml-ingest-writer") and threads[2] == "MainThread"

    def boom() -> WriteReport:
        raise RuntimeError("disk full")

    def failing_write() -> None:
        with BatchWriter(lambda w: folded.append(w.accepted)) as writer:
            writer.write(boom, last=False)
            writer.write(job(4), last=True)  # the failed write surfaces before this one runs

    with pytest.raises(RuntimeError, match="disk full"):
        failing_write()
    assert 4 not in folded
    done: list[str] = []

    def slow() -> WriteReport:
        time.sleep(0.1)
        done.append("x")
        return WriteReport()

    def failing_caller() -> None:
        with BatchWriter(lambda w: None) as writer:
            writer.write(slow, last=False)
            raise KeyError("caller failed")

    with pytest.raises(KeyError):
        failing_caller()
    assert done == ["x"]  # the write in flight finished before the writer let go


def test_canonical_raw_payloads_skip_blank_lines_and_compare_colliding_hashes(
    tmp_path: Path,
) -> None:
    """JSON Lines raw payloads through the SQL path: a whitespace-only line is no payload, a
    line with leading blanks is one (kept as read), two texts with one DuckDB hash are both
    kept, an exact repeat once, and a second ingest adds nothing."""
    colliding = (FIXTURES / "store/hash_collision.jsonl").read_text().splitlines()
    padded = '  \t{"kind": "commit", "ts": "2026-01-01T00:00:00Z", "repo": "r", "sha": "a"}'
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join([colliding[0], " \t ", colliding[1], padded, colliding[0]]) + "\n")
    with Store(tmp_path / "s.duckdb") as s:
        first = ingest_paths(s, "jsonl", [path])
        assert (first.records, first.accepted, first.duplicates, first.quarantined) == (4, 3, 1, 0)
        raw = s.read_raw()
        assert raw["payload"].tolist() == [colliding[0], colliding[1], padded]
        assert raw["location"].tolist() == ["e.jsonl:1", "e.jsonl:3", "e.jsonl:4"]
        before = _all_rows(s)
        again = ingest_paths(s, "jsonl", [path])
        assert (again.accepted, again.duplicates) == (0, 4)
        assert _all_rows(s) == before
