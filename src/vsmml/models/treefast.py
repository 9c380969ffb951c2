"""Compiled tree evaluation for a long-running server: raw scores and TreeSHAP from leaf tables.

Path-dependent TreeSHAP (what LightGBM's ``pred_contrib=True`` returns) costs O(leaves x depth²)
a row: about 1.7 ms on the shipped model (326 trees x 31 leaves) in LightGBM's own C++, too slow
for thousands of fresh explanations a second on one core. Its value at one leaf depends on the
row only through which of the leaf's path features the row "follows" (all splits of that
feature on the path go the row's way): with d unique path features there are 2^d patterns,
and for each the d per-feature values are a closed form (below). `TableTrees` precomputes them
once per model (about 7 M numbers, 54 MB for the shipped model: half a second, plus two seconds
compiling the kernels), so a row costs one pass over the internal nodes plus one table read per
leaf (two sibling leaves share one): about 0.13-0.15 ms a row here, 11-13x less than LightGBM;
more when other work evicts the table from the caches.

The closed form, for a leaf of value v, path features F (|F| = d) with cover products z_j, the
followed set O (|O| = m), Z = prod_{j not in O} z_j and w(k) = k! (d-k-1)! / d!:
feature i in O gets v (1 - z_i) Z sum_k w(k) e_{m-1-k}(z over O without i); feature i not in O
gets -v Z sum_k w(k) e_{m-k}(z over O), with e_r the elementary symmetric polynomials.

Numbers agree with LightGBM (and `vsmml.models.treeeval`) to about 1e-13: the sums run in
another order. Raw scores walk the trees in LightGBM's order and decisions follow its
NumericalDecision (missing types None / Zero / NaN, default direction), so they are LightGBM's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from vsmml.models.treeeval import K_ZERO_THRESHOLD, TreeEnsemble, feature_rows
from vsmml.models.treetext import TreeModelError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SmallInts = npt.NDArray[np.integer[Any]]
UInts = npt.NDArray[np.unsignedinteger[Any]]

TABLE_WIDTH: Final[int] = 16
"""Leaves of up to this many path features are tabulated (2^16 x 16 values at most); wider
ones are computed per row, about 20x slower per leaf than a table read (the shipped model's
widest path has 12)."""
MAX_TABLE_CELLS: Final[int] = 64_000_000
"""Largest table built (512 MB of float64); deeper models are refused (`TreeModelError`)."""

__all__ = ["MAX_TABLE_CELLS", "TABLE_WIDTH", "TableTrees"]

_UNTABLED: Final = np.uint64(1 << 63)
"""`unit_table` of a unit computed per row (its leaf has more than `TABLE_WIDTH` features)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(fn: _F) -> _F:
    """`numba.njit` (compiled on first call, releasing the GIL), typed for mypy."""
    return cast(_F, numba.njit(nogil=True, cache=False)(fn))


@_compiled
def _left(fval: float, threshold: float, missing: int, default_left: bool) -> bool:
    """LightGBM's NumericalDecision (`TreeEnsemble._go_left` for one value)."""
    isnan = np.isnan(fval)
    if isnan and missing != 2:
        fval = 0.0
    if (missing == 1 and abs(fval) <= K_ZERO_THRESHOLD) or (missing == 2 and isnan):
        return default_left
    return fval <= threshold


@_compiled
def _raw(
    x: FloatArray,
    roots: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    missing: IntArray,
    default_left: npt.NDArray[np.bool_],
    left: IntArray,
    right: IntArray,
    leaf_value: FloatArray,
) -> FloatArray:
    out = np.zeros(x.shape[0])
    for r in range(x.shape[0]):
        total = 0.0
        for t in range(roots.shape[0]):
            node = roots[t]
            while node >= 0:
                go = _left(x[r, feature[node]], threshold[node], missing[node], default_left[node])
                node = left[node] if go else right[node]
            total += leaf_value[~node]
        out[r] = total
    return out


@_compiled
def _contrib(
    x: FloatArray,
    order: UInts,
    feature: UInts,
    threshold: FloatArray,
    missing: SmallInts,
    default_left: npt.NDArray[np.bool_],
    left: UInts,
    right: UInts,
    node_slot: UInts,
    unit_a: UInts,
    unit_b: UInts,
    unit_twig: UInts,
    unit_k: UInts,
    unit_full: UInts,
    unit_width: UInts,
    unit_table: UInts,
    unit_slot: UInts,
    slot_feature: UInts,
    table: FloatArray,
    slot_zero: FloatArray,
    leaf_value: FloatArray,
    bias: float,
) -> FloatArray:
    # Every index is unsigned: numba then skips the negative-index wrap-around on each array
    # access, which made up about a third of a row's time.
    n_rows, n_features = x.shape
    n_int = feature.shape[0]
    out = np.zeros((n_rows, n_features + 1))
    scratch = np.empty(2 * 64 + 2, np.float64)
    values = np.empty(64, np.float64)
    # per node (internal, then leaves): bit s set = the row leaves the path at slot s's feature;
    # roots stay 0 (no node writes them)
    mask = np.zeros(n_int + leaf_value.shape[0], np.uint64)
    phi = np.zeros(n_features)
    leaves = np.uint64(n_int)
    one, zero = np.uint64(1), np.uint64(0)
    for r in range(n_rows):
        xr = x[r]
        for i in range(n_int):  # parents before children: every mask is set before it is read
            n = order[i]
            m = mask[n]
            go = one if _left(xr[feature[n]], threshold[n], missing[n], default_left[n]) else zero
            bit = node_slot[n]
            mask[left[n]] = m | ((one - go) << bit)
            mask[right[n]] = m | (go << bit)
        phi[:] = 0.0
        for u in range(unit_a.shape[0]):
            d = unit_width[u]
            full = unit_full[u]
            pa = full & ~mask[leaves + unit_a[u]]
            s0 = unit_slot[u]
            if unit_table[u] != _UNTABLED:  # a unit's d values are adjacent: one or two lines
                if unit_twig[u]:  # two sibling leaves: their pattern above, the way taken
                    pb = full & ~mask[leaves + unit_b[u]]
                    pa = ((pa | pb) << one) | ((pa >> unit_k[u]) & one)
                base = unit_table[u] + pa * d
                for k in range(d):
                    phi[slot_feature[s0 + k]] += table[base + k]
            else:
                _leaf(slot_zero[s0 : s0 + d], leaf_value[unit_a[u]], pa, scratch, values)
                for k in range(d):
                    phi[slot_feature[s0 + k]] += values[k]
        out[r, :n_features] = phi
        out[r, n_features] = bias
    return out


@_compiled
def _weighted_sum(z: FloatArray, pattern: int, d: int, skip: int, e: FloatArray) -> float:
    """sum_k w(k, d) e_{m-k}(z of the followed slots except `skip`), m those slots."""
    e[0] = 1.0
    m = 0
    for j in range(d):
        if j == skip or not (pattern >> j) & 1:
            continue
        m += 1
        e[m] = 0.0
        for q in range(m, 0, -1):
            e[q] += z[j] * e[q - 1]
    total = 0.0
    c = 1.0  # C(d - 1, k), built up with k: w(k, d) = 1 / (d * C(d - 1, k))
    for k in range(m + 1):
        total += e[m - k] / (d * c)
        c = c * (d - 1 - k) / (k + 1)
    return total


@_compiled
def _leaf(z: FloatArray, v: float, pattern: int, e: FloatArray, out: FloatArray) -> None:
    """One leaf's TreeSHAP values for the followed slots `pattern` (bit j: slot j) into out."""
    d = z.shape[0]
    unfollowed = 1.0
    m = 0
    for j in range(d):
        if (pattern >> j) & 1:
            m += 1
        else:
            unfollowed *= z[j]
    # every feature followed: no feature gets the unfollowed value
    off = -v * unfollowed * _weighted_sum(z, pattern, d, -1, e) if m < d else 0.0
    for j in range(d):
        if (pattern >> j) & 1:
            out[j] = v * (1.0 - z[j]) * unfollowed * _weighted_sum(z, pattern, d, j, e)
        else:
            out[j] = off


@_compiled
def _tables(
    unit_a: IntArray,
    unit_b: IntArray,
    unit_k: IntArray,
    unit_width: IntArray,
    unit_table: IntArray,
    slot_start: IntArray,
    slot_zero: FloatArray,
    leaf_value: FloatArray,
    table: FloatArray,
) -> None:
    e = np.empty(2 * 64 + 2, np.float64)
    va = np.empty(64, np.float64)
    vb = np.empty(64, np.float64)
    for u in range(unit_a.shape[0]):
        d = unit_width[u]
        if d == 0 or unit_table[u] < 0:
            continue
        a, b = unit_a[u], unit_b[u]
        za = slot_zero[slot_start[a] : slot_start[a] + d]
        if b < 0:
            for pattern in range(1 << d):
                base = unit_table[u] + pattern * d
                _leaf(za, leaf_value[a], pattern, e, table[base : base + d])
            continue
        zb = slot_zero[slot_start[b] : slot_start[b] + d]
        bit = 1 << unit_k[u]
        for above in range(1 << d):  # the siblings' pattern above their parent, and the way
            for way in range(2):  # the row goes there (1: left): each sibling's own pattern
                _leaf(za, leaf_value[a], above if way else above & ~bit, e, va)
                _leaf(zb, leaf_value[b], above & ~bit if way else above, e, vb)
                base = unit_table[u] + (2 * above + way) * d
                for j in range(d):
                    table[base + j] = va[j] + vb[j]


class TableTrees:
    """A `TreeEnsemble`'s trees compiled for a server: `predict_raw` and `predict_contrib`
    (LightGBM's ``raw_score`` and ``pred_contrib``) from precomputed leaf tables."""

    def __init__(
        self,
        ensemble: TreeEnsemble,
        *,
        table_width: int = TABLE_WIDTH,
        max_cells: int = MAX_TABLE_CELLS,
    ) -> None:
        """Tabulate the leaves of at most `table_width` path features (the others are
        computed per row); tables over `max_cells` or paths of more than 62 features are
        refused with `TreeModelError`: use LightGBM's booster for such a model."""
        e = ensemble
        self.n_features = e.n_features
        self.feature_names = tuple(e.feature_names)
        self.n_trees = e.n_trees
        paths = _Paths(e)
        width = np.array([len(f) for f in paths.leaf_features], np.int64)
        tabled = width <= table_width
        cells = np.where(tabled, np.left_shift(np.int64(1), np.minimum(width, 62)) * width, 0)
        total = int(cells.sum())
        if total > max_cells or int(width.max(initial=0)) > 62:
            raise TreeModelError(
                f"TreeSHAP tables of {total:,} cells exceed {max_cells:,}: the trees are too deep"
            )
        n_int = len(e.split_feature)

        def unified(child: IntArray) -> IntArray:  # one index space: internal nodes, leaves
            out: IntArray = np.where(child >= 0, child, n_int + ~child).astype(np.int64)
            return out

        self._tree = (
            np.ascontiguousarray(e.roots, np.int64),
            np.ascontiguousarray(e.split_feature, np.int64),
            np.ascontiguousarray(e.threshold, np.float64),
            np.ascontiguousarray(e.missing_type, np.int64),
            np.ascontiguousarray(e.default_left, np.bool_),
            np.ascontiguousarray(e.left, np.int64),
            np.ascontiguousarray(e.right, np.int64),
        )
        leaf_value = np.ascontiguousarray(e.leaf_value, np.float64)
        slot_start = np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64)
        slot_zero = np.array([z for zs in paths.leaf_zero for z in zs], np.float64)
        # units: two tabulated sibling leaves share one table (one read instead of two, same
        # size); every other leaf is a unit of its own
        twigs = np.array([t for t in paths.twigs if tabled[t[0]]], np.int64).reshape(-1, 3)
        single = np.ones(len(width), bool)
        single[twigs[:, :2].ravel()] = False
        alone = np.flatnonzero(single)
        by = np.argsort(np.concatenate([twigs[:, 0], alone]), kind="stable")
        unit_a = np.concatenate([twigs[:, 0], alone])[by]
        unit_b = np.concatenate([twigs[:, 1], np.full(len(alone), -1)])[by]
        unit_k = np.concatenate([twigs[:, 2], np.zeros(len(alone), np.int64)])[by]
        unit_width = width[unit_a]
        pair = np.where(unit_b >= 0, 2, 1)
        unit_cells = np.where(tabled[unit_a], cells[unit_a] * pair, 0)
        unit_table = np.concatenate([[0], np.cumsum(unit_cells)[:-1]]).astype(np.int64)
        unit_table[~tabled[unit_a]] = -1
        # numpy's own allocation: it asks Linux for huge pages, so reading one unit's values
        # after another's does not miss the TLB every time (a third faster than numba's)
        table = np.zeros(total, np.float64)
        _tables(
            unit_a, unit_b, unit_k, unit_width, unit_table, slot_start, slot_zero, leaf_value, table
        )
        self._leaf_value = leaf_value
        # small unsigned types: what a row reads besides the table stays in L2
        u32, u64 = np.uint32, np.uint64
        roots = paths.order < 0
        offsets = np.where(unit_table >= 0, unit_table, 0).astype(u64)
        offsets[unit_table < 0] = _UNTABLED
        self._shap = (
            np.where(roots, ~paths.order, paths.order).astype(u32),
            self._tree[1].astype(u32),
            self._tree[2],
            self._tree[3].astype(np.int8),
            self._tree[4],
            unified(e.left).astype(u32),
            unified(e.right).astype(u32),
            paths.node_slot.astype(u64),
            unit_a.astype(u32),
            np.maximum(unit_b, 0).astype(u32),
            (unit_b >= 0).astype(np.uint8),
            unit_k.astype(u64),
            (np.left_shift(np.int64(1), unit_width) - 1).astype(u64),
            unit_width.astype(u64),
            offsets,
            slot_start[unit_a].astype(u64),
            np.array([f for fs in paths.leaf_features for f in fs], u32),
            table,
            slot_zero,
            leaf_value,
        )
        self._bias = paths.bias
        # compile now (about 2 s), not on the first request the server answers
        self.predict_contrib(np.zeros((1, self.n_features)))
        self.predict_raw(np.zeros((1, self.n_features)))

    @property
    def table_bytes(self) -> int:
        """Memory held by the TreeSHAP tables."""
        return int(self._shap[17].nbytes)

    def _rows(self, rows: npt.ArrayLike) -> FloatArray:
        return np.ascontiguousarray(feature_rows(rows, self.feature_names))

    def predict_raw(self, rows: npt.ArrayLike) -> FloatArray:
        """Sum of leaf values per row (LightGBM ``raw_score=True``), shape (rows,)."""
        out: FloatArray = _raw(self._rows(rows), *self._tree, self._leaf_value)
        return out

    def predict_contrib(self, rows: npt.ArrayLike) -> FloatArray:
        """TreeSHAP values (LightGBM ``pred_contrib=True``), shape (rows, features + 1): one
        column per feature, the expected raw score last; each row sums to `predict_raw`."""
        out: FloatArray = _contrib(self._rows(rows), *self._shap, self._bias)
        return out


class _Paths:
    """Every leaf's unique path features (first-occurrence order) with their cover products,
    each internal node's slot (its feature's place in that order, the same for every leaf
    below it), a parents-first node order (roots marked ~node) and the expected raw score."""

    def __init__(self, e: TreeEnsemble) -> None:
        self.leaf_features: list[list[int]] = []
        self.leaf_zero: list[list[float]] = []
        slots: list[int] = []
        order: list[int] = []
        self.twigs: list[tuple[int, int, int]] = []  # (left leaf, right leaf, parent's slot)
        self.bias = 0.0
        n_int = 0
        for t in e._trees:
            n_leaf = len(self.leaf_features)
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
                    if left[node] < 0 and right[node] < 0:
                        self.twigs.append((n_leaf + ~left[node], n_leaf + ~right[node], k))
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
