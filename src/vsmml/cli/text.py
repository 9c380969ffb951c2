"""Text from data, made safe for a terminal: control characters escaped, one line when asked.

Stored text (quarantined records and reasons, service names, reasons in a score) comes from
input nobody here controls: an escape sequence in it must not move the cursor, recolour or
rewrite the user's terminal, so every command writes such text through `safe`.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """`text` with control characters (ESC, BEL, CR, bidi overrides ...) shown as escapes; tabs
    and newlines are kept."""
    return _CONTROL.sub(_escape, str(text))


def one_line(text: object) -> str:
    """`safe(text)` with newlines and tabs folded into single spaces (for error messages)."""
    return " ".join(safe(text).split())
