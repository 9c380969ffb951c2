"""LR-JIT and LApredict reproduce the ISSTA'21 test AUCs to the fourth decimal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.models import evaluation as ev
from vsmml.models.baselines import PAPER_AUC, lapredict, legacy_logistic, lr_jit
from vsmml.pipeline.datasets.jit import load_jit


@pytest.mark.parametrize("project", ["jdt", "platform", "gerrit", "go"])
def test_within_project_aucs_match_the_paper(shared_data: Path, project: str) -> None:
    frame = load_jit(shared_data / "jit" / "issta21" / f"{project}_k_feature.csv", "issta21")
    table = ev.within_project({project: frame}, {"lr_jit": lr_jit, "lapredict": lapredict})
    got = dict(zip(table["model"], table["auc"], strict=True))
    assert round(got["lr_jit"], 4) == PAPER_AUC[project]["lr_jit_wp"]
    assert round(got["lapredict"], 4) == PAPER_AUC[project]["lapredict"]


def test_lapredict_ranks_exactly_like_raw_la() -> None:
    rng = np.random.default_rng(3)
    n = 400
    la = rng.integers(0, 1000, n).astype(float)
    frame = pd.DataFrame({"la": la, "bug": (rng.random(n) < la / 1200).astype(int)})
    prob = lapredict(frame.iloc[:300], frame.iloc[300:])
    y = frame["bug"].to_numpy()[300:]
    assert ev.auc(y, prob) == pytest.approx(ev.auc(y, la[300:]))


def test_lr_jit_standardises_test_on_its_own_statistics() -> None:
    rng = np.random.default_rng(4)
    cols = ["ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix"]
    cols += ["ndev", "age", "nuc", "exp", "rexp", "sexp"]
    train = pd.DataFrame(rng.random((200, 14)), columns=cols)
    train["bug"] = (train["la"] + 0.3 * rng.random(200) > 0.6).astype(int)
    shifted = train.copy()
    shifted[cols] = shifted[cols] * 10 + 5  # a different scale: separate scaling undoes it
    np.testing.assert_allclose(lr_jit(train, train), lr_jit(train, shifted), atol=1e-9)


def test_legacy_logistic_matches_a_converged_fit() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] - x[:, 1] + rng.normal(size=300) > 0).astype(int)
    w = legacy_logistic(x, y)
    ref = LogisticRegression(tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(w[:-1], ref.coef_[0], atol=1e-3)
