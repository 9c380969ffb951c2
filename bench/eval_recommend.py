"""Truth checks of `vsmml.recommend` on the synthetic organisation.

1. Target: the top `flow` recommendation of each service targets the stage that leads the
   service's waiting over the last 4 complete weeks (summed `wait_hours` of the generator's
   `stage_wait_shares` truth; its weekly leader is `bottlenecks.stage`). Bar: >= 90 % of the
   services, on three seeds and on an organisation in flux.
2. Effect: recommend with the data a user has at week T (events before T; the 4 weeks before T
   analysed), take each service's top flow recommendation that cuts a wait, regenerate the same
   organisation with the generator's knob cutting that stage's wait by the recommended share
   from week T (`SynthConfig.wait_cuts`), and measure the realised change of the median lead
   time of the changes first committed in [T, T + 4 weeks), against the same changes of the
   uncut organisation, from the events (correlate + flow_data, as a user would). Bar: the
   realised change falls inside the recommendation's [low, high] for >= 80 % of the services.

Usage: .venv/bin/python bench/eval_recommend.py [--seeds 42,5,7] [--flux-seed 42]
       [--move-every 8] [--services N] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from vsmml.correlate import correlate
from vsmml.graph import flow_data
from vsmml.recommend import DEFAULT_RULES, recommend
from vsmml.recommend.gather import gather
from vsmml.recommend.records import Recommendation
from vsmml.synth import SynthConfig, generate
from vsmml.synth.config import WaitCut

FLOW_RULES = tuple(r for r in DEFAULT_RULES if r.category == "flow")
WAIT_CUTS = ("cut_review_wait", "cut_stage_queue", "automate_promotion", "deploy_more_often")
WEEK = pd.Timedelta(weeks=1)


def delivery(events: pd.DataFrame) -> pd.DataFrame:
    """The events without SLO samples (the flow rules do not read them)."""
    return events.loc[(events["kind"].astype(str) != "slo.sample").to_numpy(dtype=bool)]


def leaders(truth: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp) -> pd.Series:
    """Per service: the stage with the most waiting over [since, until) (generator truth)."""
    sw = truth.loc[((truth["week_start"] >= since) & (truth["week_start"] < until)).to_numpy(bool)]
    total = sw.groupby(["service", "stage"], sort=True)["wait_hours"].sum().reset_index()
    top = total.sort_values(["service", "wait_hours"], ascending=[True, False], kind="stable")
    return top.drop_duplicates("service").set_index("service")["stage"]


def top_flow(
    recs: list[Recommendation], actions: tuple[str, ...] | None = None
) -> dict[str, Recommendation]:
    """The first (highest-ranked) flow recommendation per service, optionally of some actions."""
    out: dict[str, Recommendation] = {}
    for r in recs:
        if r.category != "flow" or r.target.service is None:
            continue
        if actions is not None and r.action not in actions:
            continue
        out.setdefault(r.target.service, r)
    return out


def target_check(cfg: SynthConfig) -> tuple[pd.DataFrame, float]:
    """Per service: truth leader, recommended stage, hit."""
    t0 = time.perf_counter()
    org = generate(cfg)
    inputs = gather(delivery(org.events))
    res = recommend(inputs, rules=FLOW_RULES)
    lead = leaders(org.truth.stage_wait_shares, inputs.since, inputs.until)
    top = top_flow(res.recommendations)
    rows = [
        (s, stage, top[s].target.stage if s in top else None, top[s].action if s in top else None)
        for s, stage in lead.items()
    ]
    out = pd.DataFrame(rows, columns=["service", "truth", "recommended", "action"])
    out["hit"] = out["truth"] == out["recommended"]
    return out, time.perf_counter() - t0


def _median_leads(events: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp) -> pd.Series:
    ev = delivery(events)
    corr = correlate(ev)
    flow = flow_data(corr.changes, ev)
    ch = flow.changes
    keep = ((ch["first_commit_at"] >= since) & (ch["first_commit_at"] < until)).to_numpy(bool)
    return ch.loc[keep].groupby("service")["lead_h"].median()


def effect_check(cfg: SynthConfig, horizon_weeks: int = 4) -> tuple[pd.DataFrame, float]:
    """Per service: predicted change and interval, realised change, covered."""
    t0 = time.perf_counter()
    org = generate(cfg)
    t_week = cfg.days // 7 - horizon_weeks
    at = cfg.start + t_week * WEEK
    known = org.events.loc[(org.events["ts"] < at).to_numpy(dtype=bool)]
    inputs = gather(delivery(known), until=at, weeks=horizon_weeks)
    res = recommend(inputs, rules=FLOW_RULES)
    top = top_flow(res.recommendations, WAIT_CUTS)
    cuts = tuple(
        WaitCut(str(r.target.stage), 1.0 - float(r.params["cut_pct"]) / 100.0, t_week, (s,))
        for s, r in sorted(top.items())
    )
    cut_org = generate(dataclasses.replace(cfg, wait_cuts=cuts))
    end = at + horizon_weeks * WEEK
    before = _median_leads(org.events, at, end)
    after = _median_leads(cut_org.events, at, end)
    rows = []
    for s, r in sorted(top.items()):
        e = r.expected_effect
        real = 100.0 * (after[s] - before[s]) / before[s]
        rows.append((s, r.target.stage, e.value, e.low, e.high, real))
    out = pd.DataFrame(rows, columns=["service", "stage", "predicted", "low", "high", "realised"])
    out["covered"] = (out["low"] <= out["realised"]) & (out["realised"] <= out["high"])
    out["width"] = out["high"] - out["low"]
    return out, time.perf_counter() - t0


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of `frame` (floats with 2 decimals)."""
    cells = [
        [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(frame.columns))) + "|"
    return "\n".join([head, rule, *["| " + " | ".join(c) + " |" for c in cells]])


def main() -> None:
    """Run both checks on every configuration and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="42,5,7")
    ap.add_argument("--flux-seed", type=int, default=42)
    ap.add_argument("--move-every", type=int, default=8)
    ap.add_argument("--services", type=int, default=None, help="services per organisation")
    ap.add_argument("--quick", action="store_true", help="one seed, no flux organisation")
    ap.add_argument("--details", action="store_true", help="print every service's row")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    extra = {"n_services": args.services} if args.services else {}
    configs = [(f"seed {s}", SynthConfig(seed=s, **extra)) for s in seeds]
    if not args.quick:
        flux = SynthConfig(
            seed=args.flux_seed, bottleneck_move_every_weeks=args.move_every, **extra
        )
        configs.append((f"flux every {args.move_every} w (seed {args.flux_seed})", flux))
    t_rows, e_rows = [], []
    for name, cfg in configs:
        t, t_s = target_check(cfg)
        e, e_s = effect_check(cfg)
        if args.details:
            print(name, t.to_string(index=False), e.round(2).to_string(index=False), sep="\n")
        t_rows.append((name, len(t), int(t["hit"].sum()), 100.0 * t["hit"].mean(), t_s))
        e_rows.append(
            (
                name,
                len(e),
                100.0 * e["covered"].mean(),
                e["width"].mean(),
                e["width"].median(),
                float(np.median(np.abs(e["predicted"] - e["realised"]))),
                float(e["predicted"].mean()),
                float(e["realised"].mean()),
                e_s,
            )
        )
    tt = pd.DataFrame(t_rows, columns=["organisation", "services", "hits", "hit %", "seconds"])
    et = pd.DataFrame(
        e_rows,
        columns=["organisation", "services", "covered %", "mean width pp", "median width pp",
                 "median |pred-real| pp", "mean predicted %", "mean realised %", "seconds"],
    )  # fmt: skip
    print("Target check: top flow recommendation vs the 4-week wait leader (truth)")
    print(markdown(tt))
    print(f"\nall: {tt['hits'].sum()} / {tt['services'].sum()} services")
    print("\nEffect check: realised median lead-time change inside [low, high]")
    print(markdown(et))


if __name__ == "__main__":
    main()
