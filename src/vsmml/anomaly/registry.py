"""Name → detector class registry; detectors are built from a name or a plain dict."""

from __future__ import annotations

from typing import Any, TypeVar

from vsmml.anomaly.base import Detector
from vsmml.errors import ConfigError

_REGISTRY: dict[str, type[Detector]] = {}
_ALIASES: dict[str, dict[str, Any]] = {}

D = TypeVar("D", bound=type[Detector])


def register(cls: D) -> D:
    """Class decorator: make a detector buildable by its `name`."""
    _REGISTRY[cls.name] = cls
    return cls


def register_alias(name: str, spec: dict[str, Any]) -> None:
    """Give a name to a configured detector spec (e.g. "default" → a tuned ensemble)."""
    _ALIASES[name] = dict(spec)


def available() -> list[str]:
    """Every buildable name: registered classes and aliases."""
    return sorted([*_REGISTRY, *_ALIASES])


def build_detector(spec: dict[str, Any]) -> Detector:
    """Build a detector from a plain dict: {"name": "stl", "period": 86400, ...}.

    Nested ensemble members are dicts of the same form.
    """
    if "name" not in spec:
        raise ConfigError(f"detector spec needs a 'name'; got keys {sorted(spec)}")
    params = {k: v for k, v in spec.items() if k != "name"}
    name = str(spec["name"])
    if name in _ALIASES:
        return build_detector({**_ALIASES[name], **params})
    if name not in _REGISTRY:
        raise ConfigError(f"unknown detector {name!r}; known: {available()}")
    cls = _REGISTRY[name]
    try:
        config = cls.config_class(**params)
    except TypeError as exc:
        raise ConfigError(f"detector {name!r}: bad settings {params}: {exc}") from exc
    return cls(config)


def get_detector(name: str = "default", **params: Any) -> Detector:
    """The detector registered under `name` (default: the tuned default), with overrides."""
    return build_detector({"name": name, **params})
