"""Identity is exact and tokens are accountable: a token is let in only while its issuance
is on record, unexpired and unrevoked; a revocation recorded by any process is honoured by
every process within seconds; no spelling of a name is a second person."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from e2e_support import PRIYA, TOM, ok, position, recorded_since
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from events.access import AccessToken
from infra.config import Settings
from infra.tokens import TokenSigner
from services.bootstrap import Platform, build

AuthHeaders = Callable[..., dict[str, str]]
SECRET = "test-secret-of-enough-length-for-hs256"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(client: TestClient, token: str) -> bool:
    answer = client.get("/v1/cycles", headers=bearer(token))
    if answer.status_code == 401:
        # The answer says only that the token is not valid: why is for the log.
        assert answer.json()["error"]["message"] == "the bearer token is not valid"
        return True
    assert answer.status_code == 200, answer.text
    return False


def test_issuing_a_token_is_recorded(platform: Platform, client: TestClient) -> None:
    before = position(platform)
    issued = platform.tokens.issue(" Tom ", ["member"], issued_by="Sam", reason="new joiner")
    [event] = recorded_since(platform, before)
    assert isinstance(event, AccessToken.Issued)
    assert (event.actor, event.subject, event.roles, event.reason) == (
        "sam",
        "tom",
        ["member"],
        "new joiner",
    )
    assert event.originator_id == issued.record.token_id
    expires = datetime.fromisoformat(event.expires_at)
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert not refused(client, issued.text)


@pytest.mark.parametrize("subject", ["", "   ", "Tom", " tom", "tom\u200b", "ｔｏｍ"], ids=repr)
def test_a_token_whose_subject_is_not_canonical_is_refused(
    platform: Platform, client: TestClient, subject: str
) -> None:
    record = platform.tokens.issue("tom", ["member"], issued_by="sam").record
    # Same id, roles and expiry as the record; only the subject is spelt otherwise.
    forged = TokenSigner(SECRET).create(record.token_id, subject, ["member"], record.expires_at)
    with capture_logs() as logs:
        assert refused(client, forged)
    reasons = [line["reason"] for line in logs if line["event"] == "auth.refused"]
    assert len(reasons) == 1 and "not a canonical user id" in reasons[0]


def test_a_token_signed_with_the_secret_but_never_issued_is_refused(
    platform: Platform, client: TestClient
) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    signer = TokenSigner(SECRET)
    assert refused(client, signer.create(uuid4(), "priya", ["executive"], expires))
    issued = platform.tokens.issue("tom", ["member"], issued_by="sam").record
    # An issued id with more roles than were recorded for it.
    assert refused(client, signer.create(issued.token_id, "tom", ["executive"], expires))
    assert refused(client, signer.create(issued.token_id, "priya", ["member"], expires))


def test_an_expired_token_is_refused(platform: Platform, client: TestClient) -> None:
    issued = platform.tokens.issue("tom", ["member"], issued_by="sam", ttl=timedelta(seconds=1))
    deadline = time.monotonic() + 10
    while not refused(client, issued.text):
        assert time.monotonic() < deadline, "an expired token was still accepted"
        time.sleep(0.2)


def test_a_revoked_token_is_refused_and_the_revocation_is_recorded(
    platform: Platform, client: TestClient, auth: AuthHeaders
) -> None:
    issued = platform.tokens.issue("tom", ["member"], issued_by="sam")
    other = platform.tokens.issue("tom", ["member"], issued_by="sam")
    token_id = str(issued.record.token_id)
    # Tom revokes his own token (a lost laptop); not another person's.
    lena = platform.tokens.issue("lena", ["member"], issued_by="sam")
    answer = client.post(
        f"/v1/tokens/{lena.record.token_id}/revoke",
        json={"reason": "x"},
        headers=bearer(issued.text),
    )
    assert answer.status_code == 403
    before = position(platform)
    revoked = ok(
        client.post(
            f"/v1/tokens/{token_id}/revoke",
            json={"reason": "laptop lost"},
            headers=bearer(issued.text),
        )
    )
    assert (revoked["revoked_by"], revoked["revocation_reason"]) == ("tom", "laptop lost")
    [event] = recorded_since(platform, before)
    assert isinstance(event, AccessToken.Revoked) and event.reason == "laptop lost"
    assert refused(client, issued.text)
    assert not refused(client, other.text)
    # Compliance reads the record of every token, and never revokes one.
    marcus = auth("marcus", "compliance")
    listed = ok(client.get("/v1/tokens", params={"user": "Tom"}, headers=marcus))["items"]
    assert {t["subject"] for t in listed} == {"tom"}
    revocations = {t["id"]: t["revoked_by"] for t in listed}
    assert (revocations[token_id], revocations[str(other.record.token_id)]) == ("tom", None)
    answer = client.post(
        f"/v1/tokens/{other.record.token_id}/revoke", json={"reason": "x"}, headers=marcus
    )
    assert answer.status_code == 403
    # A member sees only their own tokens.
    mine = ok(client.get("/v1/tokens", headers=bearer(other.text)))["items"]
    assert {t["subject"] for t in mine} == {"tom"}


@pytest.fixture
def second_process(tmp_path: Path, platform: Platform) -> Iterator[Platform]:
    """Another okrgov process on the same store (the CLI, another API process)."""
    other = build(Settings(data_dir=platform.settings.data_dir, secret_key=SECRET))
    try:
        yield other
    finally:
        other.close()


def test_a_revocation_recorded_elsewhere_is_honoured_within_seconds(
    platform: Platform, client: TestClient, second_process: Platform
) -> None:
    issued = second_process.tokens.issue("tom", ["member"], issued_by="sam")
    assert not refused(client, issued.text)  # issued by another process: known at once
    second_process.tokens.revoke_user("TOM", "left the firm", revoked_by="sam")
    deadline = time.monotonic() + 10 * platform.settings.token_refresh_seconds + 5
    while not refused(client, issued.text):
        assert time.monotonic() < deadline, "the revocation was not honoured"
        time.sleep(0.1)


def test_no_spelling_of_a_name_is_a_second_person(
    platform: Platform, client: TestClient, auth: AuthHeaders, locked_world: dict[str, str]
) -> None:
    """Priya requests a change; "Priya", " PRIYA " or "ｐｒｉｙａ" cannot approve it."""
    kr = locked_world["key_result"]
    request = ok(
        client.post(
            "/v1/change-requests",
            json={"key_result_id": kr, "changes": {"target": 10}, "reason": "slipped"},
            headers=auth(*PRIYA),
        ),
        201,
    )
    for spelling in ("Priya", " PRIYA ", "ｐｒｉｙａ"):
        token = platform.tokens.create(spelling, ["executive"])
        answer = client.post(f"/v1/change-requests/{request['id']}/approve", headers=bearer(token))
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "four_eyes"
    # Owners are people too: "Tom" is the user tom, who may then check in.
    answer = ok(
        client.post(
            "/v1/objectives",
            json={
                "cycle_id": (
                    ok(
                        client.post(
                            "/v1/cycles",
                            json={"name": "Q", "starts_on": "2027-01-01", "ends_on": "2027-03-31"},
                            headers=auth(*PRIYA),
                        ),
                        201,
                    )["id"]
                ),
                "title": "Give our LPs faster, cleaner reporting",
                "owner": " Tom ",
                "level": "team",
                "commitment": "committed",
            },
            headers=auth(*PRIYA),
        ),
        201,
    )
    assert answer["owner"] == "tom"
    tom_objective = client.patch(
        f"/v1/objectives/{answer['id']}",
        json={"description": "mine"},
        headers=auth(*TOM),
    )
    assert tom_objective.status_code == 200, tom_objective.text
