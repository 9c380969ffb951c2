"""The Parquet event lake: export (incremental), import, status, and readers that agree."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lake_org import CONFIG, ODD_SERVICES, Org, build_org
from vsmml.cli import app
from vsmml.errors import LakeError
from vsmml.pipeline.lake import export_lake, import_lake, lake_status, load_manifest, read_files
from vsmml.pipeline.lake.export import groups
from vsmml.pipeline.lake.manifest import EVENTS_DIR, lake_lock
from vsmml.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.integration]  # real DuckDB files and Parquet


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return build_org(tmp_path_factory.mktemp("lake") / "home")


def _stored(org: Org) -> pd.DataFrame:
    with Store.from_settings(org.settings, read_only=True) as store:
        return store.read_events()


def test_export_writes_service_month_partitions_that_every_reader_agrees_on(
    org: Org, tmp_path: Path
) -> None:
    import dask.dataframe as dd

    lake = tmp_path / "lake"
    report = export_lake(org.settings, path=lake)
    stored = _stored(org)
    assert (report.batch, report.new_rows, report.rows) == (1, len(stored), len(stored))
    manifest = load_manifest(lake)
    months = stored["ts"].dt.strftime("%Y-%m")
    expected = {
        (s if isinstance(s, str) else None, m)
        for s, m in zip(stored["service"], months, strict=True)
    }
    assert set(manifest.partitions()) == expected
    # the manifest's reader gives exactly what the store gives: columns, dtypes, order, values
    back = read_files(manifest.paths())
    pd.testing.assert_frame_equal(back, stored)
    # DuckDB over the folders and Dask over the dataset see the same rows and service names
    con = duckdb.connect()
    via_duckdb = con.sql(
        f"SELECT event_id, service FROM read_parquet('{lake}/{EVENTS_DIR}/**/*.parquet')"
    ).df()
    via_dask = dd.read_parquet(lake / EVENTS_DIR).compute()
    for seen in (via_duckdb, via_dask):
        got = dict(zip(seen["event_id"], seen["service"], strict=True))
        assert len(got) == len(stored)
        for name in ODD_SERVICES:
            ids = stored.loc[stored["service"] == name, "event_id"]
            assert len(ids) and all(got[i] == name for i in ids)
        bare = stored.loc[stored["service"].isna(), "event_id"]
        assert len(bare) and all(pd.isna(got[i]) for i in bare)


def test_export_in_many_small_copies_writes_the_same_lake_as_one(org: Org, tmp_path: Path) -> None:
    # one COPY per partition (odd service names, the null service) and the default grouping
    # must give the same partitions, counts, fingerprints and rows
    one = export_lake(org.settings, path=tmp_path / "one", rows_per_copy=10**9)
    each = export_lake(org.settings, path=tmp_path / "each", rows_per_copy=1)
    assert one.rows == each.rows and one.partitions == each.partitions == each.files
    a, b = load_manifest(tmp_path / "one"), load_manifest(tmp_path / "each")
    assert a.partitions() == b.partitions()
    pd.testing.assert_frame_equal(read_files(a.paths()), read_files(b.paths()))


def test_groups_cut_partitions_by_store_rows_keeping_order() -> None:
    keys = [("a", "2026-01"), ("a", "2026-02"), ("b", "2026-01"), (None, "2026-01")]
    sizes = {keys[0]: (3, 0), keys[1]: (9, 0), keys[2]: (2, 0), keys[3]: (1, 0)}
    assert groups(keys, sizes, 5) == [[keys[0]], [keys[1]], [keys[2], keys[3]]]
    assert groups(keys, sizes, 100) == [keys]
    assert groups([], sizes, 5) == []


def test_export_adds_only_new_events_to_the_partitions_they_belong_to(
    tmp_path: Path,
) -> None:
    org = build_org(tmp_path / "home")
    lake = org.settings.lake_path
    first = export_lake(org.settings)
    files_before = {f.path: f for f in load_manifest(lake).files}
    again = export_lake(org.settings)
    assert again.up_to_date and again.batch is None
    late = CONFIG.end - pd.Timedelta(days=2)  # the last month, an existing partition
    new = pd.DataFrame(
        {
            "event_id": ["new-1", "new-2", "new-3"],
            "kind": ["commit", "commit", "commit"],
            "ts": [late.isoformat(), late.isoformat(), "2026-01-05T00:00:00Z"],
            "source": "test",
            "service": ["late", "brand-new", "late"],
            "sha": ["n1", "n2", "n3"],
        }
    )
    with Store.from_settings(org.settings) as store:
        assert store.write_events(new).accepted == 3
    second = export_lake(org.settings)
    assert (second.batch, second.new_rows, second.rewritten) == (2, 3, 0)
    assert second.appended == 3  # late's last month, late's first month, brand-new's month
    manifest = load_manifest(lake)
    assert manifest.rows == first.rows + 3
    fresh = [f for f in manifest.files if f.batch == 2]
    assert sum(f.rows for f in fresh) == 3
    # files of the first export are untouched, byte for byte where they were
    for f in manifest.files:
        if f.batch == 1:
            assert files_before[f.path] == f
    assert {f.key for f in fresh} == {
        ("late", late.strftime("%Y-%m")),
        ("brand-new", late.strftime("%Y-%m")),
        ("late", "2026-01"),
    }
    status = lake_status(org.settings)
    assert status.in_sync and status.batches == 2 and status.stray_files == 0


def test_a_lake_ahead_of_its_store_is_rewritten_to_match_and_strays_removed(
    org: Org, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    export_lake(org.settings, path=lake)
    # a smaller store (one service fewer) exporting to the same lake: its partitions must go
    small = replace(org.settings, home=tmp_path / "small")
    stored = _stored(org)
    kept = stored.loc[stored["service"] != org.deploy_service]
    dropped_service_partitions = {
        k for k in load_manifest(lake).partitions() if k[0] == org.deploy_service
    }
    # a stray file left by an interrupted export
    stray = lake / EVENTS_DIR / "service=zzz" / "month=2026-01" / "part-999999-x.parquet"
    stray.parent.mkdir(parents=True)
    duckdb.connect().sql(f"COPY (SELECT 1 AS a) TO '{stray}' (FORMAT parquet)")
    # one existing partition loses an event, too
    victim = kept.loc[kept["service"] == org.incident_service].iloc[0]["event_id"]
    kept = kept.loc[kept["event_id"] != victim]
    with Store.from_settings(small) as store:
        store.write_events(kept)
    report = export_lake(small, path=lake)
    assert report.dropped == len(dropped_service_partitions)
    assert report.rewritten == 1 and report.new_rows == 0
    assert report.removed_files >= len(dropped_service_partitions) + 2  # + stray + replaced
    assert not stray.exists()
    manifest = load_manifest(lake)
    back = read_files(manifest.paths())
    assert sorted(back["event_id"]) == sorted(kept["event_id"])
    assert export_lake(small, path=lake).up_to_date


def test_full_export_rebuilds_and_a_held_lock_refuses_a_second_writer(
    org: Org, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    export_lake(org.settings, path=lake)
    rebuilt = export_lake(org.settings, path=lake, full=True)
    assert rebuilt.full and rebuilt.batch == 1 and rebuilt.new_rows == rebuilt.rows
    with lake_lock(lake), pytest.raises(LakeError, match="another export"):
        export_lake(org.settings, path=lake)


def test_a_damaged_or_foreign_manifest_is_one_clear_error(org: Org, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "_vsmml_lake.json").write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(LakeError, match="not a vsmml-lake/1 lake"):
        export_lake(org.settings, path=lake)
    (lake / "_vsmml_lake.json").write_text("{not json")
    with pytest.raises(LakeError, match="unreadable lake manifest"):
        load_manifest(lake)


def test_import_lands_every_event_once_and_quarantines_bad_rows(org: Org, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    export_lake(org.settings, path=lake)
    target = replace(org.settings, home=tmp_path / "other")
    first = import_lake(lake, target)
    n = len(_stored(org))
    assert (first.read, first.accepted, first.duplicates, first.quarantined) == (n, n, 0, 0)
    second = import_lake(lake, target)
    assert (second.accepted, second.duplicates) == (0, n)
    with Store.from_settings(target, read_only=True) as store:
        pd.testing.assert_frame_equal(store.read_events(), _stored(org))
    # a plain folder of Parquet files (no manifest) with one good and one bad row
    plain = tmp_path / "plain"
    plain.mkdir()
    duckdb.connect().sql(
        f"""COPY (SELECT * FROM (VALUES ('p1', 'commit', TIMESTAMPTZ '2026-02-01 00:00:00+00',
            'ci', 'abc'), ('p2', 'deploy.completed', TIMESTAMPTZ '2026-02-01 00:00:00+00', 'ci',
            NULL)) v(event_id, kind, ts, source, sha)) TO '{plain}/x.parquet' (FORMAT parquet)"""
    )
    third = import_lake(plain, target)
    assert (third.read, third.accepted, third.quarantined) == (2, 1, 1)
    assert any("kind" in m for m in third.messages)


def test_lake_commands_print_one_summary_and_fail_in_one_line(
    org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vsmml.config import get_settings

    monkeypatch.setenv("VSMML_HOME", str(org.settings.home))
    monkeypatch.setenv("VSMML_LAKE", str(tmp_path / "lake"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(app, ["lake", "export"])
        assert out.exit_code == 0 and "batch 1" in out.stdout
        out = runner.invoke(app, ["lake", "status"])
        assert out.exit_code == 0 and "the lake matches the store" in out.stdout
        assert "a/b c" in out.stdout
        out = runner.invoke(app, ["lake", "import", str(tmp_path / "missing")])
        assert out.exit_code == 2
        assert out.stderr.strip().count("\n") == 0 and "no such lake" in out.stderr
    finally:
        os.environ.pop("VSMML_LAKE", None)
        get_settings.cache_clear()


def test_memory_sizes_read_with_duckdb_units_and_the_export_pool_is_a_share_of_the_limit(
    org: Org, tmp_path: Path
) -> None:
    from vsmml.config import memory_bytes
    from vsmml.pipeline.lake.export import POOL_SHARE

    assert memory_bytes("2GB") == 2 * 10**9 and memory_bytes("512MiB") == 512 * 2**20
    assert memory_bytes(" 1.5 gb ") == 1_500_000_000
    with pytest.raises(ValueError, match="512MB or 2GB"):
        memory_bytes("lots")
    assert 0 < POOL_SHARE < 1
    # the export still works with a small configured limit
    small = replace(org.settings, duckdb_memory_limit="256MB")
    report = export_lake(small, path=tmp_path / "lake")
    assert report.rows == len(_stored(org))
