"""Average several LightGBM boosters into one: their trees side by side, leaf values over k.

Bagging (the same model trained with k seeds) cuts the variance of a tree ensemble; averaging
the raw scores of k boosters equals one booster holding all their trees with every leaf and
internal value divided by k. Keeping a single booster keeps one ``model.txt``, one TreeSHAP
explanation (SHAP values are linear in the leaf values, so they average too) and the
lightgbm-free evaluator in `vsmml.models.treeeval` unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Final

from vsmml.errors import DataError

SCALED_KEYS: Final[frozenset[str]] = frozenset({"leaf_value", "internal_value"})
TREES_END: Final[str] = "\nend of trees"


def _tree_blocks(text: str) -> list[list[str]]:
    _, sep, body = text.partition("\nTree=0\n")
    if not sep:
        raise DataError("a booster to average has no trees")
    body = ("Tree=0\n" + body).partition(TREES_END)[0]
    return [block.split("\n") for block in re.split(r"\n\n(?=Tree=)", body.strip())]


def _scaled(line: str, k: int) -> str:
    key, eq, value = line.partition("=")
    if not eq or key not in SCALED_KEYS:
        return line
    return f"{key}={' '.join(repr(float(v) / k) for v in value.split())}"


def average_model_text(texts: list[str]) -> str:
    """One LightGBM model text whose raw score is the mean of the given models' raw scores.

    All models must share features and objective (one tree per iteration). The header and
    the trailing sections (parameters, importances) come from the first model; the header's
    ``tree_sizes`` line is dropped, which makes LightGBM parse the trees sequentially.
    """
    if not texts:
        raise DataError("average_model_text needs at least one model")
    k = len(texts)
    head = texts[0].partition("\nTree=0\n")[0]
    head = "\n".join(line for line in head.split("\n") if not line.startswith("tree_sizes="))
    parts = [head, ""]
    number = 0
    for text in texts:
        for block in _tree_blocks(text):
            parts.append("\n".join([f"Tree={number}", *[_scaled(x, k) for x in block[1:]]]))
            parts.append("")
            number += 1
    tail = texts[0].partition(TREES_END)[2]
    return "\n".join(parts) + TREES_END.lstrip("\n") + tail


def average_boosters(boosters: list[Any]) -> Any:
    """A `lightgbm.Booster` whose raw score (and TreeSHAP) is the mean of `boosters`'."""
    import lightgbm as lgb

    if len(boosters) == 1:
        return boosters[0]
    return lgb.Booster(model_str=average_model_text([b.model_to_string() for b in boosters]))
