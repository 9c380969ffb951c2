"""`vsmml score --repo PATH [--sha SHA]`: the release gate on a real commit.

Mines the commit's 14 JIT metrics with the cached miner (`vsmml.pipeline.gitcache`), adds the
delivery context the store knows (`vsmml.pipeline.gate_context`, only when a store exists), and
scores with the champion (or shipped default) model: probability, band, decision, the top
reasons among the *known* inputs (an unknown input is listed as unknown, never as a reason),
and what would lower the risk (`vsmml.recommend.counterfactual`). A failed gate can be waived:
the waiver is stored as a `gate.waived` event with who and why. The path without a store
imports no pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.change_metrics import CONTEXT_COLUMNS, JIT_COLUMNS
from vsmml.models.risk_scoring import Reason
from vsmml.pipeline.gitcache import CommitMetrics, commit_metrics
from vsmml.pipeline.models import ModelLocation, load_risk_scorer
from vsmml.recommend.counterfactual import Counterfactual, what_would_lower

ACTOR_VARIABLES: Final[tuple[str, ...]] = (
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "USER",
)
"""Where the waiver's actor comes from when --actor is not given, in this order."""
EXIT_PASS: Final[int] = 0
EXIT_FAIL: Final[int] = 1


@dataclass(frozen=True)
class GateRequest:
    """The commit to gate and how (see `gate`)."""

    repo: Path
    sha: str = "HEAD"
    fail_above: float | None = None
    top: int = 5
    model: Path | None = None
    service: str | None = None
    waive: str | None = None
    actor: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None


@dataclass(frozen=True)
class Context:
    """The delivery context: values (None = unknown), their source and notes."""

    values: dict[str, float | None]
    source: str
    service: str | None = None
    change_id: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateReport:
    """The gate's answer for one commit."""

    sha: str
    repo: Path
    location: ModelLocation
    threshold: float
    probability: float
    band: str
    failed: bool
    reasons: list[Reason]
    unknown: list[str]
    lowering: list[Counterfactual]
    inputs: dict[str, float | None]
    context: Context
    mining: CommitMetrics
    waiver: dict[str, Any] | None = None

    @property
    def decision(self) -> str:
        """``pass``, ``fail`` or ``waived`` (a failed gate someone waived)."""
        if self.failed:
            return "waived" if self.waiver else "fail"
        return "pass"

    @property
    def exit_code(self) -> int:
        """0 pass or waived, 1 failed (errors raise and exit 2)."""
        return EXIT_FAIL if self.decision == "fail" else EXIT_PASS


def band(probability: float, threshold: float, base_rate: float | None) -> str:
    """``high`` at or above the gate's threshold; ``medium`` above the model's base rate (the
    failure share of its training data); else ``low``."""
    if probability >= threshold:
        return "high"
    floor = base_rate if base_rate is not None and 0 < base_rate < threshold else threshold / 2
    return "medium" if probability >= floor else "low"


def _context(request: GateRequest, settings: Settings, sha: str) -> tuple[Context, float | None]:
    if not settings.store_path.is_file():
        return Context(dict.fromkeys(CONTEXT_COLUMNS), "unknown: no store under VSMML_HOME",
                       request.service), None  # fmt: skip
    import pandas as pd

    from vsmml.pipeline.gate_context import delivery_context

    now = pd.Timestamp(request.now or datetime.now(UTC))
    found = delivery_context(settings, sha, now, request.service)
    ctx = Context(found.values, found.source, found.service, found.change_id, tuple(found.notes))
    return ctx, found.fixed_flakiness


def _actor(request: GateRequest) -> str:
    if request.actor:
        return request.actor
    for name in ACTOR_VARIABLES:
        if request.environ.get(name):
            return request.environ[name]
    raise DataError(
        "--waive: who waives the gate? give --actor (or run where GITHUB_ACTOR or "
        "GITLAB_USER_LOGIN is set)"
    )


def gate(request: GateRequest, settings: Settings | None = None) -> GateReport:
    """Score the commit, decide, and store a waiver when a failed gate is waived."""
    s = settings or get_settings()
    if request.fail_above is not None and not 0.0 <= request.fail_above <= 1.0:
        raise DataError(f"--fail-above must be within [0, 1], got {request.fail_above}")
    if request.waive is not None and not request.waive.strip():
        raise DataError("--waive: give the reason for the waiver")
    if request.top < 0:
        raise DataError(f"--top must be 0 or more, got {request.top}")
    actor = _actor(request) if request.waive is not None else None
    scorer, location = load_risk_scorer(path=request.model, settings=s)
    mined = commit_metrics(request.repo, request.sha, s.home)
    context, fixed = _context(request, s, mined.sha)
    values: dict[str, float | None] = {c: float(mined.metrics[c]) for c in JIT_COLUMNS}
    values |= context.values
    inputs = {c: values.get(c) for c in scorer.input_columns}
    cols = {c: [math.nan if v is None else float(v) for v in [inputs[c]]] for c in inputs}
    [scored] = scorer.score(cols, top=len(scorer.feature_names))
    known = [r for r in scored.reasons if math.isfinite(r.value)]
    unknown = sorted({c for c, v in inputs.items() if v is None})
    threshold = scorer.threshold if request.fail_above is None else request.fail_above
    base = scorer.metadata.get("failure_rate")
    lowering = what_would_lower(
        scorer, {c: math.nan if v is None else v for c, v in inputs.items()}, fixed_flakiness=fixed
    )
    report = GateReport(
        sha=mined.sha,
        repo=mined.repo_root,
        location=location,
        threshold=threshold,
        probability=scored.probability,
        band=band(scored.probability, threshold, float(base) if base is not None else None),
        failed=scored.probability >= threshold,
        reasons=known[: request.top],
        unknown=unknown,
        lowering=lowering,
        inputs=inputs,
        context=context,
        mining=mined,
    )
    if report.failed and request.waive is not None and actor is not None:
        from dataclasses import replace

        from vsmml.pipeline.waivers import store_waiver

        waiver = store_waiver(s, report, actor=actor, reason=request.waive.strip(), now=request.now)
        report = replace(report, waiver=waiver)
    return report
