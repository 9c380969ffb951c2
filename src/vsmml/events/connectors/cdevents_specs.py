"""The CDEvents specification versions read, and each one's JSON schemas (shipped, Apache-2.0).

| events | version field | schemas (package data, copied unchanged from the spec's tag) |
|---|---|---|
| 0.5.x | `context.specversion` | `cdevents_schemas/` (v0.5.1) |
| 0.4.1 (and later 0.4.x) | `context.version` | `cdevents_schemas_v0_4_1/` (v0.4.1: `chainId`) |
| 0.4.0 | `context.version` | `cdevents_schemas_v0_4_0/` (v0.4.0: `chain_id`) |

Schemas are loaded once per version and compiled to a quick check (`cdevents_schema`), with
`jsonschema` kept for the message when an event is invalid. An event whose type version differs
from the one its spec line's schema names (a v0.5.0 producer, say) is checked against that
schema with the type replaced, so a newer minor type of the same shape is still read.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from vsmml.events.connectors.cdevents_schema import Check, compile_check
from vsmml.events.connectors.payloads import clip

SPECS: Final[dict[str, tuple[str, str]]] = {
    "0.5.1": ("specversion", "cdevents_schemas"),
    "0.4.1": ("version", "cdevents_schemas_v0_4_1"),
    "0.4.0": ("version", "cdevents_schemas_v0_4_0"),
}
"""Schema version shipped → (the context field naming an event's version, package folder)."""
READ_VERSIONS: Final = "CDEvents 0.4.x (`context.version`) and 0.5.x (`context.specversion`)"
TYPE_RE: Final = re.compile(
    r"^dev\.cdevents\.(?P<subject>[a-z]+)\.(?P<predicate>[a-z]+)\.(?P<version>\d+\.\d+\.\d+\S*)$"
)
Schemas = dict[str, tuple[str, Draft202012Validator, Check | None]]


def spec_of(context: dict[str, Any]) -> tuple[str | None, str]:
    """(schema version to check with, version text) of an event's context; None when the
    version is not read.

    CDEvents 0.5 names its version `specversion`, 0.4 named it `version` (both present:
    `specversion` decides). A 0.5.x event is checked with the 0.5.1 schemas, 0.4.0 with 0.4.0's
    and any other 0.4.x with 0.4.1's.
    """
    value = context.get("specversion", context.get("version"))
    text = "" if value is None else str(value)
    if "specversion" in context:
        return ("0.5.1" if text.startswith("0.5.") else None), text
    if text == "0.4.0":
        return "0.4.0", text
    return ("0.4.1" if text.startswith("0.4.") else None), text


@lru_cache(maxsize=len(SPECS))
def schemas(version: str = "0.5.1") -> Schemas:
    """`subject.predicate` → (schema's type string, validator, quick check) of one version.

    v0.4.0's link schemas have no `$id` nor `$schema` and are referred to by path
    (`/schema/links/embeddedlinksarray.json`): they are registered under that path, as JSON
    Schema 2020-12 like every CDEvents schema.
    """
    folder = SPECS[version][1]
    root = resources.files("vsmml.events.connectors").joinpath(folder)
    docs: list[tuple[str, dict[str, Any]]] = []
    for sub in (root, root.joinpath("links")):
        for entry in sorted(sub.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                doc = json.loads(entry.read_text(encoding="utf-8"))
                uri = doc.get("$id") or f"https://cdevents.dev/schema/links/{entry.name}"
                docs.append((str(uri), doc))
    registry: Registry[Any] = Registry().with_resources(
        (uri, DRAFT202012.create_resource(doc)) for uri, doc in docs
    )
    refs = {uri.rsplit("/", 1)[-1].removesuffix(".json"): doc for uri, doc in docs}
    out: Schemas = {}
    for _, doc in docs:
        enum = (((doc.get("properties") or {}).get("context") or {}).get("properties") or {}).get(
            "type", {}
        )
        types = enum.get("enum") or []
        if not types:
            continue
        match = TYPE_RE.match(types[0])
        if match:
            key = f"{match['subject']}.{match['predicate']}"
            validator = Draft202012Validator(doc, registry=registry)
            out[key] = (types[0], validator, compile_check(doc, refs))
    return out


def schema_problem(event: dict[str, Any], key: str, version: str) -> tuple[str, str] | None:
    """The first violation of the schema of `version` as (json path, reason), or None."""
    schema_type, validator, quick = schemas(version)[key]
    doc = event
    if event["context"].get("type") != schema_type:
        doc = copy.copy(event)
        doc["context"] = {**event["context"], "type": schema_type}
    if quick is not None and quick(doc):
        return None
    error = best_match(validator.iter_errors(doc))
    if error is None:
        return None
    path = ".".join(str(p) for p in error.absolute_path) or "event"
    return path, f"violates the CDEvents {version} schema of {key}: {clip(error.message, 300)}"
