"""Request bodies of the HTTP service: UTF-8 JSON within a nesting limit, and their errors.

The nesting depth is measured on the bytes before anything parses them (mostly in C), so a body
nested thousands of levels deep is refused with a clear answer instead of exhausting Python's
recursive JSON parser. Each error names the field it is about; `vsmml.api.errors` maps the error
types to HTTP answers in one place.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import numpy as np

from vsmml.pipeline.service_errors import (
    BatchTooLargeError,
    BodyError,
    BodyTooDeepError,
    MalformedBodyError,
    UnsupportedMediaError,
)

__all__ = [
    "BatchTooLargeError",
    "BodyError",
    "BodyTooDeepError",
    "MalformedBodyError",
    "UnsupportedMediaError",
    "json_depth",
    "parse_json",
]


_STRINGS: Final = re.compile(rb'"[^"]*"')
_KEEP: Final = b'"[]{}'
_DELETE: Final = bytes(b for b in range(256) if b not in _KEEP)
_STEP: Final = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON bytes (brackets in strings ignored).

    Exact for valid JSON; for broken JSON an estimate the parser refuses anyway.
    """
    if b"\\" in data:  # escaped backslashes, then escaped quotes, never delimit a string
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _DELETE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRINGS.sub(b"", skeleton)
    if not skeleton:
        return 0
    return int(np.cumsum(_STEP[np.frombuffer(skeleton, dtype=np.uint8)]).max(initial=0))


def parse_json(body: bytes, *, max_depth: int) -> Any:
    """The JSON value of a body, refused when empty, not UTF-8, malformed or too deep."""
    if not body.strip():
        raise MalformedBodyError("the request body is empty; send JSON", "body")
    opens = body.count(b"{") + body.count(b"[")
    if opens > max_depth and (depth := json_depth(body)) > max_depth:
        raise BodyTooDeepError(
            f"the JSON body is nested {depth} levels deep, above the limit of {max_depth} "
            "(VSMML_MAX_REQUEST_DEPTH)",
            "body",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError(
            f"the body is not UTF-8 ({exc.reason} at byte {exc.start})", "body"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBodyError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "body",
        ) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise BodyTooDeepError("the JSON body is nested too deep", "body") from None
