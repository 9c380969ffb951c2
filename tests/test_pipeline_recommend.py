"""`vsmml recommend` on a real store: the use case, the thin command and waivers read back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError, VsmmlError
from vsmml.pipeline.recommend import RecommendRequest, recommendations
from vsmml.store import Store
from vsmml.synth import SynthConfig, SynthOrg, generate


@pytest.fixture(scope="module")
def org() -> SynthOrg:
    return generate(SynthConfig(n_services=4, n_teams=2, days=56, seed=9))


@pytest.fixture(scope="module")
def home(org: SynthOrg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the organisation plus three waived gates in one service (two failed)."""
    folder = tmp_path_factory.mktemp("rec-home")
    ch = org.truth.changes
    service = str(ch["service"].iloc[0])
    start = org.config.start
    mid = (ch["merged_at"] >= start + pd.Timedelta(weeks=3)) & (
        ch["merged_at"] < start + pd.Timedelta(weeks=5)
    )
    late = ch.loc[(ch["service"] == service) & ch["production_started_at"].notna() & mid]
    picks = pd.concat([late.loc[late["failed"]].tail(2), late.loc[~late["failed"]].tail(1)])
    rows = [
        {"event_id": f"vsmml:gate.waived:t{i}", "kind": "gate.waived",
         "ts": r["merged_at"] + pd.Timedelta(minutes=5), "source": "vsmml", "service": service,
         "sha": r["sha"], "change_id": None, "status": "success",
         "attrs": json.dumps({"actor": "ana", "reason": "hotfix", "probability": 0.7})}
        for i, (_, r) in enumerate(picks.iterrows())
    ]  # fmt: skip
    with Store.from_settings(Settings(home=folder)) as store:
        store.write_events(org.events)
        store.write_events(pd.DataFrame(rows))
    return folder


def test_the_use_case_ranks_records_with_evidence_from_the_store(home: Path, org: SynthOrg) -> None:
    res = recommendations(RecommendRequest(), Settings(home=home))
    assert len(res) > 0 and res.skipped.get("quarantine") is None
    assert [r.rank for r in res.recommendations] == list(range(1, len(res) + 1))
    known = set(org.events["event_id"]) | {f"vsmml:gate.waived:t{i}" for i in range(3)}
    for r in res.recommendations:
        assert all(set(e.event_ids) <= known for e in r.evidence)
    flow = [r for r in res.recommendations if r.category == "flow"]
    assert flow and all(r.target.stage for r in flow)


def test_waivers_show_with_their_outcomes(home: Path, org: SynthOrg) -> None:
    service = str(org.truth.changes["service"].iloc[0])
    waived = [
        r
        for r in recommendations(
            RecommendRequest(service=service, weeks=8), Settings(home=home)
        ).recommendations
        if r.action == "review_gate_waivers"
    ]
    [rec] = waived
    assert (
        rec.finding.startswith(f"3 waived gates in {service}") and "2 of them failed" in rec.finding
    )
    assert set(rec.evidence[0].event_ids) == {f"vsmml:gate.waived:t{i}" for i in range(3)}


def test_bad_filters_are_errors(home: Path) -> None:
    s = Settings(home=home)
    with pytest.raises(DataError, match="--service: 'nope' is not in the store"):
        recommendations(RecommendRequest(service="nope"), s)
    with pytest.raises(DataError, match="not both"):
        recommendations(RecommendRequest(service="a", team="b"), s)
    with pytest.raises(DataError, match="offset"):
        recommendations(RecommendRequest(until="2026-02-01"), s)
    with pytest.raises(VsmmlError, match="no store at"):
        recommendations(RecommendRequest(), Settings(home=home / "empty"))


def test_the_command_prints_table_json_and_markdown(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vsmml.cli import app

    monkeypatch.setenv("VSMML_HOME", str(home))
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke
        table = run(app, ["recommend", "--top", "3"])
        assert table.exit_code == 0 and table.output.startswith("recommendations for ")
        doc = json.loads(run(app, ["recommend", "--format", "json", "--category", "flow"]).output)
        assert doc and {d["category"] for d in doc} == {"flow"}
        assert {"rank", "target", "evidence", "expected_effect", "confidence", "why"} <= set(doc[0])
        md = run(app, ["recommend", "--format", "markdown", "--top", "2"])
        assert md.exit_code == 0 and "### 1. " in md.output and "**Evidence:**" in md.output
        bad = run(app, ["recommend", "--service", "nope"])
        assert bad.exit_code == 2 and "is not in the store" in bad.output
    finally:
        get_settings.cache_clear()
