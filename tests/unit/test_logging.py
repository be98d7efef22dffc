"""Log lines carry the correlation id of their request or command: JSON lines, or readable
lines on a terminal; libraries at WARNING; a quieted block drops our info lines."""

import json
import logging

import pytest
import structlog

from infra.logging import configure_logging, correlated, quieted


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


def test_console_lines_are_readable_and_keep_the_correlation_id(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    configure_logging("INFO", "console")
    with correlated("req-8"):
        structlog.get_logger("okrgov").info("command.recorded", position=4)
        logging.getLogger("uvicorn.error").info("a library's own line")
    ours, library = capsys.readouterr().err.splitlines()
    assert not ours.startswith("{") and "command.recorded" in ours
    assert "position=4" in ours and "correlation_id=req-8" in ours
    assert "\x1b[" not in ours + library  # NO_COLOR: no escape sequences
    assert "a library's own line" in library and "correlation_id=req-8" in library


def test_auto_is_json_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "auto")  # pytest's captured stderr is no terminal
    structlog.get_logger("okrgov").info("serve.started")
    assert json.loads(capsys.readouterr().err)["event"] == "serve.started"


def test_libraries_log_warnings_only(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "json")
    logging.getLogger("kafka.conn").info("connecting to broker")
    logging.getLogger("uvicorn.access").info('"GET /healthz" 200')
    logging.getLogger("eventsourcing.persistence").info("created table")
    logging.getLogger("kafka.conn").warning("broker unreachable")
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["event"] == "broker unreachable"


def test_a_quieted_block_drops_our_info_lines_and_keeps_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    with quieted():
        structlog.get_logger("okrgov").info("command.recorded", position=5)
        structlog.get_logger("okrgov").warning("policy.slow")
    structlog.get_logger("okrgov").info("command.recorded", position=6)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["event"], line.get("position")) for line in lines] == [
        ("policy.slow", None),
        ("command.recorded", 6),
    ]
