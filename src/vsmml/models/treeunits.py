"""How `models.treefast` groups each tree's leaves into units, each one TreeSHAP table read.

A unit is a subtree of at most `max_leaves` leaves rooted at node g. With P the unique
features above g (p of them: the first p slots of every leaf below g) and the s decisions
inside the subtree, the TreeSHAP values of all its leaves depend on a row only through which
of P the row leaves the path at (p bits, the mask a row's pass sets at g) and the s decisions
(one bit each): the unit's table holds, for each of the 2^(p+s) cases, the sum of its leaves'
values over the union of their path features. A row then reads one table line per unit
instead of one per leaf: the shipped model's 10,106 leaves are 3,311 units (`MAX_LEAVES`), and
a row's TreeSHAP takes about half the time it took with one read per pair of sibling leaves.
A leaf wider than the table width is a unit of its own, computed per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from vsmml.models.treeeval import TreeEnsemble

IntArray = npt.NDArray[np.int64]

MAX_LEAVES: Final[int] = 6
"""Leaves per unit, measured on the shipped model (10,106 leaves; a row's TreeSHAP in one
call): 2 (sibling pairs): 6,988 units, 42 MB, 97 us; 4: 4,444 units, 42 MB, 66-74 us;
6: 3,311 units, 65 MB, 57 us; 8: 2,633 units, 121 MB, 50 us."""


@dataclass
class Units:
    """The units of an ensemble, in tree order, as flat arrays (one entry per unit, per
    unit leaf, per step of a unit leaf's path inside its unit)."""

    root: list[int] = field(default_factory=list)  # unified index: internal node, or n_int + leaf
    p: list[int] = field(default_factory=list)  # mask bits read at the root
    s: list[int] = field(default_factory=list)  # decisions inside the unit
    tabled: list[bool] = field(default_factory=list)
    features: list[list[int]] = field(default_factory=list)  # the union, table column order
    leaf0: list[int] = field(default_factory=list)  # first entry of the unit's leaves
    # per unit leaf: the leaf, where its slots go in the union, its path inside the unit
    leaf: list[int] = field(default_factory=list)
    slot_map: list[list[int]] = field(default_factory=list)
    path0: list[int] = field(default_factory=list)
    # per path step: the node's slot (in the leaf's order), its bit in the unit's code, and
    # 1 when the leaf is to its left
    step_slot: list[int] = field(default_factory=list)
    step_bit: list[int] = field(default_factory=list)
    step_left: list[int] = field(default_factory=list)
    # per internal node: its unit (-1: above every unit) and its bit in that unit's code
    node_unit: list[int] = field(default_factory=list)
    node_bit: list[int] = field(default_factory=list)

    def cells(self) -> IntArray:
        """Table cells per unit (0 for a unit computed per row)."""
        width = np.array([len(f) for f in self.features], np.int64)
        bits = np.array(self.p, np.int64) + np.array(self.s, np.int64)
        out: IntArray = np.where(
            np.array(self.tabled, bool), np.left_shift(1, np.minimum(bits, 62)) * width, 0
        )
        return out


def group(
    e: TreeEnsemble,
    leaf_features: list[list[int]],
    node_slot: npt.NDArray[np.int64],
    table_width: int,
    max_leaves: int = MAX_LEAVES,
) -> Units:
    """The units of `e`: from each root down, a subtree of at most `max_leaves` leaves, all
    of at most `table_width` path features and indexed by at most `table_width` bits, is one
    unit; a leaf that is not part of one is a unit of its own (untabled when wider)."""
    u = Units()
    n_int_total = len(e.split_feature)
    n_int = n_leaf = 0
    for t in e._trees:
        left, right = t.left.tolist(), t.right.tolist()
        n_nodes = len(left)
        if n_nodes == 0:  # a single leaf: its value is all bias
            n_leaf += len(t.leaf_value)
            continue
        u.node_unit.extend([-1] * n_nodes)
        u.node_bit.extend([0] * n_nodes)
        below, widest = _sizes(left, right, [len(f) for f in leaf_features[n_leaf:]])

        def width_of(child: int, leaf_base: int = n_leaf) -> int:
            return len(leaf_features[leaf_base + ~child])

        stack: list[tuple[int, int]] = [(0, 0)]  # (local node, p); a leaf is ~leaf
        while stack:
            node, p = stack.pop()
            if node < 0:
                leaf = n_leaf + ~node
                d = width_of(node)
                _add(u, n_int_total + leaf, d, 0, d <= table_width, leaf_features[leaf])
                u.leaf.append(leaf)
                u.slot_map.append(list(range(d)))
                u.path0.append(len(u.step_slot))
                continue
            gid = n_int + node
            s = below[node] - 1
            # p + s bits index the table: no wider than a single leaf's table may be
            if below[node] <= max_leaves and widest[node] <= table_width and p + s <= table_width:
                _subtree(u, node, p, left, right, n_int, n_leaf, leaf_features, node_slot)
                continue
            k = int(node_slot[gid])
            q = p + 1 if k == p else p  # the node's feature is new on the path
            stack.extend([(right[node], q), (left[node], q)])
        n_int += n_nodes
        n_leaf += len(t.leaf_value)
    u.leaf0.append(len(u.leaf))  # ends: unit i's leaves are leaf0[i]:leaf0[i + 1]
    u.path0.append(len(u.step_slot))
    return u


def _sizes(left: list[int], right: list[int], widths: list[int]) -> tuple[list[int], list[int]]:
    """Leaves below each node and the widest path among them (children after parents in
    LightGBM's numbering is not guaranteed, so by an explicit post-order)."""
    n = len(left)
    below, widest = [0] * n, [0] * n
    order: list[int] = []
    stack = [0]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for c in (left[node], right[node]) if c >= 0)
    for node in reversed(order):
        b = w = 0
        for c in (left[node], right[node]):
            b += below[c] if c >= 0 else 1
            w = max(w, widest[c] if c >= 0 else widths[~c])
        below[node], widest[node] = b, w
    return below, widest


def _add(u: Units, root: int, p: int, s: int, tabled: bool, features: list[int]) -> None:
    u.root.append(root)
    u.p.append(p)
    u.s.append(s)
    u.tabled.append(tabled)
    u.features.append(list(features))
    u.leaf0.append(len(u.leaf))


def _subtree(
    u: Units,
    g: int,
    p: int,
    left: list[int],
    right: list[int],
    n_int: int,
    n_leaf: int,
    leaf_features: list[list[int]],
    node_slot: npt.NDArray[np.int64],
) -> None:
    """One unit rooted at internal node `g` (local index) of a tree."""
    unit = len(u.root)
    inner: list[int] = []
    leaves: list[tuple[int, list[tuple[int, int]]]] = []  # (leaf, [(node, 1 if left)])
    stack: list[tuple[int, list[tuple[int, int]]]] = [(g, [])]
    while stack:  # pre-order, left first
        node, path = stack.pop()
        if node < 0:
            leaves.append((n_leaf + ~node, path))
            continue
        inner.append(node)
        stack.append((right[node], [*path, (node, 0)]))
        stack.append((left[node], [*path, (node, 1)]))
    bit = {node: b for b, node in enumerate(inner)}
    union = list(leaf_features[leaves[0][0]][:p])
    for leaf, _ in leaves:
        union.extend(f for f in leaf_features[leaf][p:] if f not in union)
    _add(u, n_int + g, p, len(inner), True, union)
    for node in inner:
        u.node_unit[n_int + node] = unit
        u.node_bit[n_int + node] = bit[node]
    for leaf, path in leaves:
        feats = leaf_features[leaf]
        u.leaf.append(leaf)
        u.slot_map.append([j if j < p else union.index(f) for j, f in enumerate(feats)])
        u.path0.append(len(u.step_slot))
        for node, is_left in path:
            u.step_slot.append(int(node_slot[n_int + node]))
            u.step_bit.append(bit[node])
            u.step_left.append(is_left)
