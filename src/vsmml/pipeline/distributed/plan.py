"""Partitions of the lake that are safe to process apart: no link of correlation crosses them.

Correlation links events by their scope (service, else ``repo:<repo>``: commit ranges and time
windows between a scope's changes, deployments and incidents) and by ids (sha, change id,
pipeline, artifact, deployment, incident, work item, security finding, the deployment a rollback
names). Metrics are then grouped by service, team or repo. A partition is a union of whole
*components* of the graph whose nodes are scopes and groups and whose edges are (1) every
event's scope—group pair and (2) every id seen in more than one scope. So a change's history,
its pipelines and artifacts, the deployments that shipped it and the incidents tied to them are
always in one partition, and so is every row of a metric group: cross-partition links such as
an incident of one service that names another service's deployment (a shared incident), a
rollback naming another scope's deployment, or a pipeline run reported under two services merge
those services into one component instead of being cut. Service dependencies declared in a
catalogue or inferred from deploy order are not correlation links (metrics never join on them):
they are computed after the partitions, from the gathered deployment records.

Events without service or repo share the scope ``""``; ids they share with a service pull it into
that component. Components are then packed into at most `target_rows` events per partition when
they allow (a component is never split; the plan reports the largest one's share).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from vsmml.pipeline.lake.manifest import Manifest
from vsmml.pipeline.lake.read import SCOPE_SQL, ScopeFilter, connect, file_list

ID_COLUMNS: Final[tuple[str, ...]] = (
    "sha",
    "change_id",
    "pipeline_id",
    "artifact_id",
    "deploy_id",
    "incident_id",
)
# ids inside attrs, read with the same top-level pattern as `vsmml.correlate.extract.attr_text`
_ATTR_IDS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("rolled_back_deploy_id", "deploy_id", ("rollback",)),
    ("finding_id", "finding_id", ("security.finding.opened", "security.finding.closed")),
    ("work_id", "work_id", ("work.created", "work.started", "work.done")),
)


@dataclass(frozen=True)
class Partition:
    """One unit of work: whole components (their scopes), the files holding them, their rows."""

    index: int
    scopes: frozenset[str]
    rows: int
    files: tuple[Path, ...]

    @property
    def where(self) -> ScopeFilter:
        """The row filter that keeps this partition's events out of its files."""
        return ScopeFilter(self.scopes)


@dataclass(frozen=True)
class Plan:
    """Partitions of a lake for one grouping, and the links that merged scopes."""

    partitions: tuple[Partition, ...]
    components: int
    rows: int
    cross_links: pd.DataFrame
    """One row per id seen in several scopes: id kind, id, the scopes it joins."""

    @property
    def largest_share(self) -> float:
        """Share of the events in the biggest partition (1.0: nothing could be parallelised)."""
        return max((p.rows for p in self.partitions), default=0) / max(self.rows, 1)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _group_sql(by: str | None) -> str:
    """The metric group of an event as `vsmml.metrics.frames.keyed` forms it ('' when missing)."""
    return "''" if by is None else f"coalesce({by}, '')"


def _id_pairs_sql(files: str) -> str:
    """(id kind, id, scope) for every id an event carries, columns and attrs alike."""
    parts = [
        f"SELECT '{c}' AS id_kind, {c} AS id, {SCOPE_SQL} AS scope FROM read_parquet({files}, "
        f"hive_partitioning = false) WHERE {c} IS NOT NULL"
        for c in ID_COLUMNS
    ]
    for key, kind, kinds in _ATTR_IDS:
        pattern = f'"{key}"\\s*:\\s*"([^"\\\\]*)"'
        listed = ", ".join(f"'{k}'" for k in kinds)
        parts.append(
            f"SELECT '{kind}' AS id_kind, nullif(regexp_extract(attrs, '{pattern}', 1), '') AS id,"
            f" {SCOPE_SQL} AS scope FROM read_parquet({files}, hive_partitioning = false)"
            f" WHERE kind IN ({listed}) AND attrs IS NOT NULL"
        )
    return " UNION ALL ".join(parts)


def plan_partitions(
    manifest: Manifest,
    *,
    by: str | None,
    target_rows: int,
    workers: int = 1,
    memory_limit: str = "2GB",
) -> Plan:
    """Split the lake into partitions of whole components for metrics grouped `by`.

    Args:
        manifest: the lake.
        by: ``service``, ``team``, ``repo`` or None (one group: one partition).
        target_rows: events per partition to aim at (a bigger component stays whole).
        workers: at least two partitions per worker are made when the components allow.
        memory_limit: DuckDB's limit for the planning queries.
    """
    paths = manifest.paths()
    files = file_list(paths)
    with connect(memory_limit) as con:
        sizes = con.execute(
            f"""SELECT {SCOPE_SQL} AS scope, {_group_sql(by)} AS grp, count(*) AS n
                FROM read_parquet({files}, hive_partitioning = false) GROUP BY ALL"""
        ).df()
        shared = con.execute(
            f"""SELECT id_kind, id, list(DISTINCT scope ORDER BY scope) AS scopes
                FROM ({_id_pairs_sql(files)}) WHERE id IS NOT NULL
                GROUP BY id_kind, id HAVING min(scope) <> max(scope)
                ORDER BY id_kind, id"""
        ).df()
    uf = _UnionFind()
    for scope, grp in zip(sizes["scope"], sizes["grp"], strict=True):
        uf.union("s:" + str(scope), "g:" + str(grp))
    for scopes in shared["scopes"]:
        first = "s:" + str(scopes[0])
        for other in scopes[1:]:
            uf.union(first, "s:" + str(other))
    per_scope = sizes.groupby("scope", sort=True)["n"].sum()
    comps: dict[str, tuple[set[str], int]] = {}
    for scope, n in per_scope.items():
        root = uf.find("s:" + str(scope))
        members, rows = comps.get(root, (set(), 0))
        members.add(str(scope))
        comps[root] = (members, rows + int(n))
    total = int(per_scope.sum())
    bins = _pack(list(comps.values()), total, target_rows, workers)
    parts = tuple(
        Partition(i, frozenset(scopes), rows, tuple(_files_for(manifest, scopes)))
        for i, (scopes, rows) in enumerate(bins)
    )
    links = shared.assign(scopes=[", ".join(map(str, s)) for s in shared["scopes"]])
    return Plan(parts, len(comps), total, links.reset_index(drop=True))


def _pack(
    comps: Sequence[tuple[set[str], int]], total: int, target_rows: int, workers: int
) -> list[tuple[set[str], int]]:
    """Largest component first into the lightest of n bins (n from the target and workers)."""
    if not comps:
        return []
    n = max(math.ceil(total / max(target_rows, 1)), 2 * max(workers, 1))
    n = max(1, min(n, len(comps)))
    order = sorted(comps, key=lambda c: (-c[1], min(c[0])))
    bins: list[tuple[set[str], int]] = [(set(), 0) for _ in range(n)]
    for members, rows in order:
        i = min(range(n), key=lambda j: (bins[j][1], j))
        bins[i] = (bins[i][0] | members, bins[i][1] + rows)
    kept = [b for b in bins if b[0]]
    return sorted(kept, key=lambda b: (-b[1], min(b[0])))


def _files_for(manifest: Manifest, scopes: set[str]) -> list[Path]:
    """Files that can hold events of `scopes` (service files, plus service-less files when a
    scope is a repo or empty)."""
    needs_unlabelled = any(s == "" or s.startswith("repo:") for s in scopes)
    chosen = [
        f
        for f in manifest.files
        if (f.service is not None and f.service in scopes)
        or (f.service is None and needs_unlabelled)
    ]
    return manifest.paths(chosen)
