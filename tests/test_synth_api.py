"""Public API of vsmml.synth: config and presets, chunked generation, the failure function."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConfigError, DataError
from vsmml.synth import (
    FAILURE_FEATURES,
    GroundTruth,
    SynthConfig,
    failure_probability,
    generate,
    iter_generate,
)


def test_presets() -> None:
    tiny = SynthConfig.preset("tiny")
    assert (tiny.n_services, tiny.n_teams, tiny.days) == (3, 2, 14)
    assert SynthConfig.preset("demo") == SynthConfig()
    assert SynthConfig.preset("year200").n_services == 200
    for name in ("year50", "year200"):
        cfg = SynthConfig.preset(name)
        assert cfg.days == 365
        assert cfg.end + pd.Timedelta(days=14) < pd.Timestamp("2026-11-25", tz="UTC")
    assert SynthConfig.preset("tiny", seed=9).seed == 9
    with pytest.raises(ConfigError, match="unknown preset"):
        SynthConfig.preset("huge")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_services": 0}, "n_services"),
        ({"n_teams": 5, "n_services": 3}, "n_teams"),
        ({"days": 3}, "days"),
        ({"batching_share": 1.5}, "batching_share"),
        ({"start": pd.Timestamp("2026-01-06", tz="UTC")}, "start"),
        ({"start": pd.Timestamp("2026-01-05")}, "start"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        SynthConfig(**kwargs)  # type: ignore[arg-type]


def test_chunked_generation_equals_whole() -> None:
    cfg = SynthConfig.preset("tiny")
    whole = generate(cfg)
    chunks = list(iter_generate(cfg, services_per_chunk=1))
    assert len(chunks) == cfg.n_services
    events = pd.concat([c.events for c in chunks], ignore_index=True)
    order = np.argsort(events["ts"].to_numpy(dtype="int64"), kind="stable")
    events = events.take(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(events, whole.events)
    union = GroundTruth.concat([c.truth for c in chunks])
    for f in fields(GroundTruth):
        pd.testing.assert_frame_equal(
            getattr(union, f.name).reset_index(drop=True),
            getattr(whole.truth, f.name).reset_index(drop=True),
            obj=f.name,
        )
    with pytest.raises(ConfigError, match="services_per_chunk"):
        next(iter_generate(cfg, services_per_chunk=0))


def test_failure_probability_is_logistic_and_monotone() -> None:
    base = {c: [1.0, 1.0] for c in FAILURE_FEATURES}
    base["la"] = [10.0, 2000.0]
    p = failure_probability(pd.DataFrame(base))
    assert ((p > 0) & (p < 1)).all()
    assert p[1] > p[0]
    more = dict(base, exp=[10.0, 10.0], la=[10.0, 10.0])
    less = dict(more, exp=[1000.0, 1000.0])
    assert failure_probability(pd.DataFrame(more))[0] > failure_probability(pd.DataFrame(less))[0]
    with pytest.raises(DataError, match="entropy"):
        failure_probability(pd.DataFrame({c: [1.0] for c in FAILURE_FEATURES if c != "entropy"}))


def test_truth_p_fail_is_the_documented_function() -> None:
    org = generate(SynthConfig.preset("tiny"))
    ch = org.truth.changes
    assert np.allclose(failure_probability(ch), ch["p_fail"], atol=1e-3)


def test_monorepo_and_service_without_changes() -> None:
    org = generate(SynthConfig.preset("tiny", monorepo=True))
    assert set(org.events["repo"].astype(str)) == {"monorepo"}
    empty = generate(SynthConfig(n_services=1, n_teams=1, days=7, changes_per_service_day=0.001))
    assert len(empty.truth.changes) == 0
    assert set(empty.events["kind"].astype(str)) == {"slo.sample"}
    assert empty.events["event_id"].is_unique


def test_services_and_dependencies_form_a_dag() -> None:
    org = generate(SynthConfig.preset("tiny", n_services=6, n_teams=3, days=7))
    services = org.truth.services
    assert len(services) == 6 and services["team"].nunique() == 3
    position = {s: i for i, s in enumerate(services["service"])}
    deps = org.truth.dependencies
    assert all(
        position[d] < position[s] for s, d in zip(deps["service"], deps["depends_on"], strict=True)
    )
