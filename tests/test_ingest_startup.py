"""`vsmml ingest` of canonical JSON Lines / CSV starts fast: a batch of regular rows is checked
and stored in DuckDB without importing pandas (0.3-0.5 s of a start), and the events land."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

ROWS = [
    {
        "event_id": f"s{i}",
        "kind": "commit",
        "ts": "2026-03-01T10:00:00+02:00",
        "service": "api",
        "repo": "api-repo",
        "sha": f"{i:08x}",
        "attrs": {"n": i},
    }
    for i in range(50)
]


def _write(folder: Path, fmt: str) -> Path:
    if fmt == "jsonl":
        path = folder / "events.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
        return path
    path = folder / "events.csv"
    cols = ["event_id", "kind", "ts", "service", "repo", "sha", "attrs"]
    lines = [",".join(cols)]
    for r in ROWS:
        attrs = json.dumps(r["attrs"]).replace('"', '""')
        lines.append(",".join([*(str(r[c]) for c in cols[:-1]), f'"{attrs}"']))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_canonical_ingest_imports_no_pandas(tmp_path: Path, fmt: str) -> None:
    """Regular rows take the SQL path end to end: pandas is never imported, and every row lands
    with its time normalised to UTC."""
    path = _write(tmp_path, fmt)
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from vsmml.cli import app\n"
        f"sys.argv = ['vsmml', 'ingest', {fmt!r}, {str(path)!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('pandas' in sys.modules)\n"
    )
    env = {**os.environ, "VSMML_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()
    assert "accepted 50, duplicates 0, quarantined 0" in lines[0]
    assert lines[-1] == "False"
    with duckdb.connect(str(home / "vsmml.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*), min(ts)::VARCHAR FROM events").fetchall()
        raw = con.execute("SELECT count(*) FROM raw_payloads").fetchall()
    assert rows == [(50, "2026-03-01 08:00:00")]
    assert raw == [(50,)]


def test_block_lines_keep_their_text_and_numbers(tmp_path: Path) -> None:
    """The reader's lines (string views over the block, or trimmed text when a line ends in a
    CR) are exactly the file's lines: short ones held inside the view, long ones pointing into
    the block, blank lines dropped, bad lines refused by number, across block boundaries."""
    from vsmml.pipeline.ingest import canonical_lines as cl

    texts = ["", "x", "{}", "123456789012", "1234567890123", "é" * 7, "y" * 300, "", "tail"]
    body = "\n".join(texts).encode() + b"\n" + b"\xff\xfe bad\n" + b"z" * 50 + b"\n"
    for crlf in (False, True):
        data = body.replace(b"\n", b"\r\n") if crlf else body
        path = tmp_path / f"lines{crlf}.jsonl"
        path.write_bytes(data * 3)
        old = cl.BLOCK_BYTES
        cl.BLOCK_BYTES = 64  # many blocks, lines cut at block ends
        try:
            out = list(cl.jsonl_batches(path, "f", 1 << 20, 1000, "jsonl"))
        finally:
            cl.BLOCK_BYTES = old
        table = out[0][0]
        numbers, lines = table.column("line_no").to_pylist(), table.column("line").to_pylist()
        got = list(zip(numbers, lines, strict=True))
        per = len(texts) + 2
        want = [
            (k * per + i + 1, t)
            for k in range(3)
            for i, t in enumerate([*texts, "BAD", "z" * 50])
            if t and t != "BAD"
        ]
        assert got == want
        bad = [f"f:{k * per + len(texts) + 1}" for k in range(3)]
        assert [r.location for r in out[0][1]] == bad
