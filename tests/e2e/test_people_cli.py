"""``okrgov people``: an operator lists the directory, looks at a person and their
directory history, deactivates a leaver (who is then refused whatever they present, their
okrgov tokens revoked, the summary saying so) and reactivates them, each change on the
record naming who made it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.config import Settings
from infra.tokens import InvalidToken
from services.bootstrap import Platform, build
from services.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def directory(cli_environment: Path) -> list[str]:
    """Tom (two live tokens) and Lena in the directory, Tom in okrgov-members; returns
    Tom's token texts."""
    platform = build(Settings())
    try:
        people = platform.directory
        people.provision(
            "tom",
            {"name": "Tom Becker", "email": "tom@example.com", "team": "Investor Relations",
             "job_role": "investor_relations"},
            by="sam",
        )  # fmt: skip
        people.provision("lena", {"name": "Lena Fischer", "team": "Operations"}, by="sam")
        people.create_group("okrgov-members", ["tom", "lena"], by="sam")
        return [platform.tokens.create("tom", ["member"]) for _ in range(2)]
    finally:
        platform.close()


def _platform() -> Platform:
    return build(Settings())


def test_list_filters_by_team_and_activity() -> None:
    listed = runner.invoke(app, ["people", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["lena", "tom"]
    assert "tom@example.com" in lines[1] and "okrgov-members" in lines[1]
    assert lines[1].endswith("active")
    assert "2 people (0 deactivated)" in listed.stderr

    team = runner.invoke(app, ["people", "list", "--team", "investor relations"])
    assert [line.split()[0] for line in team.stdout.splitlines()] == ["tom"]
    inactive = runner.invoke(app, ["people", "list", "--inactive"])
    assert inactive.stdout == "" and "0 people" in inactive.stderr


def test_deactivating_a_leaver_revokes_their_tokens_and_stops_them(
    directory: list[str],
) -> None:
    done = runner.invoke(
        app, ["people", "deactivate", "tom", "--reason", "left the firm", "--by", "sam"]
    )
    assert done.exit_code == 0, done.output
    assert "deactivated tom (position " in done.stderr
    assert done.stderr.count("revoked token ") == 2
    assert "tom is deactivated, by sam; 2 live okrgov token(s) of theirs revoked" in done.stderr

    platform = _platform()
    try:
        for text in directory:
            with pytest.raises(InvalidToken):
                platform.authentication.bearer(text)
        # A token issued after the deactivation is refused all the same: he is a leaver.
        fresh = platform.tokens.create("tom", ["member"])
        with pytest.raises(InvalidToken, match="deactivated"):
            platform.authentication.bearer(fresh)
        with pytest.raises(InvalidToken, match="deactivated"):
            platform.authentication.from_claims({"sub": "tom", "groups": ["okrgov-members"]})
        assert platform.authentication.bearer(platform.tokens.create("lena", ["member"]))
    finally:
        platform.close()

    listed = runner.invoke(app, ["people", "list", "--inactive"])
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["tom"]
    assert listed.stdout.rstrip().endswith("DEACTIVATED")

    again = runner.invoke(app, ["people", "deactivate", "tom", "--reason", "twice"])
    assert again.exit_code == 0, again.output
    assert "tom was already deactivated" in again.stderr
    assert "by okrgov; 1 live okrgov token(s) of theirs revoked" in again.stderr  # the fresh one

    back = runner.invoke(app, ["people", "reactivate", "tom", "--reason", "rehired"])
    assert back.exit_code == 0, back.output
    assert "tom is active again, by okrgov (position " in back.stderr
    platform = _platform()
    try:
        assert not platform.directory.is_deactivated("tom")
        with pytest.raises(InvalidToken):  # revoked tokens stay revoked
            platform.authentication.bearer(directory[0])
    finally:
        platform.close()


def test_show_gives_the_directory_history_with_who_and_why() -> None:
    runner.invoke(app, ["people", "deactivate", "tom", "--reason", "left the firm", "--by", "sam"])
    shown = runner.invoke(app, ["people", "show", "tom"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("tom") and "Tom Becker" in lines[0]
    assert "DEACTIVATED" in lines[0]
    history = lines[1:]
    assert [line.split()[4] for line in history] == [
        "Person.Provisioned",
        "Group.MembersChanged",
        "Person.Deactivated",
    ]
    assert "(okrgov-members) by sam" in history[1]
    assert history[2].endswith("by sam: left the firm")
    assert "3 directory change(s) of tom" in shown.stderr


def test_unknown_people_and_bad_user_ids_are_refused() -> None:
    for command in (["show", "nobody"], ["deactivate", "nobody", "--reason", "x"]):
        refused = runner.invoke(app, ["people", *command])
        assert refused.exit_code == 1, refused.output
        assert "no person nobody in the directory" in refused.stderr
    bad = runner.invoke(app, ["people", "show", "Tom Becker"])
    assert bad.exit_code == 2
    assert "USER" in bad.output
    missing_reason = runner.invoke(app, ["people", "deactivate", "tom"])
    assert missing_reason.exit_code == 2 and "--reason" in missing_reason.output
