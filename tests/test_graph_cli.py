"""`vsmml bottlenecks` and `vsmml whatif` over a temporary store holding the tiny synthetic org."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from vsmml.cli import app

pytestmark = pytest.mark.slow  # each command reads the store and correlates (~1 s)


@pytest.fixture(scope="module")
def store_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from vsmml.config import get_settings
    from vsmml.store import Store
    from vsmml.synth import SynthConfig, generate

    home = tmp_path_factory.mktemp("graph_cli")
    mp = pytest.MonkeyPatch()
    mp.setenv("VSMML_HOME", str(home))
    get_settings.cache_clear()
    with Store.from_settings() as s:
        s.write_events(generate(SynthConfig.preset("tiny")).events)
    yield home
    mp.undo()
    get_settings.cache_clear()


def test_bottlenecks_table_and_week_json(store_home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["bottlenecks"])
    assert res.exit_code == 0, res.output
    assert "constraint" in res.stdout and "checkout" in res.stdout
    res = runner.invoke(app, ["bottlenecks", "--by", "week", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {"service", "week_start", "constraint", "wait_share"} <= set(rows[0])
    assert len({(r["service"], r["week_start"]) for r in rows}) == len(rows)
    res = runner.invoke(app, ["bottlenecks", "--by", "org", "--format", "csv"])
    assert res.stdout.splitlines()[0].startswith("constraint,wait_share")


def test_bottlenecks_one_service_with_exports(store_home: Path, tmp_path: Path) -> None:
    out, png = tmp_path / "vs.graphml", tmp_path / "vs.png"
    res = CliRunner().invoke(
        app,
        [
            "bottlenecks",
            "--service",
            "checkout",
            "--by",
            "week",
            "--export",
            str(out),
            "--figure",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "payments" not in res.stdout
    g = nx.read_graphml(out)
    assert g.has_edge("coding", "review")
    assert png.read_bytes()[:4] == b"\x89PNG"
    js = tmp_path / "vs.json"
    CliRunner().invoke(app, ["bottlenecks", "--export", str(js), "--by", "team"])
    assert json.loads(js.read_text())["name"] == "organisation"


def test_whatif_table_json_and_errors(store_home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["whatif", "review wait -30%", "--service", "checkout"])
    assert res.exit_code == 0, res.output
    assert "median lead" in res.stdout and "interval" in res.stdout
    res = runner.invoke(app, ["whatif", "integration tests in parallel", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["delta_h"] < 0 and data["delta_pct_low"] <= data["delta_pct_high"]
    bad = runner.invoke(app, ["whatif", "make it faster"])
    assert bad.exit_code == 2 and "cannot read" in bad.output
    bad = runner.invoke(app, ["bottlenecks", "--service", "nope"])
    assert bad.exit_code == 2 and "services:" in bad.output


def test_empty_store_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vsmml.config import get_settings
    from vsmml.store import Store

    monkeypatch.setenv("VSMML_HOME", str(tmp_path))
    get_settings.cache_clear()
    Store.from_settings().close()
    res = CliRunner().invoke(app, ["bottlenecks"])
    get_settings.cache_clear()
    assert res.exit_code == 2 and "vsmml demo" in res.output
