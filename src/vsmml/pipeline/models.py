"""Find the model to score with and score through it without importing mlflow or lightgbm.

The champion export under ``$VSMML_HOME/models/<name>/`` (named by ``champion.json``, written
by `vsmml.tracking`) wins; without one, the committed default model in the repository's
top-level ``models/<name>/`` (or ``$VSMML_DEFAULT_MODELS/<name>/``) is used, so a fresh install
scores before anyone trains. `RiskScorer` reproduces `ChangeRiskModel`'s calibrated probability
and per-feature reasons from the saved files (``model.txt`` + ``model.json``) with the numpy tree
evaluator: `vsmml score` and the API answer in milliseconds and start without the seconds that
``import lightgbm`` / ``import mlflow`` cost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError, VsmmlError
from vsmml.models.calibration import Calibrator, calibrator_from_dict
from vsmml.models.risk_features import TIME_COLUMN, build_matrix, describe, signed_log, time_days
from vsmml.models.treeeval import TreeEnsemble
from vsmml.tracking import CHAMPION_FILE, METADATA_FILE

FloatArray = npt.NDArray[np.float64]

DEFAULT_MODELS_ENV: Final[str] = "VSMML_DEFAULT_MODELS"
RISK_FORMAT: Final[str] = "vsmml-risk/1"
DEFAULT_THRESHOLD: Final[float] = 0.5


class ModelNotFoundError(VsmmlError, FileNotFoundError):
    """No trained model and no committed default model could be found for a name."""


@dataclass(frozen=True)
class ModelLocation:
    """Where a model's files are: ``source`` is ``home`` (trained here), ``default``
    (committed with the repository) or ``path`` (given explicitly)."""

    name: str
    version: str
    path: Path
    source: str


def default_models_dir() -> Path | None:
    """``$VSMML_DEFAULT_MODELS``, else the repository's top-level ``models/`` next to ``src/``."""
    env = os.environ.get(DEFAULT_MODELS_ENV)
    if env:
        return Path(env)
    repo_models = Path(__file__).resolve().parents[3] / "models"
    return repo_models if repo_models.is_dir() else None


def _is_model_dir(path: Path) -> bool:
    return (path / "model.txt").is_file() or (path / "model.json").is_file()


def _versioned(folder: Path) -> tuple[str, Path] | None:
    """The version a model folder points at: ``champion.json``, else the highest number."""
    pointer = folder / CHAMPION_FILE
    if pointer.is_file():
        version = str(json.loads(pointer.read_text("utf-8"))["version"])
        if _is_model_dir(folder / version):
            return version, folder / version
    numbered = [p for p in folder.glob("*") if p.name.isdigit() and _is_model_dir(p)]
    if numbered:
        best = max(numbered, key=lambda p: int(p.name))
        return best.name, best
    return None


def _in_default(name: str, root: Path) -> ModelLocation | None:
    folder = root / name
    if _is_model_dir(folder):
        meta = read_metadata(folder)
        return ModelLocation(name, str(meta.get("version", "default")), folder, "default")
    found = _versioned(folder) if folder.is_dir() else None
    return ModelLocation(name, found[0], found[1], "default") if found else None


def locate(
    name: str,
    *,
    settings: Settings | None = None,
    default_dir: Path | None = None,
) -> ModelLocation:
    """The champion export of `name` under the home folder, else the committed default."""
    s = settings or get_settings()
    home = s.models_dir / name
    searched = [str(home)]
    if home.is_dir() and (found := _versioned(home)) is not None:
        return ModelLocation(name, found[0], found[1], "home")
    root = default_dir or default_models_dir()
    if root is not None:
        searched.append(str(root / name))
        if (loc := _in_default(name, root)) is not None:
            return loc
    raise ModelNotFoundError(
        f"no '{name}' model found (searched {', '.join(searched)}); train one with "
        f"`vsmml train {name}` or set {DEFAULT_MODELS_ENV}"
    )


def read_metadata(path: Path) -> dict[str, Any]:
    """A model folder's ``metadata.json`` (empty when absent)."""
    meta = path / METADATA_FILE
    if not meta.is_file():
        return {}
    data: dict[str, Any] = json.loads(meta.read_text("utf-8"))
    return data


@dataclass(frozen=True)
class Reason:
    """One reason behind a score: the feature, its value, its log-odds push and the wording."""

    feature: str
    value: float
    contribution: float
    text: str


@dataclass(frozen=True)
class RiskScore:
    """A calibrated failure probability with the raw score and the reasons, largest first."""

    probability: float
    raw_score: float
    reasons: list[Reason]


class RiskScorer:
    """`ChangeRiskModel` scoring from its saved files, with no lightgbm (see module docstring).

    Raw score = w * trees + (1 - w) * linear part (log-odds); probability = calibrator(raw);
    contributions are TreeSHAP for the trees plus the linear terms, summing to the raw score.
    """

    def __init__(self, state: Mapping[str, Any], trees: TreeEnsemble, meta: Mapping[str, Any]):
        if state.get("format") != RISK_FORMAT:
            raise DataError(f"not a {RISK_FORMAT} model: format {state.get('format')!r}")
        self.input_columns: list[str] = list(state["input_columns"])
        self.feature_names: list[str] = list(state["feature_names"])
        if trees.n_features != len(self.feature_names):
            raise DataError(
                f"model.txt has {trees.n_features} features, model.json names "
                f"{len(self.feature_names)}"
            )
        self.trees = trees
        self.weight = float(state["blend_weight"])
        lin = {k: np.asarray(v, dtype=np.float64) for k, v in state["linear"].items()}
        self._median, self._mean = lin["median"], lin["mean"]
        self._std, self._coef = lin["std"], lin["coef"]
        self._intercept = float(lin["intercept"][0])
        self.calibrator: Calibrator = calibrator_from_dict(dict(state["calibrator"]))
        self.training_period = tuple(state.get("training_period", ()))
        self.metadata = dict(meta)
        self.threshold = float(self.metadata.get("threshold", DEFAULT_THRESHOLD))

    @classmethod
    def from_dir(cls, path: str | Path) -> RiskScorer:
        """Load ``model.txt``, ``model.json`` and (optional) ``metadata.json`` from a folder."""
        d = Path(path)
        missing = [f for f in ("model.txt", "model.json") if not (d / f).is_file()]
        if missing:
            raise ModelNotFoundError(f"{d}: missing {missing} (not a risk model folder)")
        state = json.loads((d / "model.json").read_text("utf-8"))
        return cls(state, TreeEnsemble.from_file(d / "model.txt"), read_metadata(d))

    def matrix(self, columns: Mapping[str, npt.ArrayLike]) -> FloatArray:
        """Feature matrix from named input columns; inputs the model knows but `columns` lacks
        are missing (NaN), names it does not know are ignored.

        A ``committed_at`` column (unix seconds, datetime64 or ISO-8601 UTC strings) lets
        ``copies_30d`` look across the rows, as `ChangeRiskModel` does with a DataFrame;
        without it that feature is missing.
        """
        known = {
            c: np.asarray(columns[c], dtype=np.float64) for c in columns if c in self.input_columns
        }
        if TIME_COLUMN in columns:
            known[TIME_COLUMN] = time_days(columns[TIME_COLUMN])
        lengths = {len(np.atleast_1d(v)) for v in known.values()}
        if len(lengths) > 1:
            raise DataError(f"input columns differ in length: {sorted(lengths)}")
        n = lengths.pop() if lengths else 1
        cols = {
            c: np.atleast_1d(known[c]) if c in known else np.full(n, np.nan)
            for c in [*self.input_columns, TIME_COLUMN]
        }
        return build_matrix(cols, self.feature_names)

    def _linear_terms(self, m: FloatArray) -> FloatArray:
        z = signed_log(m)
        z = np.where(np.isfinite(z), z, self._median)
        out: FloatArray = (z - self._mean) / self._std * self._coef
        return out

    def raw(self, m: FloatArray) -> FloatArray:
        """Blended log-odds for a feature matrix."""
        w = self.weight
        gbm = self.trees.predict_raw(m) if w > 0 else 0.0
        lin = self._linear_terms(m).sum(axis=1) + self._intercept if w < 1 else 0.0
        out: FloatArray = np.asarray(w * gbm + (1 - w) * lin, dtype=np.float64)
        return out

    def predict_proba(self, m: FloatArray) -> FloatArray:
        """Calibrated failure probabilities for a feature matrix, shape (rows,)."""
        return self.calibrator.transform(self.raw(m))

    def contributions(self, m: FloatArray) -> FloatArray:
        """Per-feature log-odds contributions plus the bias last; rows sum to `raw`."""
        w = self.weight
        out = np.zeros((len(m), len(self.feature_names) + 1))
        if w > 0:
            out += w * self.trees.predict_contrib(m)
        if w < 1:
            out[:, :-1] += (1 - w) * self._linear_terms(m)
            out[:, -1] += (1 - w) * self._intercept
        return out

    def score(self, columns: Mapping[str, npt.ArrayLike], top: int = 5) -> list[RiskScore]:
        """Probability, raw score and the `top` reasons for each row of `columns`."""
        m = self.matrix(columns)
        contrib = self.contributions(m)
        raw = contrib.sum(axis=1)
        prob = self.calibrator.transform(raw)
        feats = contrib[:, :-1]
        out = []
        for i in range(len(m)):
            order = np.argsort(-np.abs(feats[i]), kind="stable")[: max(top, 0)]
            reasons = [
                Reason(
                    feature=self.feature_names[j],
                    value=float(m[i, j]),
                    contribution=float(feats[i, j]),
                    text=describe(self.feature_names[j], float(m[i, j])),
                )
                for j in order
            ]
            out.append(RiskScore(float(prob[i]), float(raw[i]), reasons))
        return out


def load_risk_scorer(
    *, path: Path | None = None, settings: Settings | None = None
) -> tuple[RiskScorer, ModelLocation]:
    """The scorer of the folder `path`, else of the located ``risk`` champion or default."""
    if path is not None:
        meta = read_metadata(path)
        loc = ModelLocation("risk", str(meta.get("version", "?")), path, "path")
    else:
        loc = locate("risk", settings=settings)
    return RiskScorer.from_dir(loc.path), loc
