"""The rule contract: a small settings object that turns one finding family into records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.evidence import EventIndex
from vsmml.recommend.records import Evidence, ExpectedEffect, Note, Recommendation, Target


@dataclass(frozen=True)
class Rule:
    """One finding family. Subclasses set the class attributes and implement `run`.

    `__init__` (the dataclass fields) only stores settings; `needs` names the `Inputs` fields
    the rule reads, so a rule whose inputs are absent is skipped with a reason instead of
    guessing.
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    why: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()

    def missing(self, ctx: Context) -> str | None:
        """Why the rule cannot run on these inputs (None: it can)."""
        absent = [n for n in self.needs if getattr(ctx.inputs, n) is None]
        return f"no {', '.join(absent)}" if absent else None

    def run(self, ctx: Context) -> list[Recommendation]:
        """The rule's recommendations (none when nothing is found)."""
        raise NotImplementedError

    def notes(self, ctx: Context) -> list[Note]:
        """Evidence for other rules' records (most rules have none)."""
        return []

    def make(
        self,
        target: Target,
        finding: str,
        evidence: Sequence[Evidence],
        action: str,
        effect: ExpectedEffect,
        confidence: float,
        *,
        params: Mapping[str, str | float | int] | None = None,
        extra: Sequence[ExpectedEffect] = (),
        category: str | None = None,
    ) -> Recommendation:
        """A record with this rule's category, name and why filled in."""
        return Recommendation(
            category=category or self.category,
            target=target,
            finding=finding,
            evidence=tuple(evidence),
            action=action,
            params=dict(params or {}),
            expected_effect=effect,
            confidence=float(min(max(confidence, 0.0), 1.0)),
            why=self.why,
            rule=self.name,
            extra_effects=tuple(extra),
        )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as plain dicts (column name → value)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


STAGE_KEYS: dict[str, tuple[str, str, str | None]] = {
    "coding": ("change.opened", "change_id", None),
    "review": ("change.reviewed", "change_id", None),
    "staging": ("deploy.started", "deploy_id", "staging_deploy_id"),
    "production": ("deploy.started", "deploy_id", "production_deploy_id"),
}
"""Per non-CI stage: the event that ends its wait, the key it is found by, the change column."""


def stage_event_ids(ctx: Context, stage: str, change_ids: Sequence[str]) -> tuple[list[str], int]:
    """Ids of the events that show each change's wait in `stage` (most telling change first).

    Review: the first review; a CI stage: the stage run (by merge sha); staging/production:
    the deploy that ended the wait.
    """
    index: EventIndex = ctx.events
    if stage in STAGE_KEYS:
        kind, column, via = STAGE_KEYS[stage]
        if via is None:
            return index.lookup(kind, column, list(change_ids))
        keys = ctx.change_column(via).reindex(list(change_ids)).dropna().tolist()
        return index.lookup(kind, column, keys)
    shas = ctx.change_column("sha").reindex(list(change_ids)).dropna().tolist()
    return index.lookup("stage.finished", "sha", shas, where={"stage": stage}, first_only=False)
