"""Exports are safe to open: a reason written as a spreadsheet formula comes out of the
audit trail's CSV (API and CLI) neutralised, and of its JSON lines exactly as recorded."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import MARCUS, PRIYA, ok, position
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from projections.entries import EXPORT_COLUMNS
from services.bootstrap import Platform
from services.cli.main import app as cli

AuthHeaders = Callable[..., dict[str, str]]

REASONS = [
    '=HYPERLINK("http://x","y")',
    "+SUM(1,2)",
    "-2+3 days slipped",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
]


@pytest.mark.parametrize("reason", REASONS)
def test_a_formula_reason_is_neutralised_in_the_audit_csv(
    client: TestClient,
    auth: AuthHeaders,
    platform: Platform,
    world: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
) -> None:
    kr = world["key_result"]
    ok(
        client.patch(
            f"/v1/key-results/{kr}", json={"target": 9, "reason": reason}, headers=auth(*PRIYA)
        )
    )
    marcus = {**auth(*MARCUS), "X-Okrgov-Min-Position": str(position(platform))}
    query = {"aggregate_id": kr, "type": "KeyResult.Revised"}

    answer = client.get("/v1/audit", params={**query, "format": "csv"}, headers=marcus)
    assert answer.status_code == 200, answer.text
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    assert row["reason"] == "'" + reason
    assert json.loads(row["changes"]) == {"target": {"before": 8.0, "after": 9.0}}
    assert int(row["position"]) > 0 and row["policy_version"] == "1"

    # JSON lines carry data, not cells: the reason exactly as recorded.
    lines = client.get("/v1/audit", params={**query, "format": "jsonl"}, headers=marcus)
    [entry] = [json.loads(line) for line in lines.text.splitlines()]
    assert entry["reason"] == reason

    # The CLI writes the same bytes.
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "test-secret-of-enough-length-for-hs256")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    out = tmp_path / "audit.csv"
    args = [
        "audit",
        "export",
        "--format",
        "csv",
        "--aggregate-id",
        kr,
        "--type",
        "KeyResult.Revised",
    ]
    result = CliRunner().invoke(cli, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == answer.content
    reader = csv.reader(io.StringIO(out.read_bytes().decode("utf-8"), newline=""))
    header, cells = next(reader), next(reader)
    assert tuple(header) == EXPORT_COLUMNS
    assert cells[EXPORT_COLUMNS.index("reason")] == "'" + reason
