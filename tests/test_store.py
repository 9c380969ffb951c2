"""DuckDB store: idempotent writes, quarantine, atomic batches, filtered reads, migrations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from vsmml.config import get_settings
from vsmml.errors import StoreError, StoreLockedError
from vsmml.events.schema import KIND_DTYPE, TS_DTYPE
from vsmml.store import Store
from vsmml.store.schema import SCHEMA_VERSION, current_version, migrate
from vsmml.store.writes import raw_table


def _events(n: int, *, start: int = 0, service: str = "pay") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(start, start + n)],
            "kind": ["commit"] * n,
            "ts": [f"2026-03-01T10:{i % 60:02d}:00+01:00" for i in range(start, start + n)],
            "source": ["git"] * n,
            "service": [service] * n,
            "sha": [f"{i:08x}" for i in range(start, start + n)],
            "attrs": [json.dumps({"la": i}) for i in range(start, start + n)],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "vsmml.duckdb", chunk_rows=4)
    yield s
    s.close()


def test_write_then_read_round_trips_canonical_dtypes(store: Store) -> None:
    report = store.write_events(_events(10))
    assert (report.accepted, report.duplicates, report.quarantined) == (10, 0, 0)
    events = store.read_events()
    assert len(events) == 10
    assert events["ts"].dtype == TS_DTYPE
    assert events["kind"].dtype == KIND_DTYPE
    assert events["ts"].iloc[0] == pd.Timestamp("2026-03-01T09:00:00Z")
    assert events["received_at"].notna().all()
    assert events["attrs"].map(json.loads).iloc[3] == {"la": 3}


def test_reingesting_the_same_events_changes_nothing(store: Store) -> None:
    store.write_events(_events(10))
    before = store.read_events()
    again = store.write_events(_events(10))
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 10, 0)
    pd.testing.assert_frame_equal(store.read_events(), before)


def test_overlapping_batches_only_add_new_ids(store: Store) -> None:
    store.write_events(_events(6))
    report = store.write_events(_events(6, start=3))
    assert (report.accepted, report.duplicates) == (3, 3)
    assert store.counts()["events"] == 9


def test_same_id_different_content_keeps_first_and_quarantines_conflict(store: Store) -> None:
    store.write_events(_events(3))
    changed = _events(3)
    changed.loc[1, "sha"] = "different"
    report = store.write_events(changed)
    assert (report.accepted, report.duplicates, report.quarantined) == (0, 2, 1)
    assert store.read_events().set_index("event_id").loc["e1", "sha"] == "00000001"
    q = store.read_quarantine()
    assert q["location"].tolist() == ["event_id e1"]
    assert "conflicts with an event of the same id" in q["reason"].iloc[0]
    store.write_events(changed)  # the same conflict again: no second quarantine row
    assert len(store.read_quarantine()) == 1
    assert json.loads(q["record"].iloc[0])["sha"] == "different"


def test_conflicts_inside_one_batch(tmp_path: Path) -> None:
    batch = pd.concat([_events(3), _events(3)], ignore_index=True)
    batch.loc[4, "sha"] = "other"
    with Store(tmp_path / "one.duckdb") as store:
        report = store.write_events(batch)
        assert (report.accepted, report.duplicates, report.quarantined) == (3, 2, 1)
        q = store.read_quarantine()
        assert "conflicts with an event of the same id" in q["reason"].iloc[0]
        assert json.loads(q["record"].iloc[0])["sha"] == "other"
        assert store.read_events().set_index("event_id").loc["e1", "sha"] == "00000001"


def test_bad_records_are_quarantined_and_the_rest_of_the_batch_lands(store: Store) -> None:
    batch = _events(8)
    batch.loc[2, "kind"] = "bogus"
    batch.loc[5, "ts"] = "yesterday"
    batch.loc[6, "ts"] = "2026-03-01T10:00:00"
    report = store.write_events(batch)
    assert (report.accepted, report.quarantined) == (5, 3)
    q = store.read_quarantine()
    assert q["location"].tolist() == ["batch row 2", "batch row 5", "batch row 6"]
    assert q["field"].tolist() == ["kind", "ts", "ts"]
    assert "'yesterday'" in q["reason"].iloc[1]
    assert any("(git): 'ts' must be an ISO-8601" in m for m in report.messages)
    assert not any("event 5" in m for m in q["reason"])  # no batch position in a reason
    assert set(store.read_events()["event_id"]) == {"e0", "e1", "e3", "e4", "e7"}


def test_connector_rejects_go_to_quarantine_in_the_same_batch(store: Store) -> None:
    rejects = pd.DataFrame(
        {
            "source": ["github"],
            "location": ["push.json line 3"],
            "field": ["head_commit.timestamp"],
            "reason": ["missing"],
            "record": ['{"ref": "main"}'],
        }
    )
    report = store.write_events(_events(2), rejects=rejects)
    assert (report.accepted, report.quarantined) == (2, 1)
    assert store.read_quarantine(source="github")["location"].tolist() == ["push.json line 3"]
    with pytest.raises(StoreError, match="lack column"):
        store.quarantine(rejects.drop(columns=["record"]))


def test_quarantine_can_be_resolved(store: Store) -> None:
    batch = _events(2)
    batch.loc[0, "kind"] = "nope"
    store.write_events(batch)
    ids = store.read_quarantine()["quarantine_id"].tolist()
    assert store.resolve_quarantine(ids) == 1
    assert store.resolve_quarantine(ids) == 0
    assert store.resolve_quarantine([]) == 0
    assert store.read_quarantine().empty
    assert len(store.read_quarantine(include_resolved=True)) == 1
    assert store.counts()["quarantine"] == 0


def test_reads_filter_by_time_kind_service_and_source(store: Store) -> None:
    store.write_events(_events(4, service="pay"))
    deploys = _events(3, start=100, service="checkout").assign(kind="deploy.finished", env="prod")
    store.write_events(deploys)
    assert len(store.read_events(kinds=["deploy.finished"])) == 3
    assert len(store.read_events(services=["pay"])) == 4
    assert len(store.read_events(sources=["nope"])) == 0
    window = store.read_events(since="2026-03-01T09:01:00Z", until="2026-03-01T09:03:00+00:00")
    assert sorted(window["event_id"]) == ["e1", "e2"]
    assert store.read_events(kinds=["deploy.finished"])["env"].unique().tolist() == ["production"]
    with pytest.raises(StoreError, match="no UTC offset"):
        store.read_events(since="2026-03-01")


def test_raw_payloads_are_kept_in_order_once_each(store: Store) -> None:
    kept = store.write_raw("github", ['{"a": 1}', '{"b": 2}'], locations=["a.json", "b.json"])
    assert kept == 2
    raw = store.read_raw(source="github")
    assert raw["payload"].tolist() == ['{"a": 1}', '{"b": 2}']
    assert raw["payload_id"].is_monotonic_increasing
    assert store.write_raw("github", ['{"b": 2}', '{"a": 1}', '{"c": 3}']) == 1  # by content
    assert store.write_raw("gitlab", ['{"a": 1}']) == 1  # another source's payload
    assert store.write_raw("github", []) == 0
    with pytest.raises(StoreError, match="one to one"):
        store.write_raw("github", ["{}"], locations=[])
    assert store.counts()["raw_payloads"] == 4


# Two distinct canonical lines (synthetic SLO samples) whose DuckDB `hash` is the same.
_COLLIDING = (
    (Path(__file__).parents[1] / "data/fixtures/store/hash_collision.jsonl")
    .read_text()
    .splitlines()
)


def test_raw_payloads_with_one_hash_and_other_text_are_both_kept(store: Store) -> None:
    """The 64-bit hash only nominates repeats: equal text decides, in the batch and stored."""
    with duckdb.connect() as con:
        hashes = {con.execute("SELECT hash(?)", [t]).fetchall()[0][0] for t in _COLLIDING}
    assert len(hashes) == 1  # the premise: DuckDB's hash collides on these two texts
    assert store.write_raw("jsonl", _COLLIDING) == 2
    assert store.write_raw("jsonl", [_COLLIDING[1], _COLLIDING[0], _COLLIDING[1]]) == 0
    assert store.write_raw("jsonl", [_COLLIDING[0]]) == 0
    assert sorted(store.read_raw(source="jsonl")["payload"]) == sorted(_COLLIDING)


def test_summary_counts_by_kind_and_service(store: Store) -> None:
    store.write_events(_events(3))
    store.write_events(_events(2, start=10, service="search").assign(kind="incident.opened"))
    summary = store.summary()
    assert summary["by_kind"].set_index("kind")["events"].to_dict() == {
        "commit": 3,
        "incident.opened": 2,
    }
    by_service = summary["by_service"].set_index("service")
    assert by_service.loc["search", "incidents"] == 2
    assert summary["range"]["events"].iloc[0] == 5


def test_progress_callback_reports_rows_per_chunk(store: Store) -> None:
    seen: list[int] = []
    store.write_events(_events(10), on_chunk=seen.append)
    assert seen == [4, 8, 10]


def test_failed_batch_leaves_nothing_behind(store: Store) -> None:
    seen: list[int] = []

    def fail_after_first_chunk(rows: int) -> None:
        seen.append(rows)
        if rows >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.write_events(_events(10), on_chunk=fail_after_first_chunk)
    assert seen == [4]
    assert store.counts()["events"] == 0
    assert store.write_events(_events(10)).accepted == 10


_KILL_SCRIPT = """
import sys, pandas as pd
from vsmml.store import Store
n = 400_000
frame = pd.DataFrame({"event_id": [f"k{i}" for i in range(n)], "kind": "commit",
                      "ts": pd.Timestamp("2026-03-01", tz="UTC"), "source": "synth"})
store = Store(sys.argv[1], chunk_rows=50_000)
def progress(rows):
    print(rows, flush=True)
    if rows >= 100_000:
        sys.stdin.readline()   # wait here, mid-batch, until the test kills us
store.write_events(frame, on_chunk=progress)
"""


@pytest.mark.integration
def test_a_process_killed_mid_batch_leaves_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip() for _ in range(2)]
    assert lines == ["50000", "100000"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Store(path) as reopened:
        assert reopened.counts()["events"] == 0


def test_second_writer_gets_a_clear_lock_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    script = (
        "import sys; from vsmml.store import Store; s = Store(sys.argv[1]); "
        "print('open', flush=True); sys.stdin.readline()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreLockedError, match=f"in use by PID {holder.pid} ") as caught:
            Store(path, lock_timeout=0.2)
        assert "--server" not in str(caught.value) and "waited 0.2 s" in str(caught.value)
        with pytest.raises(StoreLockedError, match=f"PID {holder.pid}"):
            Store(path, read_only=True)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_read_only_store_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def test_from_settings_uses_vsmml_home(vsmml_home: Path) -> None:
    with Store.from_settings() as s:
        s.write_events(_events(1))
    assert (vsmml_home / "vsmml.duckdb").exists()
    assert get_settings().store_path == vsmml_home / "vsmml.duckdb"
    with Store.from_settings(read_only=True) as ro:
        assert ro.counts()["events"] == 1


def test_old_store_is_migrated_without_losing_events(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=1) == 1
    con.execute(
        "INSERT INTO quarantine (received_at, source, reason) VALUES (now()::TIMESTAMP, 'x', 'r')"
    )
    con.close()
    with Store(path) as s:
        assert current_version(s.connection) == SCHEMA_VERSION
        q = s.read_quarantine()
        assert q["reason"].tolist() == ["r"] and q["resolved_at"].isna().all()


def test_newer_store_than_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with Store(path) as s:
        s.connection.execute("INSERT INTO schema_version (version) VALUES (999)")
    with pytest.raises(StoreError, match="newer than this vsmml"):
        Store(path)


def test_raw_payload_ids_follow_the_input_across_batches_with_repeats(store: Store) -> None:
    first = [f'{{"n": {i}}}' for i in range(30_000)]
    assert store.write_raw("github", first) == 30_000
    second = [f'{{"n": {i}}}' for i in range(29_990, 40_000)] + ['{"n": 39999}', '{"n": 5}']
    assert store.write_raw("github", second) == 10_000  # repeats inside and across batches
    raw = store.read_raw(source="github")  # ordered by payload_id
    assert raw["payload"].tolist() == [f'{{"n": {i}}}' for i in range(40_000)]
    assert raw["payload_id"].is_unique and raw["payload_id"].is_monotonic_increasing
    store.write_events(_events(2), raw=raw_table("gitlab", ['{"x": 1}', '{"x": 2}']))
    later = store.read_raw(source="gitlab")["payload_id"]
    assert later.min() > raw["payload_id"].max() and later.is_monotonic_increasing


def test_bulk_load_commits_big_batches_straight_into_the_file(tmp_path: Path) -> None:
    from vsmml.store.health import wal_path

    path = tmp_path / "bulk.duckdb"
    big = [f'{{"n": {i}, "pad": "{"x" * 500}"}}' for i in range(2_000)]

    def setting(s: Store) -> str:
        return str(
            s.connection.execute("SELECT current_setting('checkpoint_threshold')").fetchall()
        )

    with Store(path) as s:
        default = setting(s)
        with s.bulk_load():
            assert s.write_raw("github", big) == 2_000
            wal = wal_path(path)
            assert not wal.exists() or wal.stat().st_size == 0  # no copy in the log
        assert setting(s) == default
        s.write_raw("github", ['{"small": 1}'])
        assert wal_path(path).stat().st_size > 0  # outside: small commits use the log
    with Store(path, read_only=True) as ro:
        assert ro.counts()["raw_payloads"] == 2_001


def test_bulk_load_keeps_freed_blocks_and_can_run_again(tmp_path: Path) -> None:
    """`block_allocator_memory` cannot be reset: leaving a bulk load (twice, on one
    connection) must not fail on it, and what was written stays readable."""

    def kept(s: Store) -> bool:
        rows = s.connection.execute("SELECT current_setting('block_allocator_memory')")
        return str(rows.fetchall()[0][0]) != "0 bytes"

    path = tmp_path / "bulk.duckdb"
    with Store(path) as s:
        assert not kept(s)
        for round_ in range(2):
            with s.bulk_load():
                assert kept(s)
                rows = [f'{{"round": {round_}, "n": {i}}}' for i in range(1_500)]
                assert s.write_raw("github", rows) == 1_500
        assert kept(s)  # left as set
        assert s.counts()["raw_payloads"] == 3_000
    with Store(path, read_only=True) as ro:
        assert ro.counts()["raw_payloads"] == 3_000


def test_raw_payload_repeats_are_found_by_text_among_colliding_hashes(store: Store) -> None:
    """Repeats of each colliding text, in the batch and stored, each kept once (pairwise)."""
    first, second = _COLLIDING
    assert store.write_raw("jsonl", [first, first, '{"other": 1}', first]) == 2
    batch = [second, first, second, '{"other": 1}', second, '{"new": 2}']
    assert store.write_raw("jsonl", batch) == 2  # `second` once, `{"new": 2}`
    raw = store.read_raw(source="jsonl")
    assert sorted(raw["payload"]) == sorted([first, second, '{"other": 1}', '{"new": 2}'])
    assert raw["payload_id"].is_monotonic_increasing
