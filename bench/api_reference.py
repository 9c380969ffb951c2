"""The reference of `bench_api.py`: a bare FastAPI endpoint predicting one row on the booster.

No auth, no reasons, no validation: the floor the issue measures `POST /v1/risk/score` against
(about 3,800 req/s on this kind of machine). Run as ``python bench/api_reference.py PORT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import uvicorn
from fastapi import FastAPI, Request

MODEL = Path(__file__).resolve().parents[1] / "models" / "risk" / "model.txt"
booster = lgb.Booster(model_file=str(MODEL), params={"num_threads": 1})
names = booster.feature_name()
app = FastAPI()


@app.post("/predict")
async def predict(request: Request) -> dict[str, float]:
    """Raw score of one change (missing features NaN)."""
    doc = await request.json()
    row = np.array([[float(doc.get(n, np.nan)) for n in names]])
    return {"raw_score": float(booster.predict(row, raw_score=True, num_threads=1)[0])}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
