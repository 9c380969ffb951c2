"""An organisation in flux (`SynthConfig.bottleneck_move_every_weeks`): the default organisation
is unchanged, moves come about every N weeks, and plan, truth, events and the constraint rule
stay consistent however often the bottleneck moves."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConfigError
from vsmml.features import dominant_stages, stage_waits
from vsmml.graph import constraint_accuracy, constraints, flow_data
from vsmml.synth import WAIT_STAGES, SynthConfig, SynthOrg, generate, iter_generate
from vsmml.synth.org import MIN_MOVE_GAP, flux_move_weeks, plan_org, ramp_stage, weekly_plan

pytestmark = pytest.mark.slow  # year-long organisations in flux

FLUX = SynthConfig(
    n_services=6, n_teams=2, days=140, moving_bottleneck_share=1.0, seed=3,
    bottleneck_move_every_weeks=5,
)  # fmt: skip


def _hash(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()[:16]


@pytest.fixture(scope="module")
def flux() -> SynthOrg:
    return generate(FLUX)


def test_default_organisation_is_byte_identical_to_before_the_knob() -> None:
    # Recorded on commit 15bc080, before the knob existed. If the default organisation is changed
    # on purpose, re-record these (and say so in the commit): every bench number depends on them.
    org = generate(SynthConfig.preset("tiny"))
    assert _hash(org.events) == "d5a5dcbee8c3379a", "the default organisation's events changed"
    assert _hash(org.truth.changes) == "38f70d117b29809e"
    assert _hash(org.truth.bottlenecks) == "1dbcfb947dcb35fb"
    moving = SynthConfig(n_services=4, n_teams=2, days=70, moving_bottleneck_share=1.0, seed=3)
    assert _hash(generate(moving).truth.stage_wait_shares) == "75bc4e6c7240ba56"
    expected = {42: "cec61ea67086828e", 5: "164bf9fc8a1ae01a", 7: "a49a029460d263ec"}
    for seed, digest in expected.items():
        plan = plan_org(SynthConfig.preset("year50", seed=seed))
        text = repr([(s.depends_on, s.train_hours, s.regimes) for s in plan.services])
        assert hashlib.sha256(text.encode()).hexdigest()[:16] == digest, seed


def test_flux_changes_only_the_bottleneck_plan() -> None:
    base = plan_org(SynthConfig.preset("year50", seed=5))
    fl = plan_org(SynthConfig.preset("year50", seed=5, bottleneck_move_every_weeks=8))
    for a, b in zip(base.services, fl.services, strict=True):
        assert (a.depends_on, a.train_hours, a.batches_deploys) == (
            b.depends_on,
            b.train_hours,
            b.batches_deploys,
        )
        assert (len(a.regimes) > 1) == (len(b.regimes) > 1)  # the same services move
        if len(a.regimes) == 1:
            assert a.regimes == b.regimes  # and the others keep their plan
    n_moves = [len(s.regimes) - 1 for s in fl.services if len(s.regimes) > 1]
    assert 5 <= float(np.mean(n_moves)) <= 7  # 52 weeks / 8, first move in weeks 2-8
    assert sum(n_moves) > 3 * sum(len(s.regimes) - 1 for s in base.services)


@pytest.mark.parametrize("value", [3, 0, -8, 6.5, True, "8"])
def test_bad_move_rate_names_the_field(value: object) -> None:
    with pytest.raises(ConfigError, match="bottleneck_move_every_weeks"):
        SynthConfig(bottleneck_move_every_weeks=value)  # type: ignore[arg-type]


def test_move_rate_accepts_numpy_integers() -> None:
    cfg = SynthConfig(bottleneck_move_every_weeks=np.int64(6))  # type: ignore[arg-type]
    assert cfg.bottleneck_move_every_weeks == 6
    assert type(cfg.bottleneck_move_every_weeks) is int
    assert SynthConfig.preset("tiny").bottleneck_move_every_weeks is None


@pytest.mark.parametrize("every", [4, 6, 8, 12])
def test_flux_move_weeks_are_spaced_about_every_n_weeks(every: int) -> None:
    gaps, firsts = [], []
    for seed in range(40):
        weeks = flux_move_weeks(np.random.default_rng(seed), 53, every)
        assert weeks == sorted(weeks) and weeks[-1] < 52
        firsts.append(weeks[0])
        gaps += np.diff(weeks).tolist()
    spread = every // 3
    assert min(firsts) >= 2 and max(firsts) <= every
    assert min(gaps) >= max(every - spread, MIN_MOVE_GAP)
    assert max(gaps) <= every + spread
    assert abs(float(np.mean(gaps)) - every) < 1.0
    assert flux_move_weeks(np.random.default_rng(0), 3, every) == []


def test_flux_truth_follows_the_plan_every_week(flux: SynthOrg) -> None:
    plan = plan_org(FLUX)
    b = flux.truth.bottlenecks
    assert (b["stage"] == b["planted_stage"]).all()
    assert (b["lead"] > 0).all() and (b["lead"] <= 0.30).all()
    n_moves = 0
    for svc in plan.services:
        rows = b[b["service"] == svc.name].sort_values("week_start")
        week = ((rows["week_start"] - FLUX.start) // pd.Timedelta(weeks=1)).to_numpy()
        for j, r in enumerate(svc.regimes):
            assert (rows["regime"].to_numpy()[week >= r.week] >= j).all()
            assert (rows["planted_stage"].to_numpy()[week == r.week] == r.stage).all()
        for prev, r in itertools.pairwise(svc.regimes):
            assert r.stage != prev.stage
            assert 1 <= r.ramp_weeks <= 3
            assert r.week - prev.week >= (MIN_MOVE_GAP if prev.week else 2)
            assert r.week - r.ramp_weeks > prev.week  # a ramp never overlaps the previous move
            n_moves += 1
        ramping = ramp_stage(svc, plan.n_weeks)
        assert (ramping >= 0).sum() == sum(r.ramp_weeks for r in svc.regimes)
        _, target = weekly_plan(FLUX.seed, svc, plan.n_weeks)
        stage = np.zeros(plan.n_weeks, dtype=int)
        for r in svc.regimes:
            stage[r.week :] = WAIT_STAGES.index(r.stage)
        assert (np.argmax(target, axis=1) == stage).all()
    assert n_moves >= 6 * 20 // 5 - 6  # about every 5 weeks over 20 weeks, 6 services


def test_flux_ramps_build_up_and_overtake(flux: SynthOrg) -> None:
    plan = plan_org(FLUX)
    shares = flux.truth.stage_wait_shares
    for svc in plan.services:
        wide = shares[shares["service"] == svc.name].pivot(
            index="week_start", columns="stage", values="wait_share"
        )
        wide = wide.reset_index(drop=True)
        for prev, r in itertools.pairwise(svc.regimes):
            if r.week >= len(wide):
                continue
            last = r.week - 1
            assert wide[r.stage][last] < wide[prev.stage][last]  # still behind in the ramp
            assert wide[r.stage][r.week] > wide[prev.stage][r.week]  # leads from the move on


def test_flux_labels_from_events_match_the_truth(flux: SynthOrg) -> None:
    labels = dominant_stages(stage_waits(flux.events), stages=list(WAIT_STAGES))
    b = flux.truth.bottlenecks.rename(columns={"week_start": "period_start", "stage": "truth"})
    both = labels.merge(b, on=["service", "period_start"])
    assert len(both) == len(b)
    assert (both["stage"] == both["truth"]).mean() >= 0.99


def test_flux_chunks_equal_whole() -> None:
    cfg = SynthConfig.preset(
        "tiny", days=70, moving_bottleneck_share=1.0, bottleneck_move_every_weeks=4
    )
    whole = generate(cfg)
    parts = [c.truth.bottlenecks for c in iter_generate(cfg, services_per_chunk=1)]
    union = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(union, whole.truth.bottlenecks.reset_index(drop=True))
    assert whole.truth.bottlenecks["regime"].max() >= 2


def test_constraint_rule_follows_a_bottleneck_in_flux() -> None:
    from vsmml.correlate import correlate

    org = generate(SynthConfig.preset("demo", days=84, bottleneck_move_every_weeks=4))
    flow = flow_data(correlate(org.events).changes, org.events)
    acc = constraint_accuracy(constraints(flow, by="service", freq="W"), org.truth.bottlenecks)
    assert len(acc) >= 100 and org.truth.bottlenecks["regime"].max() >= 2
    assert float(acc["hit"].mean()) >= 0.95, acc["hit"].mean()
