"""`vsmml anomalies` and `vsmml slo status` on CSV input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from vsmml.cli import app

RUNNER = CliRunner()
FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "data/fixtures/msft_cloud_monitoring/middle-tier-api-dependency-latency/outbound-02.csv"
)


def test_anomalies_lists_high_scoring_rows_of_a_csv() -> None:
    res = RUNNER.invoke(app, ["anomalies", "--file", str(FIXTURE), "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "outbound-02:" in res.output
    assert "score" in res.output


def test_anomalies_rejects_csv_without_value(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("when,v\n2024-01-01,1\n")
    res = RUNNER.invoke(app, ["anomalies", "--file", str(bad)])
    assert res.exit_code != 0


def test_slo_status_pages_with_exit_code_3(tmp_path: Path) -> None:
    ts = pd.date_range("2024-05-01 00:01", "2024-05-01 03:00", freq="min", tz="UTC")
    bad = np.where(ts > pd.Timestamp("2024-05-01 02:00", tz="UTC"), 20.0, 0.0)
    frame = pd.DataFrame({"timestamp": ts, "good": 1000 - bad, "total": 1000.0})
    path = tmp_path / "checkout.csv"
    frame.to_csv(path, index=False)
    res = RUNNER.invoke(app, ["slo", "status", "--file", str(path)])
    assert res.exit_code == 3, res.output
    assert "checkout" in res.output
    quiet = tmp_path / "quiet.csv"
    frame.assign(good=1000.0, service="api").to_csv(quiet, index=False)
    res = RUNNER.invoke(app, ["slo", "status", "--file", str(quiet), "--objective", "0.99"])
    assert res.exit_code == 0, res.output
    assert "api" in res.output
    res = RUNNER.invoke(app, ["slo", "status", "--file", str(quiet), "--service", "other"])
    assert res.exit_code == 1


def test_slo_status_reports_bad_samples(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    pd.DataFrame({"timestamp": ["2024-05-01T00:00Z"], "good": [5], "total": [1]}).to_csv(
        path, index=False
    )
    res = RUNNER.invoke(app, ["slo", "status", "--file", str(path)])
    assert res.exit_code == 2
