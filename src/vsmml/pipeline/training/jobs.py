"""`vsmml train risk|burn|bottleneck|all`: which data each model trains on, then its job.

risk trains on the synthetic organisation, a JIT dataset file or the changes in the store; burn
and bottleneck train on the synthetic organisation. A model whose data is unusable fails alone:
the others still train, and the outcome says what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import ConfigError, VsmmlError
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.tracking import TrackResult

MODELS: Final[tuple[str, ...]] = ("risk", "burn", "bottleneck")
SYNTHETIC_ONLY: Final[tuple[str, ...]] = ("burn", "bottleneck")


@dataclass(frozen=True)
class TrainRequest:
    """Which model(s) (`MODELS` or ``all``), and the data: a JIT file and its format, the
    store's changes, or a synthetic organisation (seed, days)."""

    model: str
    data: Path | None = None
    fmt: str = "issta21"
    store: bool = False
    seed: int | None = None
    days: int | None = None
    engine: str = "local"
    """``local``, or ``dask``: risk trains on the store's changes through the lake on a Dask
    cluster (`vsmml.pipeline.distributed.training`); burn and bottleneck train here anyway."""
    scheduler: str | None = None


@dataclass(frozen=True)
class TrainOutcome:
    """One model's training: the registry's answer and the evaluation table, or the error."""

    name: str
    result: TrackResult | None = None
    table: pd.DataFrame | None = None
    error: str | None = None


Announce = Callable[[str], None]


def check_request(request: TrainRequest) -> list[str]:
    """The model names to train; `ConfigError` when the options cannot go together."""
    if request.model not in (*MODELS, "all"):
        raise ConfigError(f"train: model must be one of {[*MODELS, 'all']}, got {request.model!r}")
    if (request.data is not None or request.store) and request.model in SYNTHETIC_ONLY:
        flag = "--data" if request.data is not None else "--store"
        raise ConfigError(
            f"train: {flag} trains risk only; {request.model} trains on the synthetic org"
        )
    if request.data is not None and request.store:
        raise ConfigError("train: give --data or --store, not both")
    if request.engine not in ("local", "dask"):
        raise ConfigError(f"train: engine must be local or dask, got {request.engine!r}")
    if request.engine == "dask" and request.data is not None:
        raise ConfigError(
            "train: --engine dask trains risk on the store's changes (through the lake); "
            "--data files train locally"
        )
    if request.scheduler is not None and request.engine != "dask":
        raise ConfigError("--scheduler: only with --engine dask")
    return list(MODELS) if request.model == "all" else [request.model]


def train_models(
    request: TrainRequest, *, settings: Settings | None = None, announce: Announce | None = None
) -> list[TrainOutcome]:
    """Train every requested model in turn; `announce` hears what each trains on first."""
    s = settings or get_settings()
    say = announce or (lambda _line: None)
    outcomes = []
    for name in check_request(request):
        try:
            outcomes.append(_JOBS[name](request, s, say))
        except VsmmlError as exc:
            outcomes.append(TrainOutcome(name, error=str(exc)))
    return outcomes


def _risk(request: TrainRequest, settings: Settings, say: Announce) -> TrainOutcome:
    from vsmml.pipeline.queries.reads import read_events
    from vsmml.pipeline.training.risk import (
        risk_data_events,
        risk_data_file,
        risk_data_synthetic,
        train_risk,
    )

    if request.engine == "dask":
        from vsmml.pipeline.distributed.training import train_risk_dask

        say("risk: training on the store's changes on Dask (features per lake partition)")
        done = train_risk_dask(settings, scheduler=request.scheduler)
        say(f"risk: trained on {done.source}")
        say(done.run.describe())
        return TrainOutcome("risk", done.result, done.table)
    if request.store:
        events = read_events(settings, kinds=DELIVERY_KINDS)
        frame = risk_data_events(events, f"the store {settings.store_path}")
    elif request.data is not None:
        frame = risk_data_file(request.data, request.fmt)
    else:
        overrides = {} if request.days is None else {"days": request.days}
        frame = risk_data_synthetic(_seed(request, settings), **overrides)
    say(f"risk: training on {frame.source}, {len(frame.frame):,} changes")
    result, table = train_risk(frame, settings=settings)
    return TrainOutcome("risk", result, table)


def _burn(request: TrainRequest, settings: Settings, say: Announce) -> TrainOutcome:
    if request.engine == "dask":
        say("burn: trains in this process (the Dask engine covers the risk model)")
    from vsmml.pipeline.training.burn import burn_data_synthetic, train_burn

    overrides = {} if request.days is None else {"days": request.days}
    data = burn_data_synthetic(_seed(request, settings), **overrides)
    say(
        f"burn: training on {data.source}, {len(data.features):,} grid rows, "
        f"{len(data.events)} burn events"
    )
    result, table = train_burn(data, settings=settings)
    return TrainOutcome("burn", result, table)


def _bottleneck(request: TrainRequest, settings: Settings, say: Announce) -> TrainOutcome:
    if request.engine == "dask":
        say("bottleneck: trains in this process (the Dask engine covers the risk model)")
    from vsmml.pipeline.training.bottleneck import bottleneck_data_synthetic, train_bottleneck

    overrides = {} if request.days is None else {"days": request.days}
    data = bottleneck_data_synthetic(_seed(request, settings), **overrides)
    say(f"bottleneck: training on {data.source}, {len(data.frame):,} service-weeks")
    result, table = train_bottleneck(data, settings=settings)
    return TrainOutcome("bottleneck", result, table)


def _seed(request: TrainRequest, settings: Settings) -> int:
    return settings.seed if request.seed is None else request.seed


_JOBS: Final[dict[str, Callable[[TrainRequest, Settings, Announce], TrainOutcome]]] = {
    "risk": _risk,
    "burn": _burn,
    "bottleneck": _bottleneck,
}
