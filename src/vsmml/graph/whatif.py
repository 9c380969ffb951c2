"""What-if: re-time every observed change under a hypothetical change to the value stream.

Scenarios (case-insensitive; several joined by ``;`` or `` and ``):

- ``<stage> wait -30%`` / ``<stage> active +10%`` / ``<stage> -30%`` (wait and active): scale
  that part of the stage's time for every change (stage names may use spaces for hyphens:
  ``integration tests`` is ``integration-tests``; ``ci`` or ``pipeline`` means every CI stage);
- ``<stage> in parallel``: the CI stage runs beside the other CI stages, so the pipeline takes
  max(that stage, the rest) instead of their sum;
- ``deploy batch size 1``: every change deploys on its own; a change that rode along in a
  batch gets a production wait drawn from the waits of batch heads (the change that triggered
  its deploy) of the same service, which is what a deploy of its own took.

Each change's lead time (first commit → production) is re-timed by the difference its stages
make; the effect is the change of the median lead time, with a bootstrap interval over changes
(resampling the changes keeps the observed spread of stage times and their correlations).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.graph.flow import FlowData

_PCT = re.compile(
    r"^(?P<stage>.+?)\s+(?:(?P<part>wait|active|time)\s+)?(?P<pct>[+-]\s*\d+(?:\.\d+)?)\s*%$"
)
_PAR = re.compile(r"^(?P<stage>.+?)\s+(?:run\s+)?in\s+parallel$")
_BATCH = re.compile(r"^deploy\s+batch\s+size\s+(?P<n>\d+)$")
CI_ALIASES: Final = ("ci", "pipeline", "ci stages")


@dataclass(frozen=True)
class Step:
    """One parsed modification: kind (scale, parallel, batch), stages, part, factor."""

    kind: str
    stages: tuple[str, ...] = ()
    part: str = "time"
    factor: float = 1.0


@dataclass
class WhatIfResult:
    """The expected lead-time change of a scenario, with a bootstrap interval."""

    scenario: str
    steps: list[Step]
    n_changes: int
    baseline_median_h: float
    new_median_h: float
    delta_h: float
    delta_pct: float
    delta_pct_low: float
    delta_pct_high: float
    confidence: float
    mean_delta_h: float
    per_change: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (without the per-change frame), for JSON."""
        out = asdict(self)
        out.pop("per_change")
        out["steps"] = [asdict(s) for s in self.steps]
        return out


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def _resolve(name: str, flow: FlowData) -> tuple[str, ...]:
    key = _norm(name)
    if key.replace("-", " ") in CI_ALIASES or key in ("ci", "pipeline"):
        return flow.ci_stages
    for s in flow.stage_order:
        if _norm(s) in (key, key.rstrip("s"), f"{key}s"):
            return (s,)
    raise DataError(f"scenario: unknown stage {name!r}; stages: {list(flow.stage_order)}")


def parse_scenario(text: str, flow: FlowData) -> list[Step]:
    """Parse a scenario into steps against the stages of `flow` (raises DataError if unknown)."""
    steps = []
    for raw in re.split(r"\s*;\s*|\s+and\s+", text.strip()):
        part = raw.strip().lower()
        if not part:
            continue
        if m := _BATCH.match(part):
            if int(m["n"]) != 1:
                raise DataError(f"scenario: only 'deploy batch size 1' is supported, got {raw!r}")
            steps.append(Step("batch"))
        elif m := _PAR.match(part):
            stages = _resolve(m["stage"], flow)
            bad = [s for s in stages if s not in flow.ci_stages]
            if bad:
                raise DataError(f"scenario: only CI stages can run in parallel, got {bad}")
            steps.append(Step("parallel", stages))
        elif m := _PCT.match(part):
            pct = float(m["pct"].replace(" ", ""))
            if pct <= -100:
                raise DataError(f"scenario: a stage cannot shrink by {pct}% (>= 100 %)")
            steps.append(
                Step("scale", _resolve(m["stage"], flow), m["part"] or "time", 1 + pct / 100)
            )
        else:
            raise DataError(
                f"scenario: cannot read {raw!r}; try 'review wait -30%', "
                "'integration tests in parallel' or 'deploy batch size 1'"
            )
    if not steps:
        raise DataError("scenario: empty")
    return steps


def _matrices(flow: FlowData) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    order = list(flow.stage_order)
    st = flow.stages
    wait = st.pivot_table(index="change_id", columns="stage", values="wait_h", aggfunc="sum")
    active = st.pivot_table(index="change_id", columns="stage", values="active_h", aggfunc="sum")
    ch = flow.changes.set_index("change_id")
    ids = ch.index
    w = wait.reindex(index=ids, columns=order).fillna(0.0).to_numpy(dtype="float64")
    a = active.reindex(index=ids, columns=order).fillna(0.0).to_numpy(dtype="float64")
    return ch.reset_index(), w, a, order


def _ci_time(w: np.ndarray, a: np.ndarray, ci: list[int], parallel: set[int]) -> np.ndarray:
    t = w + a
    serial = [i for i in ci if i not in parallel]
    total = t[:, serial].sum(axis=1) if serial else np.zeros(t.shape[0])
    for i in parallel:
        total = np.maximum(total, t[:, i])
    return np.asarray(total)


def retime(flow: FlowData, steps: list[Step], *, seed: int = 0) -> pd.DataFrame:
    """Per change: change_id, service, lead_h and new_lead_h under `steps`."""
    ch, w, a, order = _matrices(flow)
    idx = {s: i for i, s in enumerate(order)}
    ci = [idx[s] for s in flow.ci_stages]
    w2, a2 = w.copy(), a.copy()
    parallel: set[int] = set()
    rng = np.random.default_rng(seed)
    for step in steps:
        cols = [idx[s] for s in step.stages]
        if step.kind == "scale":
            if step.part in ("wait", "time"):
                w2[:, cols] *= step.factor
            if step.part in ("active", "time"):
                a2[:, cols] *= step.factor
        elif step.kind == "parallel":
            parallel.update(cols)
        elif step.kind == "batch" and "production" in idx:
            w2[:, idx["production"]] = _batch_of_one(ch, w2[:, idx["production"]], rng)
    old = w + a
    new = w2 + a2
    non_ci = [i for i in range(len(order)) if i not in ci]
    delta = new[:, non_ci].sum(axis=1) - old[:, non_ci].sum(axis=1)
    delta += _ci_time(w2, a2, ci, parallel) - _ci_time(w, a, ci, set())
    lead = ch["lead_h"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "change_id": ch["change_id"],
            "service": ch["service"],
            "lead_h": lead,
            "new_lead_h": np.maximum(lead + delta, 0.0),
        }
    )


def _batch_of_one(ch: pd.DataFrame, prod_wait: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Riders of a batch get a production wait drawn from the same service's batch heads."""
    out = prod_wait.copy()
    head = ch["batch_head"].to_numpy(dtype=bool)
    service = ch["service"].to_numpy()
    for s in pd.unique(service):
        mine = service == s
        pool = prod_wait[mine & head]
        riders = np.flatnonzero(mine & ~head)
        if pool.size and riders.size:
            out[riders] = rng.choice(pool, size=riders.size)
    return out


def what_if(
    flow: FlowData,
    scenario: str,
    *,
    n_boot: int = 400,
    confidence: float = 0.9,
    seed: int = 0,
) -> WhatIfResult:
    """Expected change of the median lead time under `scenario`, with a bootstrap interval.

    Args:
        flow: the observed changes (restrict with `FlowData.for_service` first for one service).
        scenario: see the module docstring.
        n_boot: bootstrap resamples of the changes.
        confidence: two-sided level of the interval.
        seed: seeds the bootstrap and any random draws of the scenario.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence: must be in (0, 1), got {confidence}")
    if flow.changes.empty:
        raise DataError("flow: no deployed changes to re-time")
    steps = parse_scenario(scenario, flow)
    per = retime(flow, steps, seed=seed)
    old, new = per["lead_h"].to_numpy(), per["new_lead_h"].to_numpy()
    base, after = float(np.median(old)), float(np.median(new))
    rng = np.random.default_rng(seed + 1)
    pick = rng.integers(0, old.size, size=(n_boot, old.size))
    b_old = np.median(old[pick], axis=1)
    b_new = np.median(new[pick], axis=1)
    rel = 100.0 * (b_new - b_old) / np.maximum(b_old, 1e-9)
    lo, hi = np.quantile(rel, [(1 - confidence) / 2, (1 + confidence) / 2])
    return WhatIfResult(
        scenario=scenario,
        steps=steps,
        n_changes=int(old.size),
        baseline_median_h=base,
        new_median_h=after,
        delta_h=after - base,
        delta_pct=100.0 * (after - base) / max(base, 1e-9),
        delta_pct_low=float(lo),
        delta_pct_high=float(hi),
        confidence=confidence,
        mean_delta_h=float(np.mean(new - old)),
        per_change=per,
    )
