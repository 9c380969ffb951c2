"""Service catalogue: which repos, pipelines and deploy targets belong to which service and team.

Reads our own YAML format and Backstage `catalog-info.yaml` entities (pure: text or parsed
documents in, frames out) and attributes events to services and teams.

Our format (a mapping by name or a list with `name`):

    services:
      checkout:
        team: payments
        system: shop
        repos: [acme/checkout]
        pipelines: ["checkout/*"]        # glob on pipeline_id or the job part before '#'
        deploy_targets: [k8s/prod/checkout]
        depends_on: [payments-api]

Backstage: `Component` entities (metadata.name; spec.owner → team, spec.system; annotations
`github.com/project-slug`, `gitlab.com/project-slug`, `backstage.io/source-location` → repos,
`jenkins.io/job-full-name`, `jenkins.io/github-folder` → pipelines, `backstage.io/kubernetes-id`
→ deploy targets; spec.dependsOn component refs and spec.consumesApis via the providing
component → dependencies), `System` (its owner is the default team of its components) and `Group`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import yaml

from vsmml.deferred import deferred
from vsmml.errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

SERVICE_COLUMNS: Final = ("service", "team", "system", "repos", "pipelines", "deploy_targets")
DEPENDENCY_COLUMNS: Final = ("service", "depends_on")
_LISTS: Final = ("repos", "pipelines", "deploy_targets")


@dataclass
class Catalog:
    """Services (one row each; list columns hold lists of text), declared dependencies, and
    warnings for people (a catalogue file with no service in it attributes nothing)."""

    services: pd.DataFrame
    dependencies: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def parse_catalog(
    sources: str | Mapping[str, Any] | Iterable[str | Mapping[str, Any]],
    names: Iterable[str] | None = None,
) -> Catalog:
    """Parse one or more YAML texts / parsed documents (ours or Backstage) into one catalogue.

    `names` (one per source, e.g. the file names) label the warnings: a source without any
    document, or a catalogue without any service, is not an error but attributes nothing.
    """
    items = [sources] if isinstance(sources, str | Mapping) else list(sources)
    labels = list(names) if names is not None else []
    labels += [f"catalogue {i + 1}" for i in range(len(labels), len(items))]
    docs: list[Any] = []
    warnings: list[str] = []
    for label, item in zip(labels, items, strict=False):
        if isinstance(item, str):
            try:
                found = [d for d in yaml.safe_load_all(item) if d is not None]
            except yaml.YAMLError as exc:
                raise SchemaError(f"catalogue is not valid YAML: {exc}") from None
            if not found:
                warnings.append(f"{label} is empty: no service in it, nothing is attributed")
            docs.extend(found)
        else:
            docs.append(item)
    services: dict[str, dict[str, Any]] = {}
    deps: list[tuple[str, str]] = []
    backstage = [(i, d) for i, d in enumerate(docs) if _is_backstage(d)]
    for i, doc in enumerate(docs):
        if _is_backstage(doc):
            continue
        if not isinstance(doc, Mapping) or "services" not in doc:
            raise SchemaError(f"catalogue document {i}: needs a 'services' key or a Backstage kind")
        _ours(i, doc["services"], services, deps)
    _backstage(backstage, services, deps)
    if not services and docs:
        warnings.append("the catalogue names no service (no `services` entry, no Component)")
    return Catalog(_services_frame(services), _deps_frame(deps), warnings)


def _is_backstage(doc: Any) -> bool:
    return isinstance(doc, Mapping) and str(doc.get("apiVersion", "")).startswith("backstage.io")


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise SchemaError(f"{where} must be a list of names, got {value!r}")


def _ours(
    i: int, entries: Any, services: dict[str, dict[str, Any]], deps: list[tuple[str, str]]
) -> None:
    if isinstance(entries, Mapping):
        pairs = [(str(k), v or {}) for k, v in entries.items()]
    elif isinstance(entries, list):
        pairs = [
            (str(e.get("name", "")), e) if isinstance(e, Mapping) else ("", e) for e in entries
        ]
    else:
        raise SchemaError(f"catalogue document {i}: 'services' must be a mapping or a list")
    for name, spec in pairs:
        where = f"catalogue document {i}, service {name!r}"
        if not name or not isinstance(spec, Mapping):
            raise SchemaError(f"{where}: each service needs a name and a mapping of fields")
        entry = services.setdefault(name, _empty(name))
        for key in ("team", "system"):
            if spec.get(key) is not None:
                entry[key] = str(spec[key])
        for key in _LISTS:
            entry[key] += _names(spec.get(key), f"{where}: {key!r}")
        deps.extend((name, d) for d in _names(spec.get("depends_on"), f"{where}: 'depends_on'"))


def _empty(name: str) -> dict[str, Any]:
    return {"service": name, "team": None, "system": None, "repos": [], "pipelines": [],
            "deploy_targets": []}  # fmt: skip


def _ref(ref: str, default_kind: str) -> tuple[str, str]:
    """(kind, name) of a Backstage entity ref `[kind:][namespace/]name`."""
    kind, _, rest = ref.rpartition(":") if ":" in ref else (default_kind, "", ref)
    return kind.lower() or default_kind, rest.rpartition("/")[2]


def _backstage(
    docs: list[tuple[int, Any]], services: dict[str, dict[str, Any]], deps: list[tuple[str, str]]
) -> None:
    system_owner: dict[str, str] = {}
    api_provider: dict[str, str] = {}
    components = []
    for i, doc in docs:
        kind = str(doc.get("kind", ""))
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"catalogue document {i} ({kind}): 'metadata.name' is required")
        if kind == "System" and spec.get("owner"):
            system_owner[name] = _ref(str(spec["owner"]), "group")[1]
        elif kind == "Component":
            components.append((i, name, meta, spec))
            where = f"catalogue document {i} (Component {name!r}): 'spec.providesApis'"
            for api in _names(spec.get("providesApis"), where):
                api_provider[_ref(api, "api")[1]] = name
    for i, name, meta, spec in components:
        where = f"catalogue document {i} (Component {name!r})"
        entry = services.setdefault(name, _empty(name))
        system = _ref(str(spec["system"]), "system")[1] if spec.get("system") else None
        entry["system"] = entry["system"] or system
        owner = _ref(str(spec["owner"]), "group")[1] if spec.get("owner") else None
        entry["team"] = entry["team"] or owner or system_owner.get(system or "")
        raw_notes = meta.get("annotations")
        notes: Mapping[str, Any] = raw_notes if isinstance(raw_notes, Mapping) else {}
        entry["repos"] += _annotated_repos(notes)
        for key in ("jenkins.io/job-full-name", "jenkins.io/github-folder"):
            if notes.get(key):
                entry["pipelines"].append(str(notes[key]).rpartition(":")[2])
        if notes.get("backstage.io/kubernetes-id"):
            entry["deploy_targets"].append(str(notes["backstage.io/kubernetes-id"]))
        for ref in _names(spec.get("dependsOn"), f"{where}: 'spec.dependsOn'"):
            kind, target = _ref(ref, "component")
            if kind == "component":
                deps.append((name, target))
        for api in _names(spec.get("consumesApis"), f"{where}: 'spec.consumesApis'"):
            provider = api_provider.get(_ref(api, "api")[1])
            if provider and provider != name:
                deps.append((name, provider))


def _annotated_repos(notes: Mapping[str, Any]) -> list[str]:
    repos = [
        str(notes[k])
        for k in ("github.com/project-slug", "gitlab.com/project-slug")
        if notes.get(k)
    ]
    location = notes.get("backstage.io/source-location")
    if isinstance(location, str):
        match = re.search(r"(?:github|gitlab)[^/]*/([^/]+/[^/]+?)(?:\.git)?(?:/|$)", location)
        if match:
            repos.append(match.group(1))
    return repos


def _services_frame(services: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = [{**s, **{k: list(dict.fromkeys(s[k])) for k in _LISTS}} for s in services.values()]
    frame = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    for col in ("service", "team", "system"):
        frame[col] = frame[col].astype(_dt.STR_DTYPE)
    return frame


def _deps_frame(deps: list[tuple[str, str]]) -> pd.DataFrame:
    unique = list(dict.fromkeys(d for d in deps if d[0] != d[1]))
    return pd.DataFrame(unique, columns=list(DEPENDENCY_COLUMNS)).astype(_dt.STR_DTYPE)


def normalise_repo(value: Any) -> str | None:
    """`owner/name`, lower case, from a repo name or URL (None for blanks)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"^[\w.-]+@[\w.-]+:", "", value.strip().lower()).rstrip("/").removesuffix(".git")
    parts = [p for p in re.split(r"[/:]", text) if p]
    return "/".join(parts[-2:]) if parts else None


def attribute(
    events: pd.DataFrame, services: pd.DataFrame, *, overwrite: bool = False
) -> pd.DataFrame:
    """Fill `service` (and `team`) from deploy target, pipeline, then repo; returns a new frame.

    Events that already name a service keep it unless `overwrite`; an event whose service is in
    the catalogue gets that service's team when it has none.
    """
    out = events.copy()
    found = pd.Series(np.nan, index=out.index, dtype=_dt.STR_DTYPE)
    repo_map: dict[str, str] = {}
    for name, repos in _pairs(services, "repos"):
        for repo in repos:
            key = normalise_repo(repo)
            if key:
                repo_map.setdefault(key, name)
    targets = _deploy_targets(out)
    jobs = out["pipeline_id"].astype(_dt.STR_DTYPE) if "pipeline_id" in out else None
    for col, values, patterns in (
        (
            "deploy_targets",
            targets,
            [(p, s) for s, ps in _pairs(services, "deploy_targets") for p in ps],
        ),
        ("pipelines", jobs, [(p, s) for s, ps in _pairs(services, "pipelines") for p in ps]),
    ):
        if values is None or not patterns:
            continue
        found = _fill(found, values.map(_matcher(patterns, col)).astype(_dt.STR_DTYPE))
    if "repo" in out:
        by_repo = (
            out["repo"].astype(_dt.STR_DTYPE).map(lambda r: repo_map.get(normalise_repo(r) or ""))
        )
        found = _fill(found, by_repo.astype(_dt.STR_DTYPE))
    current = _column(out, "service")
    service = _fill(found, current) if overwrite else _fill(current, found)
    out["service"] = service
    teams = dict(zip(services["service"].astype(str), services["team"], strict=True))
    team_of = service.map(lambda s: teams.get(s) if isinstance(s, str) else None).astype(
        _dt.STR_DTYPE
    )
    out["team"] = _fill(_column(out, "team"), team_of)
    return out


def _column(frame: pd.DataFrame, col: str) -> pd.Series:
    if col in frame:
        return frame[col].astype(_dt.STR_DTYPE)
    return pd.Series(np.nan, index=frame.index, dtype=_dt.STR_DTYPE)


def _fill(first: pd.Series, second: pd.Series) -> pd.Series:
    """`first` where present, else `second` (both text series on the same index)."""
    return first.where(first.notna(), second).astype(_dt.STR_DTYPE)


def _pairs(services: pd.DataFrame, col: str) -> list[tuple[str, list[str]]]:
    return [(str(s), list(v)) for s, v in zip(services["service"], services[col], strict=True)]


def _matcher(patterns: list[tuple[str, str]], col: str) -> Any:
    cache: dict[str, str | None] = {}

    def match(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if value not in cache:
            candidates = [value, value.rsplit("#", 1)[0]] if col == "pipelines" else [value]
            cache[value] = next(
                (s for p, s in patterns for c in candidates if fnmatch.fnmatchcase(c, p)), None
            )
        return cache[value]

    return match


def _deploy_targets(events: pd.DataFrame) -> pd.Series | None:
    if "attrs" not in events:
        return events["deploy_id"].astype(_dt.STR_DTYPE) if "deploy_id" in events else None

    def target(text: Any) -> str | None:
        if not isinstance(text, str) or "target" not in text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        found = value.get("deploy_target") or value.get("target")
        return str(found) if found else None

    targets = events["attrs"].map(target).astype(_dt.STR_DTYPE)
    if "deploy_id" in events:
        targets = targets.fillna(events["deploy_id"].astype(_dt.STR_DTYPE))
    return targets
