"""The CLI's writing commands through a running server (`--server URL`): read here, store there.

`ingest_through` reads and splits files exactly as `vsmml ingest` does (the source's own
splitter, so locations stay ``file:line``) and posts the raw payloads in batches to
``/v1/ingest/{source}``, where they are kept and converted; what the reader refuses (too large,
unreadable) is posted too and quarantined there. Sources that read whole folders (git, devlake)
are converted here and posted as canonical events. `replay_through` and `retry_through` ask the
server to do `vsmml replay` and `vsmml quarantine retry` on its store, `train_through` to run
`vsmml train` there (the outcomes come back as the local command's, so it prints the same).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vsmml.config import Settings, get_settings
from vsmml.events.connectors.base import Reject
from vsmml.pipeline.ingest.readers import expand
from vsmml.pipeline.ingest.registry import get_source
from vsmml.pipeline.ingest.rules import build_rules
from vsmml.pipeline.remote import Server, connect

if TYPE_CHECKING:
    from vsmml.pipeline.training.jobs import TrainOutcome, TrainRequest

__all__ = ["RemoteIngest", "ingest_through", "replay_through", "retry_through", "train_through"]

BATCH_UNITS: Final[int] = 2_000
BATCH_CHARS: Final[int] = 2 * 2**20
"""A request carries at most this many payloads or characters (under the body limit)."""
_COUNTS: Final = ("payloads", "accepted", "duplicates", "quarantined", "skipped")


@dataclass
class RemoteIngest:
    """Totals of the server's answers, files read, paths that matched nothing, first reasons."""

    source: str
    files: int = 0
    requests: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTS, 0))
    missing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, answer: Mapping[str, Any]) -> None:
        """Fold one answer in."""
        self.requests += 1
        for k in _COUNTS:
            self.counts[k] += int(answer.get(k, 0))
        self.messages.extend(list(answer.get("messages", []))[: max(0, 50 - len(self.messages))])

    def summary(self) -> str:
        """One line for people, like `vsmml ingest` prints."""
        c = self.counts
        return (
            f"{self.source}: {self.files} file(s), {c['payloads']} payload(s) sent in "
            f"{self.requests} request(s); accepted {c['accepted']}, duplicates "
            f"{c['duplicates']}, quarantined {c['quarantined']}, skipped {c['skipped']}"
        )


def _batches(items: Iterable[tuple[str, str] | Reject]) -> Iterator[dict[str, Any]]:
    units: list[dict[str, str]] = []
    rejects: list[dict[str, str]] = []
    size = 0
    for item in items:
        if isinstance(item, Reject):
            rejects.append(
                {k: getattr(item, k) for k in ("source", "location", "field", "reason", "record")}
            )
            size += len(item.record)
        else:
            units.append({"location": item[0], "payload": item[1]})
            size += len(item[1])
        if len(units) + len(rejects) >= BATCH_UNITS or size >= BATCH_CHARS:
            yield {"units": units, "rejects": rejects}
            units, rejects, size = [], [], 0
    if units or rejects:
        yield {"units": units, "rejects": rejects}


def ingest_through(
    url: str,
    source: str,
    paths: Sequence[str | Path],
    *,
    rules: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> RemoteIngest:
    """`vsmml ingest SOURCE PATH... --server URL` (see the module docstring)."""
    s = settings or get_settings()
    server = connect(url, s)
    spec = get_source(source)
    report = RemoteIngest(source)
    if spec.read is not None:
        return _whole_paths(server, spec, paths, rules, report)
    found, report.missing = expand(list(paths), spec.suffixes)
    report.files = len(found)
    rule_obj = build_rules(spec, dict(rules or {}))
    max_bytes = int(getattr(rule_obj, "max_payload_bytes", s.max_payload_bytes))

    def items() -> Iterator[tuple[str, str] | Reject]:
        for path in found:
            assert spec.split is not None
            yield from spec.split(path, max_bytes)

    for batch in _batches(items()):
        report.add(server.call("POST", f"/v1/ingest/{source}", body={**batch, "rules": rules}))
    return report


def _whole_paths(
    server: Server,
    spec: Any,
    paths: Sequence[str | Path],
    rules: Mapping[str, Any] | None,
    report: RemoteIngest,
) -> RemoteIngest:
    existing = [Path(p) for p in paths if Path(p).exists()]
    report.missing = [str(p) for p in paths if not Path(p).exists()]
    report.files = len(existing)
    if not existing:
        return report
    conv = spec.read(existing, build_rules(spec, dict(rules or {})))
    frame = conv.events
    records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="us"))
    events = [{k: v for k, v in r.items() if v is not None} for r in records]
    for start in range(0, len(events), BATCH_UNITS):
        report.add(server.call("POST", "/v1/events", body=events[start : start + BATCH_UNITS]))
    report.counts["quarantined"] += len(conv.rejects)
    report.messages.extend(r.message() for r in conv.rejects[:10])
    return report


def replay_through(
    url: str,
    *,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """`vsmml replay --server URL`: the server re-converts its kept raw payloads."""
    doc: dict[str, Any] = connect(url, settings).call(
        "POST", "/v1/admin/replay", body={"source": source, "rules": rules}
    )
    return doc


def retry_through(
    url: str,
    *,
    ids: Sequence[int] | None = None,
    source: str | None = None,
    rules: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """`vsmml quarantine retry --server URL`: the server converts refused records again."""
    server = connect(url, settings)
    total: dict[str, Any] = {}
    after: int | None = 0
    while after is not None:
        body = {"ids": list(ids) if ids else None, "source": source, "rules": rules, "after": after}
        doc: dict[str, Any] = server.call("POST", "/v1/admin/quarantine/retry", body=body)
        total = _merged(total, doc)
        after = doc.get("next_after")
    return total


def _merged(total: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """Two pages of a retry as one answer, summarised as the local command words it."""
    from vsmml.pipeline.ingest.replay import ReplayReport

    if not total:
        return dict(doc)
    out = dict(total)
    for k in ("accepted", "duplicates", "quarantined", "resolved", "still_failing"):
        out[k] = total.get(k, 0) + doc.get(k, 0)
    out["payloads"] = {
        s: total["payloads"].get(s, 0) + doc["payloads"].get(s, 0)
        for s in {*total["payloads"], *doc["payloads"]}
    }
    out["messages"] = (total["messages"] + doc["messages"])[:50]
    out["next_after"] = doc.get("next_after")
    out["summary"] = ReplayReport(
        payloads=out["payloads"],
        accepted=out["accepted"],
        duplicates=out["duplicates"],
        quarantined=out["quarantined"],
        resolved=out["resolved"],
        still_failing=out["still_failing"],
    ).summary()
    return out


TRAIN_TIMEOUT_S: Final[float] = 3600.0
"""A training answers when it is done: minutes for ``all`` on a busy machine."""


def train_through(
    url: str, request: TrainRequest, *, settings: Settings | None = None
) -> tuple[list[str], list[TrainOutcome], dict[str, Any] | None]:
    """`vsmml train ... --server URL`: the server trains on its store and home; (what it
    announced, each outcome as `train_models` gives it, the risk model swap or None)."""
    import pandas as pd

    from vsmml.errors import ConfigError
    from vsmml.pipeline.training.jobs import TrainOutcome
    from vsmml.tracking import TrackResult

    if request.data is not None:
        raise ConfigError(
            "train: --data trains on a local file and needs no store: run it without --server, "
            "then `POST /v1/admin/models/reload` if the server shares this VSMML_HOME"
        )
    if request.engine != "local":
        raise ConfigError("train: --engine dask with --server: the server trains locally")
    server = replace(connect(url, settings), timeout=TRAIN_TIMEOUT_S)
    body = {"model": request.model, "store": request.store, "seed": request.seed,
            "days": request.days}  # fmt: skip
    doc: dict[str, Any] = server.call("POST", "/v1/admin/train", body=body)
    outcomes = []
    for o in doc["outcomes"]:
        result = table = None
        if o.get("result") is not None:
            r = dict(o["result"])
            result = TrackResult(name=o["name"], **{**r, "export_dir": Path(r["export_dir"])})
        if o.get("table") is not None:
            table = pd.DataFrame(o["table"]["rows"], columns=o["table"]["columns"])
        outcomes.append(TrainOutcome(o["name"], result, table, o.get("error")))
    return list(doc["log"]), outcomes, doc.get("reloaded")
