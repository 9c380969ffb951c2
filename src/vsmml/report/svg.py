"""Matplotlib figures as inline ``<svg>`` elements: no fonts, scripts or links to fetch.

Text stays text (``svg.fonttype = none``: the browser draws it with a local sans-serif font),
math parsing is off (a ``$`` in a service name is just a dollar), the output carries no date,
and every ``id`` is prefixed with the plot's key so several figures can share one page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RC: Final[dict[str, Any]] = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "sans-serif"],
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "svg.hashsalt": "vsmml",
}
_ID: Final = re.compile(r'\bid="([^"]+)"')
_HEAD: Final = re.compile(r"^.*?(?=<svg\b)", re.S)
_SAFE_KEY: Final = re.compile(r"[^a-zA-Z0-9_-]")
_META: Final = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for the figures drawn inside the block."""
    import matplotlib

    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure (no pyplot, so no global state and no GUI backend) of `width` × `height` in."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure, key: str) -> str:
    """The figure as an ``<svg>`` element string, ids prefixed with `key`, sized to fit."""
    buf = io.StringIO()
    with style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = _HEAD.sub("", buf.getvalue(), count=1)
    text = _META.sub("", text, count=1)
    prefix = _SAFE_KEY.sub("-", key)
    ids = set(_ID.findall(text))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{old}"
        text = text.replace(f'id="{old}"', f'id="{new}"')
        text = text.replace(f"url(#{old})", f"url(#{new})")
        text = text.replace(f'href="#{old}"', f'href="#{new}"')
    text = re.sub(r'<svg\b([^>]*?)\swidth="[^"]*"', r"<svg\1", text, count=1)
    text = re.sub(r'<svg\b([^>]*?)\sheight="[^"]*"', r"<svg\1", text, count=1)
    return text.replace("<svg ", f'<svg class="plot" role="img" aria-label="{prefix}" ', 1).strip()
