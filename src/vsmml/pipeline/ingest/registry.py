"""Source name → how to read its files and convert its raw payloads (`vsmml ingest SOURCE`).

Two shapes of source:

* payload sources (cdevents, github, gitlab, jsonl, csv, jenkins, pagerduty) split their files
  into raw payloads `(location, text)`; the pipeline stores each in `raw_payloads` before
  converting, so `vsmml replay` can re-convert them after a converter fix;
* path sources (git, devlake) read a whole folder at once (`read(paths, rules) -> Conversion`);
  there is no payload to keep, so they are not replayed.

Register another source with `register(Source(...))` from its own module (imported before
`get_source` is called).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vsmml.errors import ConfigError
from vsmml.events.connectors import files
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.pipeline.ingest.readers import split_csv_rows, split_json

Unit = tuple[str, str]
"""One raw payload: where it came from (`file.jsonl:12`) and its text."""
Splitter = Callable[[Path, int], Iterator[Unit | Reject]]
Converter = Callable[[Sequence[tuple[str, Any]], Any], Conversion]
PathReader = Callable[[Sequence[Path], Any], Conversion]


@dataclass(frozen=True)
class Source:
    """How one source is read and converted; `rules` builds its rule object from a mapping."""

    name: str
    rules: Callable[..., Any]
    convert: Converter | None = None
    split: Splitter | None = None
    suffixes: tuple[str, ...] = (".json", ".jsonl", ".ndjson")
    read: PathReader | None = None
    event_source: str | None = None
    canonical: bool = False
    """Rows already in the canonical columns: ingested by the vectorised path in DuckDB."""
    parsed: bool = False
    """The converter takes `(location, object)` pairs: the pipeline parses payloads for it."""
    prune: Callable[[str], Any] | None = None
    """A faster parse keeping only what the converter reads (None: parse it fully instead);
    a batch whose conversion refuses anything is parsed fully again (see `batches.prepare`)."""

    @property
    def keeps_payloads(self) -> bool:
        """True when raw payloads are stored (and can be replayed)."""
        return self.convert is not None and self.split is not None


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> None:
    """Add or replace a source."""
    _REGISTRY[source.name] = source


def known_sources() -> list[str]:
    """Names accepted by `vsmml ingest`, sorted."""
    return sorted(_REGISTRY)


def stored_source(name: str | None) -> str | None:
    """The source name records of ingest source `name` are stored under (JSON Lines and CSV
    share `file`), so `--source jsonl` finds what `vsmml ingest jsonl` quarantined."""
    if name is None or name not in _REGISTRY:
        return name
    return _REGISTRY[name].event_source or name


def get_source(name: str) -> Source:
    """The registered source, or `ConfigError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown source {name!r}; known sources: {', '.join(sorted(_REGISTRY))}"
        ) from None


class LazyRules:
    """A connector's rules class, imported on first use: `vsmml ingest jsonl` then does not
    import every connector (the CDEvents schemas alone take a quarter of a second)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    @property
    def cls(self) -> Any:
        """The rules class itself."""
        return getattr(importlib.import_module(f"vsmml.events.connectors.{self.module}"), self.name)

    @property
    def model_fields(self) -> Any:
        """The class's pydantic fields (`build_rules` asks which settings it accepts)."""
        return getattr(self.cls, "model_fields", {})

    def __call__(self, **kwargs: Any) -> Any:
        return self.cls(**kwargs)


def _json_converter(to_events: Callable[..., Conversion]) -> Converter:
    def convert(units: Sequence[Unit], rules: Any) -> Conversion:
        return to_events(list(units), rules)

    return convert


def _records_converter(module: str) -> Converter:
    """Adapter for connectors whose `to_events` takes `(location, payload)` pairs."""

    def convert(units: Sequence[Unit], rules: Any) -> Conversion:
        to_events = importlib.import_module(f"vsmml.events.connectors.{module}").to_events
        result: Conversion = to_events(list(units), rules)
        return result

    return convert


def _github_pruned(text: str) -> Any:
    """GitHub deliveries decoded to the fields the connector reads (`github_prune`).

    Called once per payload: the module is looked up in `sys.modules` (what `import_module`
    does after its locking and checks, ~4 us a call, 0.08 s per 20,000 payloads).
    """
    module = sys.modules.get(_PRUNE) or importlib.import_module(_PRUNE)
    return module.pruned(text)


_PRUNE: Final = "vsmml.events.connectors.github_prune"


def _split_github(path: Path, max_bytes: int) -> Iterator[Unit | Reject]:
    """GitHub: JSON webhook/REST files, or DevLake `_raw_github_api_*` CSV rows."""
    if path.suffix == ".csv":
        yield from split_csv_rows(path, max_bytes, source="github")
    else:
        yield from split_json(path, max_bytes, source="github")


def _split_csv(path: Path, max_bytes: int) -> Iterator[Unit | Reject]:
    yield from split_csv_rows(path, max_bytes, source="file")


def _split_json_for(source: str) -> Splitter:
    def split(path: Path, max_bytes: int) -> Iterator[Unit | Reject]:
        yield from split_json(path, max_bytes, source=source)

    return split


register(
    Source(
        "cdevents",
        LazyRules("cdevents", "CDEventsRules"),
        _records_converter("cdevents"),
        _split_json_for("cdevents"),
        parsed=True,
    )
)
register(
    Source(
        "github",
        LazyRules("github", "GitHubRules"),
        _records_converter("github"),
        _split_github,
        (".json", ".jsonl", ".ndjson", ".csv"),
        parsed=True,
        prune=_github_pruned,
    )
)
register(
    Source(
        "gitlab",
        LazyRules("gitlab", "GitLabRules"),
        _records_converter("gitlab"),
        _split_json_for("gitlab"),
        parsed=True,
    )
)
register(
    Source(
        "jsonl",
        files.FileRules,
        _json_converter(files.to_events),
        _split_json_for("file"),
        event_source="file",
        canonical=True,
    )
)
register(
    Source(
        "csv",
        files.FileRules,
        _json_converter(files.to_events),
        _split_csv,
        (".csv",),
        event_source="file",
        canonical=True,
    )
)


def _records_splitter(module: str, source: str) -> Splitter:
    """Adapter for readers with `load(paths) -> (located records, Conversion)`."""

    def split(path: Path, max_bytes: int) -> Iterator[Unit | Reject]:
        load = importlib.import_module(f"vsmml.pipeline.ingest.{module}").load
        records, problems = load([path])
        yield from problems.rejects
        for location, value in records:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            yield location, text

    return split


def _path_reader(module: str) -> PathReader:
    def read(paths: Sequence[Path], rules: Any) -> Conversion:
        result: Conversion = importlib.import_module(f"vsmml.pipeline.ingest.{module}").read(
            paths, rules
        )
        return result

    return read


def _rules_class(module: str, name: str) -> Callable[..., Any]:
    def build(**kwargs: Any) -> Any:
        cls = getattr(importlib.import_module(f"vsmml.events.connectors.{module}"), name)
        return cls(**kwargs)

    return build


for _name, _cls in (("jenkins", "JenkinsRules"), ("pagerduty", "PagerDutyRules")):
    register(
        Source(
            _name,
            _rules_class(_name, _cls),
            _records_converter(_name),
            _records_splitter(_name, _name),
            (".json", ".jsonl", ".ndjson", ".csv"),
        )
    )
register(Source("git", _rules_class("git", "GitRules"), read=_path_reader("git_repo")))
register(Source("devlake", _rules_class("devlake", "DevLakeRules"), read=_path_reader("devlake")))
