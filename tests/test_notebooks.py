"""The example notebooks run top to bottom (as CI runs them), so the notebook API stays true."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSMML_HOME", str(tmp_path))  # the kernel inherits it: MLflow lands here
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    if path.name == "03_anomalies_slo.ipynb":  # the burn comparison and the Kayenta verdict ran
        text = "\n".join(
            str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        )
        assert "BurnRiskModel" in text
        assert "Fail 0.0 critical metric 'errors' failed" in text
    if path.name == "02_models.ipynb":  # its experiments were logged to MLflow, not registered
        from vsmml.config import Settings
        from vsmml.pipeline.experiments import runs_table
        from vsmml.tracking import champion_version

        settings = Settings(home=tmp_path)
        runs = runs_table("risk", settings)
        assert sorted(runs["run_name"]) == ["jit + context", "jit only"]
        assert (runs["metrics.auc"] > 0.6).all()
        assert len(runs_table("bottleneck", settings)) == 1
        assert champion_version("risk", settings) is None
