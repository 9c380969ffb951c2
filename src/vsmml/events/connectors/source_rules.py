"""Rule settings shared by the JSON connectors: environments, incident labels, payload size.

Rules are plain pydantic models with sensible defaults; the pipeline builds them from the user's
settings and hands them to a converter as an argument (converters never read settings).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc}") from exc
    return value


class SourceRules(BaseModel):
    """Rules every JSON source understands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    production_env: str = Field(
        default=r"(?i)^(prod|production|prd|live)([-_.:/ \d].*)?$",
        description="Regex: an environment name matching it counts as production.",
    )
    staging_env: str = Field(
        default=r"(?i)^(stag|staging|stg|preprod|pre-production|uat)([-_.:/ \d].*)?$",
        description="Regex: an environment name matching it counts as staging.",
    )
    incident_labels: tuple[str, ...] = Field(
        default=("incident",),
        description="Issue/ticket labels (case-insensitive) that mark an incident.",
    )
    max_payload_bytes: int = Field(
        default=DEFAULT_MAX_PAYLOAD_BYTES,
        ge=1,
        description="Payloads (a JSON document or one JSON Lines line) above this are refused.",
    )
    service: str | None = Field(
        default=None, description="Service to attribute events to when the payload names none."
    )
    team: str | None = Field(default=None, description="Team to attribute events to.")

    @field_validator("production_env", "staging_env")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _check_regex(value)

    @classmethod
    def coerce(cls, rules: SourceRules | None) -> Self:
        """`rules` as this connector's rules class: defaults for None, the settings of a base
        `SourceRules` carried over (the connector's own fields keep their defaults)."""
        if rules is None:
            return cls()
        if isinstance(rules, cls):
            return rules
        return cls(**rules.model_dump())

    def env_of(self, name: Any) -> str | None:
        """Classify an environment name: production / staging by the rules, else the name itself.

        The name left as is is normalised later by the canonical validation (test, other).
        """
        if name is None:
            return None
        text = str(name).strip()
        if not text:
            return None
        if _compiled(self.production_env).match(text):
            return "production"
        if _compiled(self.staging_env).match(text):
            return "staging"
        return text

    def is_incident(self, labels: Any) -> bool:
        """True when any label (a string or a `{"name": ...}` object) is an incident label."""
        if not isinstance(labels, list):
            return False
        wanted = {x.lower() for x in self.incident_labels}
        for label in labels:
            name = label.get("name") if isinstance(label, dict) else label
            if isinstance(name, str) and name.strip().lower() in wanted:
                return True
        return False


def matches(pattern: str | None, *texts: Any) -> bool:
    """True when the regex `pattern` matches (search) any of the non-empty texts."""
    if not pattern:
        return False
    rx = _compiled(pattern)
    return any(isinstance(t, str) and t and rx.search(t) for t in texts)


def check_regex(value: str | None) -> str | None:
    """Validator helper for optional regex settings."""
    return None if value is None else _check_regex(value)
