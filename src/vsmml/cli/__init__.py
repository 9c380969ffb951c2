"""`vsmml` command line: one module per command group; heavy imports stay inside commands."""

from __future__ import annotations

import importlib
import pkgutil

from vsmml.cli.app import app

_NOT_COMMANDS = frozenset({"app", "output", "params", "text"})

# Every other module in this package registers its commands on `app` when imported.
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _NOT_COMMANDS and not _module.name.startswith("_"):
        importlib.import_module(f"vsmml.cli.{_module.name}")

__all__ = ["app"]
