"""Score changes for the release gate: read and check the inputs, score, decide pass or fail.

The inputs come from a JSON file (or standard input), option values and ``NAME=VALUE`` pairs;
each is checked against the change-metric table (`vsmml.events.change_metrics`): a value that
is NaN, infinite, negative where it counts something, or outside its range, a threshold outside
[0, 1], or a ``--set`` name the model does not read is refused naming the field and the record.
Scoring goes through the lightgbm-free `RiskScorer`, so the whole path imports neither pandas
nor lightgbm and a gate answers in well under a second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.change_metrics import JIT_METRICS, METRICS_BY_NAME
from vsmml.models.risk_scoring import Reason, RiskScore, RiskScorer
from vsmml.pipeline.models import ModelLocation, load_risk_scorer
from vsmml.recommend.counterfactual import Counterfactual, alternatives, lowering

__all__ = [
    "JIT_METRICS",
    "BadChangeError",
    "ScoreReport",
    "ScoreRequest",
    "ScoredChange",
    "score_and_lower",
    "score_changes",
    "score_records",
]

EXIT_PASS: Final[int] = 0
EXIT_FAIL: Final[int] = 1


class BadChangeError(DataError):
    """A change description cannot be scored; the message names the field and the record."""


@dataclass(frozen=True)
class ScoreRequest:
    """What to score and how: a JSON file (``-`` for `read_stdin`), per-field values that
    override every record, ``NAME=VALUE`` pairs, the gate threshold, the reasons to show and an
    explicit model folder."""

    change: str | None = None
    values: Mapping[str, float | None] = field(default_factory=dict)
    pairs: Sequence[str] = ()
    threshold: float | None = None
    top: int = 5
    model: Path | None = None


@dataclass(frozen=True)
class ScoredChange:
    """One change's calibrated probability, raw score, decision and reasons."""

    probability: float
    raw_score: float
    failed: bool
    reasons: list[Reason]

    @property
    def decision(self) -> str:
        """``pass`` or ``fail``."""
        return "fail" if self.failed else "pass"


@dataclass(frozen=True)
class ScoreReport:
    """The gate's answer: the model used, the threshold, every change and what was ignored."""

    location: ModelLocation
    threshold: float
    changes: list[ScoredChange]
    ignored_fields: list[str]

    @property
    def failed(self) -> bool:
        """True when any change scores at or above the threshold."""
        return any(c.failed for c in self.changes)

    @property
    def exit_code(self) -> int:
        """0 when every change passes, 1 when one fails (2 is an error, raised instead)."""
        return EXIT_FAIL if self.failed else EXIT_PASS


def _checked(value: float, name: str, where: str) -> float:
    """`value` if it is possible for the field `name`, else `BadChangeError` naming both."""
    if not math.isfinite(value):
        raise BadChangeError(f"{where}: '{name}' must be a finite number, got {value}")
    metric = METRICS_BY_NAME.get(name)
    problem = metric.problem(value) if metric is not None else None
    if problem is not None:
        raise BadChangeError(f"{where}: '{name}' {problem}")
    return value


def _number(value: Any, name: str, record: int) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return _checked(float(value), name, f"change {record}")
    raise BadChangeError(
        f"change {record}: '{name}' must be a number, true/false or null, got {value!r}"
    )


def _records(text: str, source: str) -> list[dict[str, Any]]:
    """One dict per change from JSON: an object, a list of objects or {"changes": [...]}."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadChangeError(f"{source}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("changes"), list):
        data = data["changes"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) for i in items):
        raise BadChangeError(f"{source}: expected a JSON object or a non-empty list of objects")
    return items


def _pairs(values: Sequence[str], known: set[str]) -> dict[str, float]:
    """``NAME=VALUE`` pairs as numbers; a name the model does not read is refused."""
    out: dict[str, float] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadChangeError(f"--set expects NAME=VALUE, got {item!r}")
        if key not in known:
            raise BadChangeError(
                f"--set {key}: not an input of this model; it reads {sorted(known)}"
            )
        try:
            number = float(raw)
        except ValueError as exc:
            raise BadChangeError(f"--set {key}: value must be a number, got {raw!r}") from exc
        out[key] = _checked(number, key, f"--set {key}")
    return out


def _read_change(change: str | None, read_stdin: Callable[[], str]) -> list[dict[str, Any]]:
    if change is None:
        return [{}]
    if change == "-":
        return _records(read_stdin(), "stdin")
    path = Path(change)
    if not path.is_file():
        raise BadChangeError(f"--change: no such file {change!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadChangeError(
            f"--change {change}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except OSError as exc:
        raise BadChangeError(f"--change {change}: cannot be read ({exc.strerror})") from exc
    return _records(text, change)


def _columns(
    records: list[Mapping[str, Any]], inputs: list[str]
) -> tuple[dict[str, list[float]], list[str]]:
    """Model input columns from the records, and the record keys the model does not use."""
    known = set(inputs)
    ignored = sorted({k for r in records for k in r if k not in known})
    if not any(k in known for r in records for k in r):
        raise BadChangeError(
            f"no model input given; the model reads {inputs} (e.g. --la 120 --ld 30 --nf 4)"
        )
    cols = {c: [_number(r.get(c), c, i) for i, r in enumerate(records)] for c in inputs}
    return cols, ignored


def score_changes(
    request: ScoreRequest,
    *,
    settings: Settings | None = None,
    read_stdin: Callable[[], str] | None = None,
) -> ScoreReport:
    """Check the inputs, score every change with the champion (or default, or given) model and
    decide each against the threshold (the request's, else the model's)."""
    if request.threshold is not None and not 0.0 <= request.threshold <= 1.0:
        raise BadChangeError(f"--threshold must be within [0, 1], got {request.threshold}")
    if request.top < 0:
        raise BadChangeError(f"--top must be 0 or more, got {request.top}")
    for name, value in request.values.items():
        if value is not None:
            _checked(float(value), name, f"--{name}")
    scorer, location = load_risk_scorer(path=request.model, settings=settings or get_settings())
    records = _read_change(request.change, read_stdin or _no_stdin)
    overrides = {k: v for k, v in request.values.items() if v is not None}
    overrides |= _pairs(request.pairs, set(scorer.input_columns))
    return score_records(
        [r | overrides for r in records],
        scorer,
        location,
        threshold=request.threshold,
        top=request.top,
    )


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise BadChangeError(f"threshold must be within [0, 1], got {threshold}")


def score_records(
    records: Sequence[Mapping[str, Any]],
    scorer: RiskScorer,
    location: ModelLocation,
    *,
    threshold: float | None = None,
    top: int = 5,
) -> ScoreReport:
    """Check and score change records (parsed JSON objects) with a loaded scorer: what
    `score_changes` does after reading its inputs, and what the HTTP service calls."""
    _check_threshold(threshold)
    cols, ignored = _columns(list(records), scorer.input_columns)
    return _decide(scorer, location, cols, ignored, ScoreRequest(threshold=threshold, top=top))


def _decide(
    scorer: RiskScorer,
    location: ModelLocation,
    cols: dict[str, list[float]],
    ignored: list[str],
    request: ScoreRequest,
) -> ScoreReport:
    return _report(scorer, location, scorer.score(cols, top=request.top), ignored, request)


def _report(
    scorer: RiskScorer,
    location: ModelLocation,
    results: list[RiskScore],
    ignored: list[str],
    request: ScoreRequest,
) -> ScoreReport:
    limit = scorer.threshold if request.threshold is None else request.threshold
    changes = [
        ScoredChange(r.probability, r.raw_score, r.probability >= limit, r.reasons) for r in results
    ]
    return ScoreReport(location, limit, changes, ignored)


def score_and_lower(
    records: Sequence[Mapping[str, Any]],
    scorer: RiskScorer,
    location: ModelLocation,
    *,
    threshold: float | None = None,
    top: int = 5,
) -> tuple[ScoreReport, list[list[Counterfactual]]]:
    """`score_records`, and for each change what would lower its risk
    (`recommend.counterfactual.what_would_lower`, same numbers): the changes and all their
    counterfactual variants are scored in one pass, only the changes explained."""
    _check_threshold(threshold)
    cols, ignored = _columns(list(records), scorer.input_columns)
    n = len(records)
    alts = [alternatives(scorer, {c: v[i] for c, v in cols.items()}) for i in range(n)]
    # the changes first (explained), then every change's variants (raw scores only)
    rows = [a.rows[0] for a in alts] + [r for a in alts for r in a.rows[1:]]
    results, prob = scorer.score_explained(scorer.matrix_rows(rows), n, top)
    lowered: list[list[Counterfactual]] = []
    at = n
    for i, alt in enumerate(alts):
        k = len(alt.made)
        lowered.append(lowering(alt, np.concatenate([prob[i : i + 1], prob[at : at + k]])))
        at += k
    request = ScoreRequest(threshold=threshold, top=top)
    return _report(scorer, location, results, ignored, request), lowered


def _no_stdin() -> str:
    raise BadChangeError("--change -: no standard input to read")
