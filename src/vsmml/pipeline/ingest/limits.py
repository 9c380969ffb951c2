"""Size and nesting limits, checked on a payload's text before anything parses it.

A JSON parser written with recursion (Python's `json`) fails on a document nested thousands of
levels deep, and a huge payload costs memory before it can be refused: both are checked on the
raw text first, so such a payload is quarantined with its reason and its neighbours land.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np

from vsmml.events.connectors.base import Reject
from vsmml.events.connectors.payloads import clip, oversize


def json_depth(text: str | bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored).

    Exact for valid JSON; for broken text it is an estimate the parser will refuse anyway. Runs
    on bytes (UTF-8 continuation bytes are never quotes or brackets), mostly in C.
    """
    skeleton = _brackets(text)
    if not skeleton:
        return 0
    steps = np.frombuffer(skeleton, dtype=np.uint8)
    return int(np.cumsum(_STEP[steps]).max(initial=0))


def _brackets(text: str | bytes) -> bytes:
    """The brackets of JSON text outside its strings, in order."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    # Escaped backslashes and quotes go first; then every quote left delimits a string.
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Two adjacent quotes close and open with no bracket between (or enclose none): drop them.
    skeleton = data.translate(None, _DELETE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRINGS.sub(b"", skeleton)
    return skeleton


def _within(skeleton: bytes, max_depth: int) -> bool:
    """True when the brackets nest at most `max_depth` deep: each round removes the innermost
    pairs (one level; `{}` read as `[]` so one round never takes two), so a shallow document
    empties in a few C-level passes."""
    skeleton = skeleton.translate(_SQUARE)
    for _ in range(max_depth):
        if not skeleton:
            return True
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            return False  # unbalanced: let the exact count decide
        skeleton = shorter
    return not skeleton


_COUNT_FIRST: Final = 2048
_STRINGS: Final = re.compile(rb'"[^"]*"')
_DELETE: Final = bytes(b for b in range(256) if b not in b'"[]{}')
_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
_STEP: Final = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def too_deep(text: str | bytes, max_depth: int) -> int | None:
    """The nesting depth when it exceeds `max_depth`, else None (cheap when it cannot)."""
    if len(text) <= _COUNT_FIRST:  # short: counting the brackets usually settles it
        opens = (b"{", b"[") if isinstance(text, bytes) else ("{", "[")
        if text.count(opens[0]) + text.count(opens[1]) <= max_depth:  # type: ignore[arg-type]
            return None
    skeleton = _brackets(text)  # long (webhooks hold hundreds of brackets): peel the levels
    if _within(skeleton, max_depth):
        return None
    if not skeleton:
        return None
    depth = int(np.cumsum(_STEP[np.frombuffer(skeleton, dtype=np.uint8)]).max(initial=0))
    return depth if depth > max_depth else None


def check(
    source: str, location: str, text: str, *, max_bytes: int, max_depth: int
) -> Reject | None:
    """The reject for a payload above the size or nesting limit, or None when it is within."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return oversize(source, location, size, max_bytes, text[:2048])
    depth = too_deep(text, max_depth)
    if depth is not None:
        return Reject(
            source,
            location,
            "payload",
            f"is nested {depth} levels deep, above the limit of {max_depth}"
            " (raise VSMML_MAX_JSON_DEPTH to accept it)",
            clip(text, 2048),
        )
    return None
