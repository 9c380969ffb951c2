"""A numpy evaluator of LightGBM model text: raw scores and TreeSHAP contributions, no lightgbm.

`import lightgbm` costs about a second (it pulls in scikit-learn), which a command that gates a
pipeline cannot pay. `TreeEnsemble.from_text` parses the text LightGBM writes
(``Booster.model_to_string()``) into flat numpy arrays; `predict_raw` walks every tree at once,
and `predict_contrib` computes the path-dependent TreeSHAP values LightGBM's
``pred_contrib=True`` returns (Lundberg et al. 2018), vectorised over all leaves of all trees.
Both agree with LightGBM to about 1e-12. Supported: numerical splits with LightGBM's
missing-value rules (None / Zero / NaN, default direction), single-output models (binary,
regression, cross-entropy...) and random-forest mode (``average_output``). Categorical splits,
linear trees and multiclass models raise `TreeModelError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vsmml.models.treetext import Tree, TreeModelError, parse_tree, split_text

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

K_ZERO_THRESHOLD: Final[float] = 1e-35
"""LightGBM's ``kZeroThreshold``: |x| at or below it counts as zero for ``missing_type=Zero``."""
_CHUNK_CELLS: Final[int] = 2_000_000
"""Rows are processed in chunks so that rows x trees (or rows x leaves x depth) stays bounded."""

__all__ = ["TreeEnsemble", "TreeModelError"]


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


_LeafPath = tuple[list[int], list[bool], list[int], list[int], list[float]]
"""Per leaf: edge nodes, edge directions, edge slots; slot features and cover ratios."""


@dataclass(frozen=True)
class _Shap:
    """Per-leaf unique-feature paths, padded to a common length, for vectorised TreeSHAP."""

    edge_node: IntArray  # (leaves, depth) global internal node on the path; padded with 0
    edge_left: BoolArray  # (leaves, depth) the path goes left at that node
    edge_pad: BoolArray  # (leaves, depth) padding (always "followed")
    edge_slot: IntArray  # (leaves, depth) unique-feature slot (1..U) of the edge
    slot_feature: IntArray  # (leaves, U + 1) feature of each slot; padding -> n_features + 1
    slot_zero: FloatArray  # (leaves, U + 1) product of cover ratios; padding 1
    bias: float  # sum over trees of the cover-weighted mean leaf value


def feature_rows(rows: npt.ArrayLike, feature_names: Sequence[str]) -> FloatArray:
    """`rows` as a 2-D float matrix in the model's feature order (one row may be 1-D), or
    `TreeModelError` naming the expected shape and features."""
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    n = len(feature_names)
    if x.ndim != 2 or x.shape[1] != n:
        raise TreeModelError(
            f"rows must have shape (rows, {n}) in the model's feature order "
            f"{list(feature_names)}, got {x.shape}"
        )
    return x


class TreeEnsemble:
    """LightGBM trees as flat numpy arrays over all trees (internal nodes, then leaves).

    Build with `from_text` or `from_file`; then `predict_raw` (sum of leaf values, LightGBM's
    ``raw_score=True``), `predict` (with the objective's link) and `predict_contrib` (LightGBM's
    ``pred_contrib=True``: one column per feature plus the expected value last).
    """

    def __init__(self, header: dict[str, str], trees: list[Tree]) -> None:
        if int(header.get("num_tree_per_iteration", "1")) != 1:
            raise TreeModelError("multiclass models (num_tree_per_iteration > 1) are not supported")
        self.feature_names: tuple[str, ...] = tuple(header.get("feature_names", "").split())
        self.n_features = int(header.get("max_feature_idx", "-1")) + 1
        if len(self.feature_names) != self.n_features:
            self.feature_names = tuple(f"Column_{i}" for i in range(self.n_features))
        objective = header.get("objective", "regression").split()
        self.objective = objective[0] if objective else "regression"
        self.sigmoid = 1.0
        for option in objective[1:]:
            if option.startswith("sigmoid:"):
                self.sigmoid = float(option.split(":", 1)[1])
        self.average_output = "average_output" in header
        self.n_trees = len(trees)
        self._flatten(trees)
        self._trees = trees
        self._shap: _Shap | None = None

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_text(cls, text: str) -> TreeEnsemble:
        """Parse ``Booster.model_to_string()`` output (or a saved ``model.txt``)."""
        header, blocks = split_text(text)
        return cls(header, [parse_tree(b, i) for i, b in enumerate(blocks)])

    @classmethod
    def from_file(cls, path: str | Path) -> TreeEnsemble:
        """Read a LightGBM model text file."""
        return cls.from_text(Path(path).read_text(encoding="utf-8"))

    def _flatten(self, trees: list[Tree]) -> None:
        """Concatenate trees: children become global indices (internal >= 0, leaf = ~global)."""
        feats, thr, dec, left, right, values, roots = [], [], [], [], [], [], []
        n_int = n_leaf = 0
        for t in trees:

            def glob(child: IntArray, i0: int = n_int, l0: int = n_leaf) -> IntArray:
                out: IntArray = np.where(child >= 0, child + i0, ~(~child + l0))
                return out

            roots.append(n_int if len(t.left) else ~n_leaf)
            feats.append(t.split_feature)
            thr.append(t.threshold)
            dec.append(t.decision_type)
            left.append(glob(t.left))
            right.append(glob(t.right))
            values.append(t.leaf_value)
            n_int += len(t.left)
            n_leaf += len(t.leaf_value)
        self.split_feature = np.concatenate(feats).astype(np.int64)
        if self.split_feature.size and self.split_feature.max() >= self.n_features:
            raise TreeModelError(
                f"a split uses feature {int(self.split_feature.max())} but the model declares "
                f"{self.n_features} features"
            )
        self.threshold = np.concatenate(thr).astype(np.float64)
        decision = np.concatenate(dec).astype(np.int64)
        self.default_left = (decision & 2).astype(bool)
        self.missing_type = (decision >> 2) & 3
        self.left = np.concatenate(left).astype(np.int64)
        self.right = np.concatenate(right).astype(np.int64)
        self.leaf_value = np.concatenate(values).astype(np.float64)
        self.roots = np.array(roots, dtype=np.int64)

    # --------------------------------------------------------------- decisions
    def _go_left(self, value: FloatArray, node: IntArray) -> BoolArray:
        """LightGBM's NumericalDecision for feature values at internal nodes (same shapes)."""
        isnan = np.isnan(value)
        mt = self.missing_type[node]
        v = np.where(isnan & (mt != 2), 0.0, value)
        missing = ((mt == 1) & (np.abs(v) <= K_ZERO_THRESHOLD)) | ((mt == 2) & isnan)
        with np.errstate(invalid="ignore"):
            le = v <= self.threshold[node]
        out: BoolArray = np.where(missing, self.default_left[node], le)
        return out

    def _matrix(self, rows: npt.ArrayLike) -> FloatArray:
        return feature_rows(rows, self.feature_names)

    def _leaves(self, x: FloatArray) -> IntArray:
        """Global leaf index reached in every tree, shape (rows, trees)."""
        node = np.broadcast_to(self.roots, (len(x), self.n_trees)).copy()
        rows = np.arange(len(x))[:, None]
        active = node >= 0
        while active.any():
            idx = np.where(active, node, 0)
            go_left = self._go_left(x[rows, self.split_feature[idx]], idx)
            nxt = np.where(go_left, self.left[idx], self.right[idx])
            node = np.where(active, nxt, node)
            active = node >= 0
        out: IntArray = ~node
        return out

    # --------------------------------------------------------------- prediction
    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        """Raw scores (LightGBM ``raw_score=True``), shape (rows,)."""
        x = self._matrix(rows)
        step = max(1, _CHUNK_CELLS // max(self.n_trees, 1))
        out = np.empty(len(x), dtype=np.float64)
        for s in range(0, len(x), step):
            out[s : s + step] = self.leaf_value[self._leaves(x[s : s + step])].sum(axis=1)
        return out

    def predict(self, rows: npt.ArrayLike) -> FloatArray:
        """Predictions on the objective's scale (probabilities for binary / cross-entropy).

        In random-forest mode (``average_output``) LightGBM averages the trees here, while its
        raw scores and contributions stay sums; this evaluator does the same.
        """
        raw = self.predict_raw(rows)
        if self.average_output:
            raw = raw / self.n_trees
        if self.objective == "binary":
            return _sigmoid(self.sigmoid * raw)
        if self.objective in {"cross_entropy", "xentropy"}:
            return _sigmoid(raw)
        if self.objective in {"poisson", "gamma", "tweedie"}:
            out: FloatArray = np.exp(raw)
            return out
        return raw

    # ------------------------------------------------------------ contributions
    def _shap_paths(self) -> _Shap:
        """Per-leaf root-to-leaf paths with duplicate features merged (built once, lazily)."""
        rows: list[_LeafPath] = []  # per leaf: edge nodes, directions, slots; slot features, zeros
        bias = 0.0
        n_int = 0
        for t in self._trees:
            if len(t.left) == 0:
                bias += float(t.leaf_value[0])
                rows.append(([], [], [], [], []))
                continue
            bias += float(np.dot(t.leaf_value, t.leaf_count) / t.internal_count[0])
            left, right = t.left.tolist(), t.right.tolist()
            feat = t.split_feature.tolist()
            inner, leaf_n = t.internal_count.tolist(), t.leaf_count.tolist()
            found: dict[int, list[tuple[int, bool]]] = {}
            stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
            while stack:
                node, path = stack.pop()
                for child, is_left in ((left[node], True), (right[node], False)):
                    p = [*path, (node, is_left)]
                    if child < 0:
                        found[~child] = p
                    else:
                        stack.append((child, p))
            for leaf in range(len(t.leaf_value)):
                features: list[int] = []
                zero: list[float] = []
                for node, is_left in found[leaf]:
                    f = feat[node]
                    child = left[node] if is_left else right[node]
                    ratio = (inner[child] if child >= 0 else leaf_n[~child]) / inner[node]
                    if f in features:  # LightGBM unwinds the earlier split and re-extends last
                        k = features.index(f)
                        ratio *= zero.pop(k)
                        features.pop(k)
                    features.append(f)
                    zero.append(ratio)
                slot_of = {f: k + 1 for k, f in enumerate(features)}
                path = found[leaf]
                rows.append(
                    (
                        [node + n_int for node, _ in path],
                        [il for _, il in path],
                        [slot_of[feat[node]] for node, _ in path],
                        features,
                        zero,
                    )
                )
            n_int += len(t.left)
        depth = max(1, max(len(r[0]) for r in rows))
        width = max(1, max(len(r[3]) for r in rows)) + 1
        trash = self.n_features + 1

        def pad(values: list[Any], size: int, fill: Any, lead: list[Any]) -> list[Any]:
            return [*lead, *values, *([fill] * (size - len(values) - len(lead)))]

        return _Shap(
            edge_node=np.array([pad(r[0], depth, 0, []) for r in rows], np.int64),
            edge_left=np.array([pad(r[1], depth, True, []) for r in rows], bool),
            edge_pad=np.arange(depth)[None, :] >= np.array([len(r[0]) for r in rows])[:, None],
            edge_slot=np.array([pad(r[2], depth, 0, []) for r in rows], np.int64),
            slot_feature=np.array([pad(r[3], width, trash, [trash]) for r in rows], np.int64),
            slot_zero=np.array([pad(r[4], width, 1.0, [1.0]) for r in rows], np.float64),
            bias=bias,
        )

    def _one_fractions(self, x: FloatArray, s: _Shap) -> FloatArray:
        """(rows, leaves, U + 1): 1 where the row follows every split of the slot's feature."""
        value = x[:, self.split_feature]  # (rows, internal)
        node = np.arange(len(self.split_feature))
        go_left = self._go_left(value, np.broadcast_to(node, value.shape))
        follows = (go_left[:, s.edge_node] == s.edge_left) | s.edge_pad  # (rows, leaves, depth)
        one = np.ones((len(x), *s.slot_zero.shape), dtype=np.float64)
        leaves = np.arange(s.slot_zero.shape[0])
        for d in range(s.edge_node.shape[1]):
            one[:, leaves, s.edge_slot[:, d]] *= follows[:, :, d]
        return one

    @staticmethod
    def _extend(zero: FloatArray, one: FloatArray) -> FloatArray:
        """EXTEND over all path elements: permutation weights of the full path (..., U + 1)."""
        width = zero.shape[-1]
        pw = np.zeros(one.shape, dtype=np.float64)
        pw[..., 0] = 1.0
        pos = np.arange(width, dtype=np.float64)
        for d in range(1, width):
            old = pw[..., : d + 1]
            shifted = np.concatenate([np.zeros_like(old[..., :1]), old[..., :-1]], axis=-1)
            z = zero[..., d : d + 1]
            o = one[..., d : d + 1]
            p = pos[: d + 1]
            pw[..., : d + 1] = z * old * (d - p) / (d + 1) + o * shifted * p / (d + 1)
        return pw

    @staticmethod
    def _unwound_sums(pw: FloatArray, zero: FloatArray, one: FloatArray) -> FloatArray:
        """UnwoundPathSum for every path element at once, shape (..., U + 1)."""
        depth = pw.shape[-1] - 1
        total = np.zeros(one.shape, dtype=np.float64)
        nxt = np.broadcast_to(pw[..., depth : depth + 1], one.shape).copy()
        has_one = one != 0
        safe_one = np.where(has_one, one, 1.0)
        safe_zero = np.where(zero != 0, zero, 1.0)
        for i in range(depth - 1, -1, -1):
            frac = (depth - i) / float(depth + 1)
            tmp = nxt * (depth + 1) / ((i + 1) * safe_one)
            total += np.where(has_one, tmp, pw[..., i : i + 1] / safe_zero / frac)
            nxt = pw[..., i : i + 1] - tmp * zero * frac
        return total

    def predict_contrib(self, rows: npt.ArrayLike) -> FloatArray:
        """TreeSHAP contributions (LightGBM ``pred_contrib=True``), shape (rows, features + 1).

        Each row sums to `predict_raw`; the last column is the model's expected raw score.
        """
        x = self._matrix(rows)
        if self._shap is None:
            self._shap = self._shap_paths()
        s = self._shap
        n_leaf, width = s.slot_zero.shape
        out = np.zeros((len(x), self.n_features + 1), dtype=np.float64)
        out[:, -1] = s.bias
        if len(self.split_feature) == 0:  # only single-leaf trees: everything is the bias
            return out
        step = max(1, _CHUNK_CELLS // max(n_leaf * max(width, s.edge_node.shape[1]), 1))
        cols = self.n_features + 2
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            one = self._one_fractions(chunk, s)
            zero = np.broadcast_to(s.slot_zero, one.shape)
            pw = self._extend(zero, one)
            w = self._unwound_sums(pw, zero, one)
            phi = w * (one - zero) * self.leaf_value[:, None]
            phi[..., 0] = 0.0
            flat = (np.arange(len(chunk))[:, None, None] * cols + s.slot_feature).ravel()
            sums = np.bincount(flat, weights=phi.ravel(), minlength=len(chunk) * cols)
            out[start : start + len(chunk), : self.n_features] = sums.reshape(len(chunk), cols)[
                :, : self.n_features
            ]
        return out
