"""What people read: the compact DORA table fits 100 columns, events without a service form the
group "(unattributed)", and bottlenecks says which events it lacks."""

from __future__ import annotations

from metrics_events import deploy, ev, frame, pr
from vsmml.correlate import correlate
from vsmml.metrics.bands import dora_summary
from vsmml.metrics.display import BAND_LEGEND, dora_summary_table
from vsmml.metrics.dora import deployment_frequency
from vsmml.metrics.frames import UNATTRIBUTED
from vsmml.metrics.stages import missing_stages, stage_data_note


def _events() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(12):
        rows += [ev("commit", 24 * i, sha=f"t{i}"), *deploy(f"d{i}", f"t{i}", 24 * i + 2)]
    rows += pr("c1", "m1", 0, 5, service="payments-gateway-eu-west")
    rows += deploy("p1", "m1", 6, service="payments-gateway-eu-west")
    rows += [ev("commit", 3, sha="x1", service=None), *deploy("x", "x1", 4, service=None)]
    return rows


def test_the_compact_table_fits_100_columns_and_wide_has_everything() -> None:
    summary = dora_summary(correlate(frame(_events())), "service")
    compact = dora_summary_table(summary)
    text = compact.to_string(index=False)
    assert max(len(line) for line in text.split("\n")) <= 100, text
    assert list(compact.columns) == [
        "service", "deploys", "per day", "lead h", "CFR", "restore h", "recovery h", "rework",
        "bands 2023",
    ]  # fmt: skip
    api = compact.set_index("service").loc["api"]
    assert api["deploys"] == 12
    assert api["bands 2023"] == "E E ? -"  # no failure signal: the rate has no band
    assert compact.set_index("service").loc["payments-gateway-eu-west", "bands 2023"][0] == "?"
    assert UNATTRIBUTED in set(compact["service"])
    wide = dora_summary_table(summary, wide=True)
    assert set(summary.columns) == set(wide.columns)
    assert max(len(line) for line in wide.to_string(index=False).split("\n")) > 100
    assert "insufficient data" in BAND_LEGEND and "--wide" in BAND_LEGEND
    assert max(len(line) for line in BAND_LEGEND.split("\n")) <= 100


def test_events_without_a_service_are_a_group_not_a_blank() -> None:
    corr = correlate(frame(_events()))
    counts = deployment_frequency(corr, "service", None)
    deployed = counts.loc[counts["metric"] == "deployments"].set_index("service")["value"]
    assert deployed[UNATTRIBUTED] == 1.0
    assert "" not in set(counts["service"])


def test_bottlenecks_says_which_events_it_needs() -> None:
    git_only = correlate(frame([ev("commit", 0, sha="a"), *deploy("r1", "a", 5)]))
    assert missing_stages(git_only) == [
        "coding", "pickup", "review", "build", "staging", "production",
    ]  # fmt: skip
    note = stage_data_note(git_only)
    assert note is not None and note.startswith("no stage times")
    assert "change.opened" in note and "pipeline.finished" in note
    with_prs = correlate(frame(pr("c1", "m1", 0, 5) + deploy("d1", "m1", 6)))
    partial = stage_data_note(with_prs)
    assert partial is not None and partial.startswith("no times for build, staging")
