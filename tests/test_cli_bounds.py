"""Every numeric option has a range, a NaN is refused, and text from data cannot drive a terminal.

Out-of-range values exit 2 with one line (issue: `vsmml demo --days 1000000` ran until killed);
stored text (service names, reasons) is printed with its control characters escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsmml.cli import app

pytestmark = pytest.mark.integration  # the real CLI app

RUNNER = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--days", "1000000"],
        ["demo", "--days", "3"],
        ["demo", "--services", "0"],
        ["demo", "--services", "100000"],
        ["demo", "--seed", "-1"],
        ["train", "risk", "--days", "1000000"],
        ["whatif", "review wait -30%", "--confidence", "1.5"],
        ["whatif", "review wait -30%", "--confidence", "nan"],
        ["anomalies", "--threshold", "nan"],
        ["anomalies", "--threshold", "2"],
        ["anomalies", "--top", "0"],
        ["slo", "status", "--objective", "nan"],
        ["slo", "status", "--objective", "1"],
        ["slo", "status", "--window-days", "0"],
        ["score", "--la", "1", "--top", "1000"],
        ["score", "--la", "1", "--threshold", "inf"],
        ["evaluate", "risk", "--data", __file__, "--train-fraction", "nan"],
        ["evaluate", "risk", "--data", __file__, "--train-fraction", "-1"],
        ["evaluate", "risk", "--data", __file__, "--train-fraction", "2"],
    ],
)
def test_out_of_range_option_exits_2_with_one_line(args: list[str], vsmml_home: Path) -> None:
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["metrics", "risk"])
@pytest.mark.parametrize("value", ["nan", "NaT", "garbage"])
def test_a_time_bound_that_is_no_time_is_refused(
    command: str, value: str, vsmml_home: Path
) -> None:
    result = RUNNER.invoke(app, [command, "--until", value])
    assert result.exit_code == 2, result.output
    assert f"--until: not a date or timestamp: {value!r}" in result.stderr, result.stderr


def test_control_characters_from_data_are_escaped(vsmml_home: Path, tmp_path: Path) -> None:
    evil = "\x1b]0;owned\x07\x1b[2Jshop"
    rows = [
        {"event_id": f"d{i}", "kind": "deploy.finished", "ts": f"2026-01-0{i}T10:00:00Z",
         "deploy_id": f"d{i}", "env": "production", "status": "success", "service": evil}
        for i in range(1, 4)
    ]  # fmt: skip
    path = tmp_path / "evil.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert RUNNER.invoke(app, ["ingest", "jsonl", str(path)]).exit_code == 0
    result = RUNNER.invoke(app, ["metrics", "--freq", "all"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[2Jshop" in result.stdout
