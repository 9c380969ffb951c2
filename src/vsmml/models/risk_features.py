"""Change-risk features: the 14 JIT metrics, scale-free ratios, copies, and their wording.

Ratios (churn relative to file size, lines per file, normalised entropy, experience shares) make
projects of different sizes comparable, which is what lets a model trained on some projects
score another. ``copies_30d`` looks across the rows being scored: how many earlier changes in
the previous 30 days had exactly the same size signature (lines added and deleted, files,
subsystems, directories, entropy). Such repeats are cherry-picks, backports and re-applied
patches; on every development dataset they induce bugs about half as often as other changes of
their size (SZZ blames the original). It uses only earlier rows (causal) and is missing when the
rows do not cover the 30 days before a change (one change scored alone). Everything works on
plain numpy columns so one change scores in microseconds.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from vsmml.errors import DataError
from vsmml.events.change_metrics import JIT_COLUMNS

if TYPE_CHECKING:  # pandas stays off the scoring path (`vsmml score` must start fast)
    import pandas as pd

FloatArray = npt.NDArray[np.float64]

JIT_FEATURES: Final[tuple[str, ...]] = JIT_COLUMNS
TIME_COLUMN: Final[str] = "committed_at"
COPY_FEATURE: Final[str] = "copies_30d"
COPY_WINDOW_DAYS: Final[float] = 30.0
COPY_SIGNATURE: Final[tuple[str, ...]] = ("la", "ld", "nf", "ns", "nd", "entropy")
COPY_MIN_LINES: Final[float] = 5.0
"""Changes of fewer lines (la + ld) coincide by chance; they never count as copies."""


@dataclass(frozen=True)
class Ratio:
    """A scale-free feature: sum(`num`) / max(sum(`den`), `floor`), with log2 of the floored
    denominator when `log2`. Data, not a function, so the vectorised `build_matrix` and the
    one-row `RowFeatures` read the same definition."""

    num: tuple[str, ...]
    den: tuple[str, ...]
    floor: float = 1.0
    log2: bool = False

    @property
    def deps(self) -> tuple[str, ...]:
        """The inputs the ratio reads, first-seen order."""
        return tuple(dict.fromkeys((*self.num, *self.den)))

    def column(self, cols: Mapping[str, FloatArray]) -> FloatArray:
        """The ratio over whole columns (numpy; NaN in, NaN out)."""
        num = cols[self.num[0]]
        for c in self.num[1:]:
            num = num + cols[c]
        den = cols[self.den[0]]
        for c in self.den[1:]:
            den = den + cols[c]
        den = np.maximum(den, self.floor)
        out: FloatArray = num / (np.log2(den) if self.log2 else den)
        return out


RATIOS: Final[dict[str, Ratio]] = {
    "la_lt": Ratio(("la",), ("lt",)),
    "ld_lt": Ratio(("ld",), ("lt",)),
    "churn_nf": Ratio(("la", "ld"), ("nf",)),
    "la_share": Ratio(("la",), ("la", "ld")),
    "entropy_norm": Ratio(("entropy",), ("nf",), floor=2.0, log2=True),
    "lt_nf": Ratio(("lt",), ("nf",)),
    "rexp_exp": Ratio(("rexp",), ("exp",)),
    "sexp_exp": Ratio(("sexp",), ("exp",)),
    "nuc_nf": Ratio(("nuc",), ("nf",)),
    "ndev_nf": Ratio(("ndev",), ("nf",)),
}

WORDS: Final[dict[str, Callable[[float], str]]] = {
    "ns": lambda v: f"touches {v:,.0f} subsystem(s) (ns)",
    "nd": lambda v: f"touches {v:,.0f} director(ies) (nd)",
    "nf": lambda v: f"touches {v:,.0f} file(s) (nf)",
    "entropy": lambda v: f"spreads its edits with entropy {v:.2f} (entropy)",
    "la": lambda v: f"adds {v:,.0f} lines (la)",
    "ld": lambda v: f"deletes {v:,.0f} lines (ld)",
    "lt": lambda v: f"touches files of {v:,.0f} lines in total (lt)",
    "fix": lambda v: "is a bug fix (fix)" if v >= 0.5 else "is not a bug fix (fix)",
    "ndev": lambda v: f"touches files {v:,.0f} developer(s) changed before (ndev)",
    "age": lambda v: f"touches files last changed {v:,.1f} days ago on average (age)",
    "nuc": lambda v: f"touches files with {v:,.0f} earlier change(s) (nuc)",
    "exp": lambda v: f"comes from an author with {v:,.0f} earlier change(s) (exp)",
    "rexp": lambda v: f"comes from an author with recent experience {v:,.1f} (rexp)",
    "sexp": lambda v: f"comes from an author with {v:,.0f} change(s) in these subsystems (sexp)",
    "la_lt": lambda v: f"adds {v:.0%} of the touched files' size (la/lt)",
    "ld_lt": lambda v: f"deletes {v:.0%} of the touched files' size (ld/lt)",
    "churn_nf": lambda v: f"changes {v:,.0f} lines per file ((la+ld)/nf)",
    "la_share": lambda v: f"is {v:.0%} added lines (la/(la+ld))",
    "entropy_norm": lambda v: f"spreads edits at {v:.0%} of the maximum entropy",
    "lt_nf": lambda v: f"touches files of {v:,.0f} lines on average (lt/nf)",
    "rexp_exp": lambda v: f"comes from an author whose recent work is {v:.0%} of all (rexp/exp)",
    "sexp_exp": lambda v: f"comes from an author with {v:.0%} of changes here (sexp/exp)",
    "nuc_nf": lambda v: f"touches files with {v:,.1f} earlier changes each (nuc/nf)",
    "ndev_nf": lambda v: f"touches files with {v:,.1f} past developers each (ndev/nf)",
    "pipeline_flakiness": lambda v: (
        f"ships from a pipeline that failed {v:.0%} of its runs in the last 14 days "
        "(pipeline_flakiness)"
    ),
    "hours_since_last_deploy": lambda v: (
        f"ships {v:,.1f} h after the previous deploy (hours_since_last_deploy)"
    ),
    "deploy_batch_size": lambda v: f"ships in a deploy of {v:,.0f} change(s) (deploy_batch_size)",
    "service_recent_failure_rate": lambda v: (
        f"goes to a service whose changes failed {v:.0%} in the last 28 days "
        "(service_recent_failure_rate)"
    ),
    "review_rounds": lambda v: f"went through {v:,.0f} review round(s) (review_rounds)",
    "n_reviewers": lambda v: f"was reviewed by {v:,.0f} reviewer(s) (n_reviewers)",
    COPY_FEATURE: lambda v: (
        f"repeats a change made {v:,.0f} time(s) in the previous 30 days, "
        "likely a cherry-pick or backport (copies_30d)"
        if v >= 0.5
        else "is not a copy of a change from the previous 30 days (copies_30d)"
    ),
}


def describe(feature: str, value: float) -> str:
    """A developer's wording of one feature value, e.g. ``adds 1,240 lines (la)``."""
    if not math.isfinite(value):
        return f"has no value for {feature}"
    word = WORDS.get(feature)
    return word(value) if word else f"has {feature} = {value:,.4g}"


def input_columns(X: pd.DataFrame) -> list[str]:
    """The model inputs of `X`: every column but the timestamp, each numeric or boolean."""
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        raise DataError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    cols = [str(c) for c in X.columns if c != TIME_COLUMN]
    bad = [c for c in cols if not (pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool)]
    if bad:
        kinds = {c: str(X[c].dtype) for c in bad}
        raise DataError(f"X columns must be numeric or boolean; got {kinds}")
    return cols


def feature_names(columns: list[str], copies: bool = True) -> list[str]:
    """Features built from `columns`: the inputs, each ratio whose inputs are present, then
    (when `copies` and the signature columns are present) ``copies_30d``."""
    have = set(columns)
    names = [*columns, *[n for n, r in RATIOS.items() if set(r.deps) <= have]]
    if copies and set(COPY_SIGNATURE) <= have:
        names.append(COPY_FEATURE)
    return names


def time_days(values: npt.ArrayLike) -> FloatArray:
    """Timestamps as float days since 1970-01-01 UTC (NaN where missing).

    Accepts numbers (taken as unix seconds), numpy datetime64 (naive = UTC) and ISO-8601
    strings in UTC (``Z`` or ``+00:00``); anything else raises `DataError`.
    """
    arr = np.atleast_1d(np.asarray(values))
    if arr.dtype.kind in "iuf":
        out: FloatArray = arr.astype(np.float64) / 86400.0
        return out
    if arr.dtype.kind in "UO":
        text = [str(v).strip().removesuffix("Z").removesuffix("+00:00") for v in arr]
        try:
            arr = np.array(
                [
                    np.datetime64(v)
                    if v not in ("", "None", "nan", "NaT")
                    else np.datetime64("NaT")
                    for v in text
                ],
                dtype="datetime64[us]",
            )
        except ValueError as exc:
            raise DataError(f"'{TIME_COLUMN}' must be ISO-8601 UTC timestamps: {exc}") from exc
    if arr.dtype.kind != "M":
        raise DataError(f"'{TIME_COLUMN}' must hold timestamps, got dtype {arr.dtype}")
    us = arr.astype("datetime64[us]")
    days: FloatArray = np.where(
        np.isnat(us), np.nan, us.astype(np.int64).astype(np.float64) / 86_400e6
    )
    return days


def column_arrays(X: pd.DataFrame, columns: list[str]) -> dict[str, FloatArray]:
    """Float columns of `X` by name; a column the model knows but `X` lacks becomes NaN.

    The timestamp column, when `X` has it, comes along as float days (`time_days`) for the
    features that look across rows.
    """
    n = len(X)
    out: dict[str, FloatArray] = {}
    for c in columns:
        if c in X.columns:
            out[c] = np.asarray(X[c].to_numpy(dtype=np.float64, na_value=np.nan), np.float64)
        else:
            out[c] = np.full(n, np.nan)
    if TIME_COLUMN in X.columns:
        ts = X[TIME_COLUMN].array  # on the array: a Series' .dt costs ~30 us per call
        if getattr(ts, "tz", None) is not None:
            ts = ts.tz_convert(None)  # naive UTC
        out[TIME_COLUMN] = time_days(np.asarray(ts))
    return out


def copies_in_window(
    signature: FloatArray,
    days: FloatArray,
    window: float = COPY_WINDOW_DAYS,
    min_lines: float = COPY_MIN_LINES,
) -> FloatArray:
    """For each row, how many other rows of the previous `window` days share its signature.

    `signature` holds the `COPY_SIGNATURE` columns (la and ld first). Other rows at the very
    same time count too (pushed together; the order of such rows is arbitrary), so the result
    does not depend on the order of the rows; later rows never count. Rows of fewer than
    `min_lines` lines count 0; a row with no copy found is NaN when the rows do not reach
    `window` days back from it (unknown), and so is a row without a time.
    """
    n = len(days)
    out: FloatArray = np.full(n, np.nan)
    idx = np.flatnonzero(np.isfinite(days))
    if len(idx) < 2:  # one row alone has no copy and no 30 days of history: unknown
        return out
    sig = signature[idx]
    sig = np.where(np.isfinite(sig), np.round(sig, 6), -1.0e300)
    key = np.unique(sig, axis=0, return_inverse=True)[1].ravel().astype(np.float64)
    t = days[idx] - days[idx].min()
    order = np.lexsort((t, key))
    comb = key[order] * (t.max() + window + 1.0) + t[order]
    earlier = np.searchsorted(comb, comb, side="right") - 1 - np.searchsorted(comb, comb - window)
    count = np.empty(len(order))
    count[order] = earlier
    lines = signature[idx, 0] + signature[idx, 1]
    count = np.where(lines < min_lines, 0.0, count)
    out[idx] = np.where((t >= window) | (count > 0), count, np.nan)
    return out


def build_matrix(cols: Mapping[str, FloatArray], names: list[str]) -> FloatArray:
    """The feature matrix (rows x `names`) from named input columns."""
    n = len(next(iter(cols.values()))) if cols else 0
    m = np.empty((n, len(names)), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # once: ~3 us to enter
        for j, name in enumerate(names):
            if name == COPY_FEATURE:
                days = cols.get(TIME_COLUMN, np.full(n, np.nan))
                sig = np.column_stack([cols[c] for c in COPY_SIGNATURE])
                m[:, j] = copies_in_window(sig, days)
            elif name in RATIOS:
                m[:, j] = RATIOS[name].column(cols)
            else:
                m[:, j] = cols[name]
    return m


_LOG2: Final = np.log2
"""numpy's log2 for one value too: `math.log2` differs from it in the last bit for some."""


class RowFeatures:
    """`build_matrix` for a few rows of plain floats (inputs in `inputs` order, no timestamp,
    so ``copies_30d`` is missing): the same numbers, number for number (a test holds the two
    equal), without numpy's cost per call, which on one row was most of the matrix's time.
    """

    def __init__(self, inputs: Sequence[str], names: Sequence[str]) -> None:
        pos = {c: i for i, c in enumerate(inputs)}
        for name in names:
            missing = [c for c in RATIOS[name].deps if c not in pos] if name in RATIOS else []
            if missing or (name not in RATIOS and name != COPY_FEATURE and name not in pos):
                raise ValueError(f"feature {name!r} needs input(s) {missing or [name]}")
        self.width = len(names)
        # per feature: an input's position, None (missing), or a ratio's positions
        self._steps: list[int | tuple[tuple[int, ...], tuple[int, ...], float, bool] | None] = []
        for name in names:
            ratio = RATIOS.get(name)
            if name == COPY_FEATURE:
                self._steps.append(None)
            elif ratio is not None:
                num = tuple(pos[c] for c in ratio.num)
                den = tuple(pos[c] for c in ratio.den)
                self._steps.append((num, den, ratio.floor, ratio.log2))
            else:
                self._steps.append(pos[name])
        # the inputs copied as they are, usually every feature before the ratios: one C call
        lead = 0
        while lead < len(self._steps) and isinstance(self._steps[lead], int):
            lead += 1
        positions = [p for p in self._steps[:lead] if isinstance(p, int)]
        self._take: Callable[[Sequence[float]], tuple[float, ...]] = (
            operator.itemgetter(*positions)
            if lead >= 2
            else lambda x: tuple(x[p] for p in positions)
        )
        self._rest = self._steps[lead:]

    def matrix(self, rows: Sequence[Sequence[float]]) -> FloatArray:
        """The feature matrix (rows x names) of input rows."""
        out = np.array([self.row(r) for r in rows], dtype=np.float64)
        return out.reshape(len(rows), self.width)

    def row(self, x: Sequence[float]) -> list[float]:
        """One row's features."""
        out = list(self._take(x))
        for step in self._rest:
            if step is None:
                out.append(math.nan)
            elif isinstance(step, int):
                out.append(x[step])
            else:
                num_at, den_at, floor, log2 = step
                num = x[num_at[0]]
                for i in num_at[1:]:
                    num = num + x[i]
                den = x[den_at[0]]
                for i in den_at[1:]:
                    den = den + x[i]
                if den < floor:  # numpy.maximum: a NaN stays NaN
                    den = floor
                out.append(num / (float(_LOG2(den)) if log2 else den))
        return out


def signed_log(m: FloatArray) -> FloatArray:
    """sign(x) * log1p(|x|): tames the heavy tails of counts for the linear part."""
    out: FloatArray = np.sign(m) * np.log1p(np.abs(m))
    return out
