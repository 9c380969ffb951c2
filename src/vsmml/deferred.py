"""Heavy libraries imported on first use, so a command that never needs one never pays for it.

`pd = deferred("pandas")` (under `if not TYPE_CHECKING`, with the real import for the type
checker) stands for the module: the first attribute read imports it and copies its namespace,
so later reads cost what a module's do. `vsmml ingest` of canonical files imports no pandas
(0.3-0.5 s of a 1 s start) unless a row needs the Python reference converter.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class Deferred(ModuleType):
    """A stand-in for the module `name`, imported when an attribute is first read."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # copy, pickle and inspect probe dunders: no import
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def deferred(name: str) -> Any:
    """A stand-in for the module `name` that imports it on first attribute use."""
    return Deferred(name)
