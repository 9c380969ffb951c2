"""Development harness for the change-risk model: AUC on dev splits only (never the test 20 %).

Run: ``.venv/bin/python bench/dev_risk.py [--only NAME ...]``. Twelve development splits, each
time-ordered (first 80 % by date trains, last 20 % evaluates):

- ``old/<p>``: ISSTA'21 ``<p>_old_k_feature.csv`` (an earlier period of each project);
- ``val/<p>``: the *training* 80 % of ``<p>_k_feature.csv`` split again (its last 20 % evaluates),
  so the published test 20 % is never loaded into a metric;
- ``kamei/<p>``: Kamei 2013 bugzilla, columba, jdt, postgres.

for p in jdt, platform, gerrit, go (qt and openstack are reserved and never read). Prints the
AUC of each candidate per split, its mean, and its worst margin over LApredict. Candidates:
``before`` (the earlier design: one tree size picked on the validation slice, no copies),
``copies`` (+ the ``copies_30d`` feature), ``sizes`` (+ averaging the three tree sizes) and
``new`` (both: today's `ChangeRiskModel()`). ``--seed`` changes every model's random_state.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from vsmml.models import evaluation as ev
from vsmml.models.base import time_ordered_split
from vsmml.models.baselines import lapredict
from vsmml.models.risk import ChangeRiskModel
from vsmml.pipeline.datasets.jit import CHANGE_METRICS, load_jit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jit"
PROJECTS = ("jdt", "platform", "gerrit", "go")
KAMEI = ("bugzilla", "columba", "jdt", "postgres")
X_COLUMNS = [*CHANGE_METRICS, "committed_at"]
Split = tuple[pd.DataFrame, pd.DataFrame]


def _cut(frame: pd.DataFrame) -> Split:
    tr, te = time_ordered_split(frame["committed_at"], 0.8)
    return frame.iloc[tr].reset_index(drop=True), frame.iloc[te].reset_index(drop=True)


def dev_splits() -> dict[str, Split]:
    """The twelve development (train, evaluate) pairs; none touches a published test 20 %."""
    out: dict[str, Split] = {}
    for p in PROJECTS:
        out[f"old/{p}"] = _cut(load_jit(DATA / "issta21" / f"{p}_old_k_feature.csv", "issta21"))
    for p in PROJECTS:
        full = load_jit(DATA / "issta21" / f"{p}_k_feature.csv", "issta21")
        train, _ = _cut(full)  # the published test 20 % is dropped here, unseen
        out[f"val/{p}"] = _cut(train)
    for p in KAMEI:
        out[f"kamei/{p}"] = _cut(load_jit(DATA / "kamei2013" / f"{p}.csv", "kamei"))
    return out


Candidate = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def model_candidate(**params: object) -> Candidate:
    """A `ChangeRiskModel` with `params`, fitted on the train part, scoring the eval part."""

    def run(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = ChangeRiskModel(**params).fit(train[X_COLUMNS], train["bug"])  # type: ignore[arg-type]
        return np.asarray(model.predict_proba(test[X_COLUMNS])[:, 1])

    return run


def candidates(seed: int) -> dict[str, Candidate]:
    """LApredict, the earlier design (`before`), each idea alone, and the chosen one (`new`)."""
    return {
        "lapredict": lapredict,
        "before": model_candidate(copy_history=False, average_sizes=False, random_state=seed),
        "copies": model_candidate(average_sizes=False, random_state=seed),
        "sizes": model_candidate(copy_history=False, random_state=seed),
        "new": model_candidate(random_state=seed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the models")
    args = parser.parse_args()
    pool = candidates(args.seed)
    names = args.only or list(pool)
    splits = dev_splits()
    table = pd.DataFrame(index=list(splits), columns=names, dtype=float)
    for split, (train, test) in splits.items():
        y = test["bug"].to_numpy(np.float64)
        for name in names:
            start = time.perf_counter()
            table.loc[split, name] = ev.auc(y, pool[name](train, test))
            print(
                f"{split:16s} {name:12s} {table.loc[split, name]:.4f} "
                f"({time.perf_counter() - start:.1f} s)",
                flush=True,
            )
    table.loc["mean"] = table.mean()
    if "lapredict" in table.columns:
        margin = table.drop(index="mean").sub(table["lapredict"].drop(index="mean"), axis=0)
        table.loc["worst vs LA"] = margin.min()
    print(table.round(4).to_string())


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
