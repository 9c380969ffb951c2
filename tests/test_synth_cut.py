"""The generator's wait-cut knob (`SynthConfig.wait_cuts`): it cuts exactly what it names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConfigError
from vsmml.synth import SynthConfig, generate
from vsmml.synth.config import WaitCut

BASE = SynthConfig(n_services=3, n_teams=2, days=42, seed=11)
FROM_WEEK = 3


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    base = generate(BASE)
    name = base.truth.services["service"].iloc[0]
    cuts = (
        WaitCut("review", 0.4, FROM_WEEK, (name,)),
        WaitCut("integration-tests", 0.5, FROM_WEEK, (name,)),
    )
    return base, generate(dataclasses.replace(BASE, wait_cuts=cuts)), name


def test_wait_cut_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ConfigError, match=r"WaitCut\.stage"):
        WaitCut("coding", 0.5)
    with pytest.raises(ConfigError, match=r"WaitCut\.factor"):
        WaitCut("review", -0.1)
    with pytest.raises(ConfigError, match=r"WaitCut\.from_week"):
        WaitCut("review", 0.5, from_week=-1)
    with pytest.raises(ConfigError, match=r"WaitCut\.from_week"):
        WaitCut("review", 0.5, from_week=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="one string"):
        WaitCut("review", 0.5, services="checkout")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="wait_cuts"):
        SynthConfig(wait_cuts=("review",))  # type: ignore[arg-type]
    assert WaitCut("review", 0.5).applies_to("anything")


def test_the_cut_scales_the_named_waits_from_the_week_on_and_nothing_before(pair) -> None:  # type: ignore[no-untyped-def]
    base, cut, name = pair
    b = base.truth.changes.set_index("change_id")
    c = cut.truth.changes.set_index("change_id")
    assert b.index.equals(c.index)
    start = BASE.start + pd.Timedelta(weeks=FROM_WEEK)
    mine = (b["service"] == name).to_numpy()
    late = mine & (b["week_start"] >= start).to_numpy()
    early = mine & ~late
    for stage, factor in (("review", 0.4), ("integration-tests", 0.5)):
        col = f"wait_{stage}_s"
        np.testing.assert_allclose(
            c.loc[late, col], factor * b.loc[late, col], rtol=1e-6, atol=2e-6
        )
        np.testing.assert_allclose(c.loc[early, col], b.loc[early, col])
    for stage in ("build", "unit-tests", "security-scan", "package", "staging"):
        np.testing.assert_allclose(
            c.loc[mine, f"wait_{stage}_s"], b.loc[mine, f"wait_{stage}_s"], atol=2e-6
        )
    assert (
        c.loc[late, "production_deployed_at"] <= b.loc[late, "production_deployed_at"]
    ).mean() > 0.9
    planted = cut.truth.stage_wait_shares
    old = base.truth.stage_wait_shares
    rows = (
        (planted["service"] == name)
        & (planted["stage"] == "review")
        & (planted["week_start"] >= start)
    )
    np.testing.assert_allclose(
        planted.loc[rows, "planted_mean_wait_h"], 0.4 * old.loc[rows, "planted_mean_wait_h"]
    )


def test_other_services_and_the_events_before_the_cut_are_untouched(pair) -> None:  # type: ignore[no-untyped-def]
    base, cut, name = pair
    others = base.truth.changes["service"] != name
    pd.testing.assert_frame_equal(
        base.truth.changes.loc[others].reset_index(drop=True),
        cut.truth.changes.loc[cut.truth.changes["service"] != name].reset_index(drop=True),
    )
    t = BASE.start + pd.Timedelta(weeks=FROM_WEEK)
    first_late = base.truth.changes.loc[
        (base.truth.changes["service"] == name) & (base.truth.changes["week_start"] >= t),
        "opened_at",
    ].min()
    e0 = base.events.loc[base.events["ts"] < first_late].reset_index(drop=True)
    e1 = cut.events.loc[cut.events["ts"] < first_late].reset_index(drop=True)
    pd.testing.assert_frame_equal(e0, e1)
