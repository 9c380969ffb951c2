"""Per-source rules from settings: a YAML/JSON rules file plus `Settings.max_payload_bytes`.

The rule classes live beside their converters (`CDEventsRules`, `GitHubRules`, `GitLabRules`,
`FileRules`, ... all with sensible defaults); this module only builds them from what the user
configured, so converters never read settings. A rules file maps source names to fields:

```yaml
github:
  deployment_pattern: "(?i)deploy|release"
  production_pattern: "(?i)prod"
  incident_labels: [incident, outage]
cdevents:
  production_env: "(?i)^prod"
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from vsmml.errors import ConfigError

if TYPE_CHECKING:
    from vsmml.pipeline.ingest.registry import Source


def read_rules_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """The per-source sections of a YAML or JSON rules file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"rules file {path}: cannot be read ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"rules file {path}: must map source names to mappings of rules")
    return {str(k): dict(v) for k, v in data.items()}


def build_rules(spec: Source, rules: Any = None, *, max_payload_bytes: int | None = None) -> Any:
    """The rule object of `spec` from a rule object (returned as is), a mapping, or None.

    `max_payload_bytes` (`VSMML_MAX_PAYLOAD_BYTES`, read by `Settings`) applies when the
    mapping does not set it.
    """
    if rules is not None and not isinstance(rules, Mapping):
        return rules
    values = dict(rules or {})
    accepts = "max_payload_bytes" in getattr(spec.rules, "model_fields", {})
    if max_payload_bytes is not None and accepts and "max_payload_bytes" not in values:
        values["max_payload_bytes"] = int(max_payload_bytes)
    if not values:
        return None
    try:
        return spec.rules(**values)
    except (ValidationError, TypeError, ValueError) as exc:
        raise ConfigError(f"rules for {spec.name}: {exc}") from exc


def rules_for(source: str, path: str | Path | None) -> dict[str, Any]:
    """The section of a rules file for one source (empty when no file or no section)."""
    if path is None:
        return {}
    return read_rules_file(path).get(source, {})
