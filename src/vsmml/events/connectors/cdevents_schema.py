"""A fast yes/no check for the JSON Schema subset the CDEvents schemas use.

`jsonschema` spends about a millisecond per CDEvent (mostly on the links' `anyOf` of `$ref`s).
`compile_check` turns a schema using only `type`, `properties`, `required`,
`additionalProperties`, `enum`, `minLength`, `items`, `anyOf`, `oneOf` and local `$ref`s (plus
annotations such as `format`, `default`, `description`, which the validator ignores by default
too) into nested closures that answer "valid?" an order of magnitude faster. A schema with any
other keyword compiles to None and the caller keeps `jsonschema`. The caller asks `jsonschema`
for the message whenever the quick check says no, so error messages are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

Check = Callable[[Any], bool]
_ANNOTATIONS: Final = frozenset(
    {"$schema", "$id", "format", "default", "description", "example", "contentEncoding", "title"}
)
_HANDLED: Final = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "minLength",
        "items",
        "anyOf",
        "oneOf",
        "$ref",
    }
)


class _UnsupportedError(Exception):
    """The schema uses a keyword the quick check does not implement."""


def _type_check(name: str) -> Check:
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "integer":
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if name == "number":
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    raise _UnsupportedError(f"type {name!r}")


def _compile(schema: Any, refs: Mapping[str, Any]) -> Check:
    if schema is True or schema == {}:
        return lambda v: True
    if not isinstance(schema, dict):
        raise _UnsupportedError(repr(schema))
    unknown = set(schema) - _HANDLED - _ANNOTATIONS
    if unknown:
        raise _UnsupportedError(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "$ref" in schema:
        target = refs.get(str(schema["$ref"]).rsplit("/", 1)[-1].removesuffix(".json"))
        if target is None:
            raise _UnsupportedError(f"$ref {schema['$ref']!r}")
        checks.append(_compile(target, refs))
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        tchecks = [_type_check(t) for t in types]
        checks.append(lambda v: any(c(v) for c in tchecks))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: any(v == a and type(v) is type(a) for a in allowed))
    if "minLength" in schema:
        n = int(schema["minLength"])
        checks.append(lambda v: not isinstance(v, str) or len(v) >= n)
    if "required" in schema:
        req = tuple(schema["required"])
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in req))
    if "properties" in schema or "additionalProperties" in schema:
        props = {k: _compile(s, refs) for k, s in (schema.get("properties") or {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is False else _compile(extra, refs)

        def check_props(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, value in v.items():
                sub = props.get(key)
                if sub is None:
                    if extra_check is None or not extra_check(value):
                        return False
                elif not sub(value):
                    return False
            return True

        checks.append(check_props)
    if "items" in schema:
        item = _compile(schema["items"], refs)
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if "anyOf" in schema:
        any_of = [_compile(s, refs) for s in schema["anyOf"]]
        checks.append(lambda v: any(c(v) for c in any_of))
    if "oneOf" in schema:
        one_of = [_compile(s, refs) for s in schema["oneOf"]]
        checks.append(lambda v: sum(1 for c in one_of if c(v)) == 1)
    return lambda v: all(c(v) for c in checks)


def compile_check(schema: Mapping[str, Any], refs: Mapping[str, Any]) -> Check | None:
    """A quick validity check for `schema` (refs by last path segment), or None if unsupported."""
    try:
        return _compile(dict(schema), refs)
    except _UnsupportedError:
        return None
