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

UNTABLED: Final = np.uint32(0xFFFFFFFF)
"""`unit_table` of a unit computed per row (its leaf has more than the table width's features)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(fn: _F) -> _F:
    """`numba.njit` (compiled on first call, releasing the GIL), typed for mypy."""
    return cast(_F, numba.njit(nogil=True, cache=False)(fn))


@_compiled
def _left(fval: float, threshold: float, flags: int) -> bool:
    """LightGBM's NumericalDecision (`TreeEnsemble._go_left` for one value); `flags` is the
    missing type (0 None, 1 Zero, 2 NaN) plus 4 when missing values go left."""
    missing = flags & 3
    isnan = np.isnan(fval)
    if isnan and missing != 2:
        fval = 0.0
    if (missing == 1 and abs(fval) <= K_ZERO_THRESHOLD) or (missing == 2 and isnan):
        return (flags & 4) != 0
    return fval <= threshold


@_compiled
def raw(
    x: FloatArray,
    roots: SmallInts,
    feature: UInts,
    threshold: FloatArray,
    flags: UInts,
    left: SmallInts,
    right: SmallInts,
    leaf_value: FloatArray,
) -> FloatArray:
    out = np.zeros(x.shape[0])
    for r in range(x.shape[0]):
        total = 0.0
        for t in range(roots.shape[0]):
            node = roots[t]
            while node >= 0:
                go = _left(x[r, feature[node]], threshold[node], flags[node])
                node = left[node] if go else right[node]
            total += leaf_value[~node]
        out[r] = total
    return out


@_compiled
def contrib(
    x: FloatArray,
    feature: UInts,
    threshold: FloatArray,
    flags: UInts,
    root_mask: UInts,
    up_left: UInts,
    up_right: UInts,
    up_slot: UInts,
    unit_node0: UInts,
    unit_shift: UInts,
    unit_width: UInts,
    unit_table: UInts,
    unit_slot: UInts,
    unit_feature: UInts,
    unit_full: UInts,
    unit_zero: UInts,
    unit_leaf: UInts,
    table: FloatArray,
    slot_zero: FloatArray,
    leaf_value: FloatArray,
    bias: float,
) -> FloatArray:
    n_rows, n_features = x.shape
    n_int = feature.shape[0]
    n_up = up_slot.shape[0]
    n_units = unit_width.shape[0]
    out = np.zeros((n_rows, n_features + 1))
    scratch = np.empty(2 * 64 + 2, np.float64)
    values = np.empty(64, np.float64)
    # per node above every unit, then per unit: bit s set = the row leaves the path at slot
    # s's feature (a unit reads it at its root)
    mask = np.empty(n_up + n_units, np.uint64)
    phi = np.zeros(n_features)
    one = np.uint64(1)
    go = np.empty(n_int, np.uint8)
    for r in range(n_rows):
        xr = x[r]
        # every decision first (a loop without dependencies: the compiler vectorises it)
        for n in range(n_int):
            go[n] = _left(xr[feature[n]], threshold[n], flags[n])
        for t in range(root_mask.shape[0]):
            mask[root_mask[t]] = 0
        for n in range(n_up):  # parents before children: every mask is set before it is read
            m = mask[n]
            g = np.uint64(go[n])
            bit = np.uint64(up_slot[n])
            mask[up_left[n]] = m | ((one - g) << bit)
            mask[up_right[n]] = m | (g << bit)
        phi[:] = 0.0
        for u in range(n_units):
            d = np.uint64(unit_width[u])
            s0 = np.uint64(unit_slot[u])
            m = mask[n_up + u]
            if unit_table[u] != UNTABLED:  # one line of d adjacent values
                # the unit's decisions, bit b = the row goes left at its node b (adjacent)
                s = np.uint64(unit_shift[u])
                n0 = np.uint64(unit_node0[u])
                code = np.uint64(0)
                for b in range(s):
                    code |= np.uint64(go[n0 + b]) << b
                base = np.uint64(unit_table[u]) + ((m << s) | code) * d
                for k in range(d):
                    phi[unit_feature[s0 + k]] += table[base + k]
            else:
                z0 = unit_zero[u]
                _leaf(slot_zero[z0 : z0 + d], leaf_value[unit_leaf[u]], unit_full[u] & ~m,
                      scratch, values)  # fmt: skip
                for k in range(d):
                    phi[unit_feature[s0 + k]] += values[k]
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
    unit_p: IntArray,
    unit_s: IntArray,
    unit_width: IntArray,
    unit_table: IntArray,
    leaf0: IntArray,
    entry_leaf: IntArray,
    entry_map: IntArray,
    path0: IntArray,
    step_slot: IntArray,
    step_bit: IntArray,
    step_left: IntArray,
    slot_map: IntArray,
    slot_start: IntArray,
    leaf_width: IntArray,
    slot_zero: FloatArray,
    leaf_value: FloatArray,
    table: FloatArray,
) -> None:
    e = np.empty(2 * 64 + 2, np.float64)
    values = np.empty(64, np.float64)
    for u in range(unit_p.shape[0]):
        if unit_table[u] < 0:
            continue
        s = unit_s[u]
        w = unit_width[u]
        for index in range(1 << (unit_p[u] + s)):  # leaves above the root, decisions inside
            above = index >> s
            base = unit_table[u] + index * w
            for en in range(leaf0[u], leaf0[u + 1]):
                leaf = entry_leaf[en]
                d = leaf_width[leaf]
                left = above
                for st in range(path0[en], path0[en + 1]):
                    if ((index >> step_bit[st]) & 1) != step_left[st]:
                        left |= 1 << step_slot[st]
                z = slot_zero[slot_start[leaf] : slot_start[leaf] + d]
                _leaf(z, leaf_value[leaf], ((1 << d) - 1) & ~left, e, values)
                m0 = entry_map[en]
                for j in range(d):
                    table[base + slot_map[m0 + j]] += values[j]
