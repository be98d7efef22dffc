"""Log lines are JSON and carry the correlation id of their request or command."""

import json
import logging

import pytest
import structlog

from infra.logging import configure_logging, correlated


def test_lines_are_json_with_the_bound_correlation_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    with correlated("req-7", command="check_in"):
        structlog.get_logger("okrgov").info("command.recorded", position=3)
        logging.getLogger("uvicorn.error").info("a library's own line")
    structlog.get_logger("okrgov").info("outside")
    ours, library, outside = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert ours["correlation_id"] == "req-7" and ours["command"] == "check_in"
    assert ours["event"] == "command.recorded" and ours["position"] == 3
    assert library["correlation_id"] == "req-7" and library["event"] == "a library's own line"
    assert "correlation_id" not in outside


def test_each_unbound_block_gets_a_new_id() -> None:
    with correlated() as first, correlated() as second:
        assert first != second and len(first) == 32
