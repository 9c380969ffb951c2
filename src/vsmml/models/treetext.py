"""Parsing of the text LightGBM writes (`Booster.model_to_string()`) into per-tree arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vsmml.errors import VsmmlError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class TreeModelError(VsmmlError, ValueError):
    """The model text is malformed or uses a LightGBM feature this evaluator does not support."""


@dataclass(frozen=True)
class Tree:
    """One parsed tree: local node arrays as LightGBM stores them (children < 0 are ~leaf)."""

    split_feature: IntArray
    threshold: FloatArray
    decision_type: IntArray
    left: IntArray
    right: IntArray
    leaf_value: FloatArray
    leaf_count: FloatArray
    internal_count: FloatArray


def _field(
    block: dict[str, str], key: str, dtype: type, tree: int, n: int
) -> npt.NDArray[np.generic]:
    if n == 0:
        return np.zeros(0, dtype=dtype)
    if key not in block:
        raise TreeModelError(f"tree {tree}: model text lacks '{key}'")
    values: npt.NDArray[np.generic] = np.array(block[key].split(), dtype=dtype)
    if len(values) != n:
        raise TreeModelError(f"tree {tree}: '{key}' has {len(values)} values, expected {n}")
    return values


def parse_tree(block: dict[str, str], index: int) -> Tree:
    """One ``Tree=`` block as arrays; refuses categorical splits and linear trees."""
    n_leaves = int(block.get("num_leaves", "0"))
    if n_leaves < 1:
        raise TreeModelError(f"tree {index}: num_leaves must be at least 1, got {n_leaves}")
    if int(block.get("num_cat", "0")) > 0:
        raise TreeModelError(f"tree {index}: categorical splits are not supported")
    if block.get("is_linear", "0") != "0":
        raise TreeModelError(f"tree {index}: linear trees are not supported")
    n_int = n_leaves - 1
    decision = _field(block, "decision_type", np.int64, index, n_int).astype(np.int64)
    if np.any(decision & 1):
        raise TreeModelError(f"tree {index}: categorical splits are not supported")
    leaf_count = (
        _field(block, "leaf_count", np.float64, index, n_leaves)
        if n_int
        else np.ones(1, np.float64)
    )
    return Tree(
        split_feature=_field(block, "split_feature", np.int64, index, n_int).astype(np.int64),
        threshold=_field(block, "threshold", np.float64, index, n_int).astype(np.float64),
        decision_type=decision,
        left=_field(block, "left_child", np.int64, index, n_int).astype(np.int64),
        right=_field(block, "right_child", np.int64, index, n_int).astype(np.int64),
        leaf_value=_field(block, "leaf_value", np.float64, index, n_leaves).astype(np.float64),
        leaf_count=leaf_count.astype(np.float64),
        internal_count=_field(block, "internal_count", np.float64, index, n_int).astype(np.float64),
    )


def split_text(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Header key/values and one key/value dict per ``Tree=`` block."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        line = line.strip()
        if line == "end of trees":
            break
        if not line:
            continue
        key, _, value = line.partition("=")
        if key == "Tree":
            current = {}
            trees.append(current)
            continue
        current[key] = value
    if "version" not in header or not trees:
        raise TreeModelError("not a LightGBM model text: no 'version' header or no 'Tree=' block")
    return header, trees
