"""Compiled tree evaluation for a long-running server: raw scores and TreeSHAP from leaf tables.

Path-dependent TreeSHAP (what LightGBM's ``pred_contrib=True`` returns) costs O(leaves x depth²)
a row: about 1.7 ms on the shipped model (326 trees x 31 leaves) in LightGBM's own C++, too slow
for thousands of fresh explanations a second on one core. Its value at one leaf depends on the
row only through which of the leaf's path features the row "follows" (all splits of that
feature on the path go the row's way): with d unique path features there are 2^d patterns,
and for each the d per-feature values are a closed form (in `models.treekernels`, with the
numba kernels). `TableTrees` precomputes them once per model for small subtrees of leaves at
a time (`models.treeunits`: about 8 M numbers, 65 MB for the shipped model, about a second,
plus two seconds compiling the kernels), so a row costs one pass over the internal nodes plus
one table read per subtree: about 0.04 ms a row here, 40x less than LightGBM; more when other
work evicts the table from the caches (`_layout` keeps what a row reads small for that).

Numbers agree with LightGBM (and `vsmml.models.treeeval`) to about 1e-13: the sums run in
another order. Raw scores walk the trees in LightGBM's order and decisions follow its
NumericalDecision (missing types None / Zero / NaN, default direction), so they are LightGBM's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vsmml.models.treeeval import TreeEnsemble, feature_rows
from vsmml.models.treekernels import UNTABLED, FloatArray, IntArray, contrib, raw, tables
from vsmml.models.treetext import TreeModelError
from vsmml.models.treeunits import MAX_LEAVES, Units, group

TABLE_WIDTH: Final[int] = 16
"""Leaves of up to this many path features are tabulated (2^16 x 16 values at most); wider
ones are computed per row, about 20x slower per leaf than a table read (the shipped model's
widest path has 12)."""
MAX_TABLE_CELLS: Final[int] = 64_000_000
"""Largest table built (512 MB of float64); deeper models are refused (`TreeModelError`)."""

__all__ = ["MAX_TABLE_CELLS", "TABLE_WIDTH", "TableTrees"]

# the kernels take `_layout`'s arrays as they come (a tuple of its own length per kernel)
_contrib: Callable[..., FloatArray] = contrib
_raw: Callable[..., FloatArray] = raw


class TableTrees:
    """A `TreeEnsemble`'s trees compiled for a server: `predict_raw` and `predict_contrib`
    (LightGBM's ``raw_score`` and ``pred_contrib``) from precomputed leaf tables."""

    def __init__(
        self,
        ensemble: TreeEnsemble,
        *,
        table_width: int = TABLE_WIDTH,
        max_cells: int = MAX_TABLE_CELLS,
        max_leaves: int = MAX_LEAVES,
    ) -> None:
        """Tabulate the leaves of at most `table_width` path features (the others are
        computed per row), subtrees of up to `max_leaves` leaves in one table each
        (`models.treeunits`); tables over `max_cells` or paths of more than 62 features are
        refused with `TreeModelError`: use LightGBM's booster for such a model."""
        e = ensemble
        self.n_features = e.n_features
        self.feature_names = tuple(e.feature_names)
        self.n_trees = e.n_trees
        paths = _Paths(e)
        width = np.array([len(f) for f in paths.leaf_features], np.int64)
        units = group(e, paths.leaf_features, paths.node_slot, table_width, max_leaves)
        cells = units.cells()
        total = int(cells.sum())
        if total > max_cells or int(width.max(initial=0)) > 62:
            raise TreeModelError(
                f"TreeSHAP tables of {total:,} cells exceed {max_cells:,}: the trees are too deep"
            )
        if total >= int(UNTABLED):
            raise TreeModelError(f"TreeSHAP tables of {total:,} cells: too many to index")
        leaf_value = np.ascontiguousarray(e.leaf_value, np.float64)
        slot_start = np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64)
        slot_zero = np.array([z for zs in paths.leaf_zero for z in zs], np.float64)
        unit_table = np.concatenate([[0], np.cumsum(cells)[:-1]]).astype(np.int64)
        unit_table[~np.array(units.tabled, bool)] = -1
        unit_width = np.array([len(f) for f in units.features], np.int64)
        unit_slot = np.concatenate([[0], np.cumsum(unit_width)[:-1]]).astype(np.int64)
        entry_width = width[np.array(units.leaf, np.int64)]
        entry_map = np.concatenate([[0], np.cumsum(entry_width)[:-1]]).astype(np.int64)
        i64 = np.int64
        # numpy's own allocation: it asks Linux for huge pages, so reading one unit's values
        # after another's does not miss the TLB every time (a third faster than numba's)
        table = np.zeros(total, np.float64)
        tables(
            np.array(units.p, i64), np.array(units.s, i64), unit_width, unit_table,
            np.array(units.leaf0, i64), np.array(units.leaf, i64), entry_map,
            np.array(units.path0, i64), np.array(units.step_slot, i64),
            np.array(units.step_bit, i64), np.array(units.step_left, i64),
            np.array([j for m in units.slot_map for j in m], i64),
            slot_start, width, slot_zero, leaf_value, table,
        )  # fmt: skip
        self._leaf_value = leaf_value
        self.n_units = len(units.root)
        self._shap, self._tree = _layout(e, paths, units, unit_table, unit_width, unit_slot,
                                         slot_start, table, slot_zero, leaf_value)  # fmt: skip
        self._bias = paths.bias
        # compile now (about 2 s), not on the first request the server answers
        self.predict_contrib(np.zeros((1, self.n_features)))
        self.predict_raw(np.zeros((1, self.n_features)))

    @property
    def table_bytes(self) -> int:
        """Memory held by the TreeSHAP tables."""
        return int(self._shap[16].nbytes)

    def _rows(self, rows: npt.ArrayLike) -> FloatArray:
        return np.ascontiguousarray(feature_rows(rows, self.feature_names))

    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        """Sum of leaf values per row (LightGBM ``raw_score=True``), shape (rows,)."""
        out = _raw(self._rows(rows), *self._tree, self._leaf_value)
        return out

    def predict_contrib(self, rows: npt.ArrayLike) -> FloatArray:
        """TreeSHAP values (LightGBM ``pred_contrib=True``), shape (rows, features + 1): one
        column per feature, the expected raw score last; each row sums to `predict_raw`."""
        out = _contrib(self._rows(rows), *self._shap, self._bias)
        return out


def _small(n: int) -> type[np.unsignedinteger[Any]]:
    """The smallest unsigned type holding 0..n."""
    for t in (np.uint8, np.uint16, np.uint32):
        if n <= np.iinfo(t).max:
            return t
    return np.uint64


def _layout(
    e: TreeEnsemble,
    paths: _Paths,
    units: Units,
    unit_table: IntArray,
    unit_width: IntArray,
    unit_slot: IntArray,
    slot_start: IntArray,
    table: FloatArray,
    slot_zero: FloatArray,
    leaf_value: FloatArray,
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The arrays `contrib` and `raw` read, in the smallest types, with the internal nodes
    renumbered: those above every unit first, parents before children, then each unit's own
    nodes side by side in its bit order. A row's pass then reads every array front to back
    and touches about half the memory it did (the 1 MB L2 holds it, and the interpreter's
    working set beside it)."""
    n_int = len(e.split_feature)
    n_units = len(units.root)
    node_unit = np.array(units.node_unit, np.int64)
    node_bit = np.array(units.node_bit, np.int64)
    first = np.where(paths.order < 0, ~paths.order, paths.order)  # parents first
    upper = first[node_unit[first] < 0]
    inside = np.flatnonzero(node_unit >= 0)
    inside = inside[np.lexsort((node_bit[inside], node_unit[inside]))]
    order = np.concatenate([upper, inside]).astype(np.int64)
    at = np.empty(n_int, np.int64)
    at[order] = np.arange(n_int)
    n_up = len(upper)
    unit_s = np.array(units.s, np.int64)
    unit_node0 = n_up + np.cumsum(unit_s) - unit_s  # each unit's first node
    # where a child's mask goes: an upper node's own slot, or the unit it is the root of
    unit_of = np.full(n_int + len(leaf_value), -1, np.int64)
    unit_of[np.array(units.root, np.int64)] = np.arange(n_units)

    def target(child: IntArray) -> IntArray:  # LightGBM child (~leaf for leaves) -> mask slot
        uni = np.where(child >= 0, child, n_int + ~child)
        internal_upper = (child >= 0) & (node_unit[np.maximum(child, 0)] < 0)
        out: IntArray = np.where(internal_upper, at[np.maximum(child, 0)], n_up + unit_of[uni])
        if (out[~internal_upper] < n_up).any():  # pragma: no cover - grouping invariant
            raise TreeModelError("a child below the units is not a unit's root")
        return out

    roots = np.asarray(e.roots, np.int64)  # ~leaf for a single-leaf tree (all bias)
    n_slots = n_up + n_units
    slot_t, feat_t, node_t = _small(n_slots), _small(e.n_features), _small(n_int)
    flags = np.asarray(e.missing_type, np.int64) + 4 * np.asarray(e.default_left, np.int64)
    feature = np.ascontiguousarray(np.asarray(e.split_feature, np.int64)[order].astype(feat_t))
    threshold = np.ascontiguousarray(np.asarray(e.threshold, np.float64)[order])
    flag = np.ascontiguousarray(flags[order].astype(np.uint8))
    offsets = np.where(unit_table >= 0, unit_table, int(UNTABLED)).astype(np.uint32)
    first_leaf = np.array(units.leaf, np.int64)[np.array(units.leaf0[:-1], np.int64)]
    shap = (
        feature,
        threshold,
        flag,
        target(roots[roots >= 0]).astype(slot_t),
        target(np.asarray(e.left, np.int64)[upper]).astype(slot_t),
        target(np.asarray(e.right, np.int64)[upper]).astype(slot_t),
        paths.node_slot[upper].astype(np.uint8),
        unit_node0.astype(node_t),
        unit_s.astype(np.uint8),
        unit_width.astype(np.uint8),
        offsets,
        unit_slot.astype(np.uint32),
        np.array([f for fs in units.features for f in fs], feat_t),
        (np.left_shift(np.int64(1), unit_width) - 1).astype(np.uint64),
        slot_start[first_leaf].astype(np.uint32),
        first_leaf.astype(np.uint32),
        table,
        slot_zero,
        leaf_value,
    )

    def moved(child: IntArray) -> IntArray:  # internal children renumbered, leaves ~leaf
        padded = np.append(at, 0)  # a model of single leaves has no internal node
        out: IntArray = np.where(child >= 0, padded[np.where(child >= 0, child, n_int)], child)
        return out

    tree = (
        np.ascontiguousarray(moved(roots).astype(np.int32)),
        feature,
        threshold,
        flag,
        np.ascontiguousarray(moved(np.asarray(e.left, np.int64)[order]).astype(np.int32)),
        np.ascontiguousarray(moved(np.asarray(e.right, np.int64)[order]).astype(np.int32)),
    )
    return shap, tree


class _Paths:
    """Every leaf's unique path features (first-occurrence order) with their cover products,
    each internal node's slot (its feature's place in that order, the same for every leaf
    below it), a parents-first node order (roots marked ~node) and the expected raw score."""

    def __init__(self, e: TreeEnsemble) -> None:
        self.leaf_features: list[list[int]] = []
        self.leaf_zero: list[list[float]] = []
        slots: list[int] = []
        order: list[int] = []
        self.bias = 0.0
        n_int = 0
        for t in e._trees:
            n_leaves = len(t.leaf_value)
            feats: list[list[int]] = [[] for _ in range(n_leaves)]
            zeros: list[list[float]] = [[] for _ in range(n_leaves)]
            if len(t.left) == 0:
                self.bias += float(t.leaf_value[0])
            else:
                self.bias += float(np.dot(t.leaf_value, t.leaf_count) / t.internal_count[0])
                left, right = t.left.tolist(), t.right.tolist()
                feature, inner = t.split_feature.tolist(), t.internal_count.tolist()
                leaf_n = t.leaf_count.tolist()
                node_slot = [0] * len(left)
                queue: list[tuple[int, list[int], list[float]]] = [(0, [], [])]
                head = 0
                while head < len(queue):
                    node, fs, zs = queue[head]
                    head += 1
                    order.append(node + n_int if head > 1 else ~(node + n_int))
                    f = feature[node]
                    if f not in fs:
                        fs, zs = [*fs, f], [*zs, 1.0]
                    k = fs.index(f)
                    node_slot[node] = k
                    for child in (left[node], right[node]):
                        count = inner[child] if child >= 0 else leaf_n[~child]
                        z = [*zs]
                        z[k] *= count / inner[node]
                        if child >= 0:
                            queue.append((child, fs, z))
                        else:
                            feats[~child], zeros[~child] = fs, z
                slots.extend(node_slot)
                n_int += len(left)
            self.leaf_features.extend(feats)
            self.leaf_zero.extend(zeros)
        self.node_slot = np.array(slots, np.int64)
        self.order = np.array(order, np.int64)
