"""The catalogue of actions a recommendation may propose, each with its wording."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from vsmml.errors import DataError


@dataclass(frozen=True)
class Action:
    """One action: its id, a template filled with the target and the rule's parameters."""

    id: str
    template: str
    description: str


_ACTIONS: Final[tuple[Action, ...]] = (
    Action(
        "cut_review_wait",
        "Cut the review pickup wait in {service} (the constraint) by {cut_pct}%",
        "Reviews start late: agree review slots, rotate a reviewer on duty, alert on waiting PRs.",
    ),
    Action(
        "cut_review_wip",
        "Limit the changes waiting for review in {service} (review WIP)",
        "Review waits grow with the number of changes in review: cap WIP, finish before starting.",
    ),
    Action(
        "add_reviewers",
        "Add reviewers to {service}: {top_share_pct}% of first reviews come from one person",
        "One reviewer carries most reviews; spread the load over more people.",
    ),
    Action(
        "cut_stage_queue",
        "Cut the queue in front of {stage} in {service} by {cut_pct}% (add runners or capacity)",
        "Changes wait for the stage to start: add runners, capacity or priority for it.",
    ),
    Action(
        "parallelise_stage",
        "Run {stage} in parallel with the other CI stages in {service}",
        "The stage runs after the others although it does not need them.",
    ),
    Action(
        "speed_up_stage",
        "Speed up {stage} in {service} by {cut_pct}% (it runs {active_h} h per change)",
        "The stage itself runs long: cache, shard or trim it.",
    ),
    Action(
        "automate_promotion",
        "Promote {service}'s artifacts to staging automatically (cut that wait by {cut_pct}%)",
        "Artifacts wait before the staging deploy starts: promote on publish.",
    ),
    Action(
        "deploy_more_often",
        "Deploy {service} to production more often (cut the production wait by {cut_pct}%)",
        "Changes wait for the next production deploy: release more often.",
    ),
    Action(
        "shrink_deploy_batches",
        "Ship one change per production deploy in {service}",
        "Deploys carry several changes: smaller batches ship sooner and fail less.",
    ),
    Action(
        "fix_flaky_tests",
        "Quarantine or fix the flaky tests in {stage} of {service}",
        "Pipelines fail and pass on retry: the retries cost time and hide real failures.",
    ),
    Action(
        "split_large_changes",
        "Split changes over {limit} lines in {service} into changes under {limit} lines",
        "Large changes are riskier and slower to review.",
    ),
    Action(
        "split_change",
        "Split {change} into {pieces} changes under {limit} lines",
        "This change is large; smaller pieces score lower.",
    ),
    Action(
        "wait_for_flaky_fix",
        "Ship {change} after {service}'s flaky pipeline is fixed",
        "The risk model counts pipeline flakiness against the change.",
    ),
    Action(
        "ship_alone",
        "Ship {change} in a deploy of its own",
        "The risk model counts the deploy's batch size against the change.",
    ),
    Action(
        "add_reviewer_to_change",
        "Get a second reviewer for {change}",
        "The risk model counts review depth for the change.",
    ),
    Action(
        "add_canary",
        "Add or lengthen a canary for {service}'s production deploys",
        "Bad deploys burn the error budget at full traffic before they are rolled back.",
    ),
    Action(
        "pause_rollout",
        "Pause production rollouts of {service} until its burn settles",
        "The burn model expects the error budget to page soon.",
    ),
    Action(
        "roll_back",
        "Roll back {service}'s last production deploy ({deploy})",
        "The SLO burns since the last deploy and nothing has restored it yet.",
    ),
    Action(
        "tighten_slo_alert",
        "Tighten {service}'s SLO page alert (page at {factor}x instead of {old_factor}x)",
        "Incidents burned the budget without paging.",
    ),
    Action(
        "loosen_slo_alert",
        "Loosen {service}'s SLO page alert (page at {factor}x instead of {old_factor}x)",
        "Pages fired with no incident behind them.",
    ),
    Action(
        "fix_correlation_metadata",
        "Fix correlation metadata at {source}: send {field} on {kind} events",
        "Events without their correlation keys drop out of every metric.",
    ),
    Action(
        "fix_source_records",
        "Fix the records {source} sends: {reason}",
        "Quarantined records are lost to every metric until the source is fixed.",
    ),
    Action(
        "retrain_model",
        "Retrain the {model} model on this organisation's changes",
        "The model's predictions no longer match the outcomes it is used on.",
    ),
    Action(
        "review_gate_waivers",
        "Stop waiving the release gate in {service} without a canary or a second reviewer",
        "Waived changes ship with the risk the gate flagged.",
    ),
)

ACTIONS: Final[dict[str, Action]] = {a.id: a for a in _ACTIONS}


class _Lenient(dict[str, object]):
    """Format mapping that leaves unknown placeholders visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def action_text(action: str, values: Mapping[str, object]) -> str:
    """The wording of `action` with the target fields and parameters filled in."""
    if action not in ACTIONS:
        raise DataError(f"action {action!r} is not in the catalogue: {sorted(ACTIONS)}")
    plain = {k: v for k, v in values.items() if v is not None}
    return string.Formatter().vformat(ACTIONS[action].template, (), _Lenient(plain))
