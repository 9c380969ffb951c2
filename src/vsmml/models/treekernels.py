"""The numba kernels of `models.treefast`: LightGBM's decisions, raw scores, the TreeSHAP table
reads of a row, and the closed form that fills the tables.

The closed form, for a leaf of value v, path features F (|F| = d) with cover products z_j, the
followed set O (|O| = m), Z = prod_{j not in O} z_j and w(k) = k! (d-k-1)! / d!:
feature i in O gets v (1 - z_i) Z sum_k w(k) e_{m-1-k}(z over O without i); feature i not in O
gets -v Z sum_k w(k) e_{m-k}(z over O), with e_r the elementary symmetric polynomials.

Every index `contrib` uses is unsigned: numba then skips the negative-index wrap-around
on each array access, which made up about a third of a row's time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from vsmml.models.treeeval import K_ZERO_THRESHOLD

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SmallInts = npt.NDArray[np.integer[Any]]
UInts = npt.NDArray[np.unsignedinteger[Any]]

__all__ = ["UNTABLED", "contrib", "raw", "tables"]

UNTABLED: Final = np.uint64(1 << 63)
"""`unit_table` of a unit computed per row (its leaf has more than the table width's features)."""

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
def raw(
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
def contrib(
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
            if unit_table[u] != UNTABLED:  # a unit's d values are adjacent: one or two lines
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
def tables(
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
