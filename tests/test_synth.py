"""Tests of the synthetic organisation: determinism, canonical events, truth consistency."""

from __future__ import annotations

import pandas as pd
import pytest

from vsmml.events.schema import KIND_DTYPE, TS_DTYPE, validate_events
from vsmml.synth import SynthConfig, SynthOrg, generate


@pytest.fixture(scope="module")
def tiny() -> SynthOrg:
    return generate(SynthConfig.preset("tiny"))


def test_events_validate_with_zero_rejections(tiny: SynthOrg) -> None:
    result = validate_events(tiny.events)
    assert result.ok, result.messages()[:5]
    assert len(result.events) == len(tiny.events)


def test_events_unique_ids_sorted_and_canonical_dtypes(tiny: SynthOrg) -> None:
    ev = tiny.events
    assert ev["event_id"].is_unique
    assert ev["ts"].is_monotonic_increasing
    assert ev["ts"].dtype == TS_DTYPE
    assert ev["kind"].dtype == KIND_DTYPE
    assert (ev["source"] == "synth").all()
    assert ev["service"].notna().all() and ev["team"].notna().all() and ev["repo"].notna().all()


def test_same_seed_same_org_and_other_seed_differs(tiny: SynthOrg) -> None:
    again = generate(SynthConfig.preset("tiny"))
    pd.testing.assert_frame_equal(tiny.events, again.events)
    pd.testing.assert_frame_equal(tiny.truth.changes, again.truth.changes)
    other = generate(SynthConfig.preset("tiny", seed=7))
    assert not other.events["event_id"].equals(tiny.events["event_id"])


def test_events_stay_near_the_period(tiny: SynthOrg) -> None:
    cfg = tiny.config
    ts = tiny.events["ts"]
    assert ts.min() >= cfg.start - pd.Timedelta(days=30)
    assert ts.max() <= cfg.end + pd.Timedelta(days=14)
    slo = tiny.events[tiny.events["kind"] == "slo.sample"]["ts"]
    assert slo.min() > cfg.start and slo.max() == cfg.end
