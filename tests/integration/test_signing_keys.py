"""Keys cannot make evidence lie, on both backends: the store records its signing key at
its first signing start; a process with another key refuses to sign and generates none;
verification needs public keys only and can pin the trusted key from outside; a rogue
checkpoint is repudiated four eyes, by the command line and the API."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from quarter import TOM, plan_quarter
from typer.testing import CliRunner

from events.checkpoint import CheckpointVerifies
from events.errors import NotFound, SelfApproval
from events.signing_keys import KEYRING_ID
from infra.config import Settings
from infra.signing import KEY_FILE, Signer, encode_private_key, load_or_create_signer
from services.api import create_app
from services.application.errors import Forbidden
from services.application.evidence.repudiation import Repudiations
from services.application.evidence.signer import EX_CONFIG, SigningKeyRefused, store_signer
from services.application.evidence.verification import Integrity
from services.application.principals import Principal
from services.bootstrap import Platform, build
from services.cli.main import app as cli

SAM = Principal.of("sam", ["admin"])
PRIYA = Principal.of("priya", ["executive"])


def new_key() -> str:
    return encode_private_key(Ed25519PrivateKey.generate())


def same_store(settings: Settings, data_dir: Path, **update: Any) -> Settings:
    """Another process's settings on the same store, with a data directory of its own."""
    url = settings.database_url or f"sqlite:///{settings.data_dir / 'okrgov.sqlite'}"
    return settings.model_copy(update={"database_url": url, "data_dir": data_dir, **update})


@pytest.fixture
def other(settings: Settings, tmp_path: Path) -> Iterator[Platform]:
    """A second process's platform on the same store; its own data directory is empty."""
    platform = build(same_store(settings, tmp_path / "other"))
    yield platform
    platform.close()


def keyring_events(platform: Platform) -> list[Any]:
    return list(platform.ledger.events.get(KEYRING_ID))


def store_fingerprint(settings: Settings) -> str:
    return load_or_create_signer(None, settings.data_dir).fingerprint


@pytest.fixture
def signed(platform: Platform) -> Integrity:
    """A quarter, checkpointed by this process: the store's first key is its key."""
    integrity = platform.evidence.signing()
    plan_quarter(platform)
    integrity.follower.catch_up()
    assert integrity.record_checkpoint("test") is not None
    return integrity


def rogue_checkpoint(platform: Platform, settings: Settings) -> tuple[int, Signer]:
    """A checkpoint signed by a process with a key of its own, past every refusal (as
    processes signed before keys were recorded): recorded at the returned position."""
    intruder = load_or_create_signer(None, settings.data_dir / "intruder")
    integrity = platform.evidence.verifier()
    integrity.signer = intruder
    integrity.follower.catch_up()
    forged = integrity.record_checkpoint("rogue")
    assert forged is not None
    return forged.position, intruder


# ---- the store's key -----------------------------------------------------------------------


def test_the_first_signing_start_records_the_store_key_and_later_starts_reuse_it(
    platform: Platform, settings: Settings, other: Platform
) -> None:
    assert keyring_events(platform) == []
    signer = store_signer(platform.ledger, settings)
    assert signer.fingerprint == store_fingerprint(settings)  # generated into data_dir
    [introduced] = keyring_events(platform)
    assert (introduced.fingerprint, introduced.public_key) == (
        signer.fingerprint,
        signer.public_key_b64,
    )
    assert introduced.valid_after == 0 and introduced.actor == "okrgov"
    assert "first signing key" in (introduced.reason or "")
    # The same key again (a restart, a second process sharing it): nothing new recorded.
    shared = same_store(settings, settings.data_dir / "shared", signing_key=_key_of(settings))
    assert store_signer(platform.ledger, shared).fingerprint == signer.fingerprint
    assert store_signer(other.ledger, shared).fingerprint == signer.fingerprint
    assert len(keyring_events(platform)) == 1


def _key_of(settings: Settings) -> str:
    return (settings.data_dir / KEY_FILE).read_text()


def test_a_process_with_another_key_refuses_to_sign_and_generates_none(
    signed: Integrity, settings: Settings, other: Platform, tmp_path: Path
) -> None:
    positions = other.ledger.recorder.max_notification_id()
    stranger = Signer(Ed25519PrivateKey.generate())
    configured = same_store(
        settings, tmp_path / "other", signing_key=encode_private_key(stranger._private_key)
    )
    with pytest.raises(SigningKeyRefused) as refused:
        store_signer(other.ledger, configured)
    message = str(refused.value)
    assert stranger.fingerprint in message and store_fingerprint(settings) in message
    assert "OKRGOV_SIGNING_KEY" in message
    # Without any key, it says so; no key is generated for a store that has one.
    bare = same_store(settings, tmp_path / "other")
    with pytest.raises(SigningKeyRefused, match="has no signing key"):
        store_signer(other.ledger, bare)
    assert not (tmp_path / "other" / KEY_FILE).exists()
    # Starting the platform (what okrgov serve does) is refused alike, before it signs.
    with pytest.raises(SigningKeyRefused):
        other.start()
    assert other.ledger.recorder.max_notification_id() == positions
    assert len(keyring_events(other)) == 1


def test_two_processes_starting_together_with_different_keys_record_one(
    platform: Platform, settings: Settings, other: Platform, tmp_path: Path
) -> None:
    keys = [new_key(), new_key()]
    starters = [
        (platform, settings.model_copy(update={"signing_key": keys[0]})),
        (other, same_store(settings, tmp_path / "other", signing_key=keys[1])),
    ]
    outcomes: list[str] = []
    ready = threading.Barrier(2)

    def start(p: Platform, s: Settings) -> None:
        ready.wait()
        try:
            outcomes.append(store_signer(p.ledger, s).fingerprint)
        except SigningKeyRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=pair) for pair in starters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 2 and outcomes.count("refused") == 1, outcomes
    [introduced] = keyring_events(platform)
    assert introduced.fingerprint == next(o for o in outcomes if o != "refused")


def test_a_store_signed_before_keys_were_recorded_takes_the_key_that_signed_it(
    platform: Platform, settings: Settings, other: Platform, tmp_path: Path
) -> None:
    plan_quarter(platform)
    old = load_or_create_signer(None, settings.data_dir)
    integrity = platform.evidence.verifier()
    integrity.signer = old  # as okrgov signed before this issue: no key recorded
    integrity.follower.catch_up()
    first = integrity.record_checkpoint("before keys")
    assert first is not None
    with pytest.raises(SigningKeyRefused, match=f"position {first.position}"):
        store_signer(other.ledger, same_store(settings, tmp_path / "other", signing_key=new_key()))
    assert keyring_events(platform) == []
    assert store_signer(platform.ledger, settings).fingerprint == old.fingerprint
    report = platform.evidence.verifier().verify()
    assert report.intact and report.checkpoints_verified == 1, report.summary()


# ---- verification with public keys only ------------------------------------------------------


def test_verification_needs_no_private_key_and_pins_the_trusted_key(
    signed: Integrity, settings: Settings, other: Platform, tmp_path: Path
) -> None:
    store_key = store_fingerprint(settings)
    report = other.evidence.verifier().verify()
    assert report.intact and report.checkpoints_verified == 1, report.summary()
    assert [k.fingerprint for k in report.signing_keys] == [store_key]
    assert not (tmp_path / "other" / KEY_FILE).exists()

    assert other.evidence.verifier(store_key).verify().intact
    pinned = other.evidence.verifier("0" * 64).verify()
    assert (pinned.status, pinned.exit_code) == ("untrusted_key", 4)
    assert pinned.rows_intact and pinned.checkpoints_verified == 0
    assert pinned.trust_problem is not None and store_key in pinned.trust_problem
    assert {c.status for c in pinned.checkpoints} == {"untrusted_key"}


# ---- repudiation -----------------------------------------------------------------------------


def test_a_rogue_checkpoint_is_repudiated_four_eyes_and_then_no_longer_fails(
    signed: Integrity, platform: Platform, settings: Settings
) -> None:
    position, intruder = rogue_checkpoint(platform, settings)
    platform.ledger.check_in(TOM, plan_quarter(platform)[2].id, 14, 0.6, "after the rogue")
    report = platform.evidence.verifier().verify()
    assert report.status == "rogue_checkpoints" and report.rows_intact
    repudiations = Repudiations(platform.ledger)

    for principal in (Principal.of("tom", ["member"]), Principal.of("marcus", ["compliance"])):
        with pytest.raises(Forbidden):
            repudiations.request(principal, position, "not ours")
    with pytest.raises(NotFound):
        repudiations.request(SAM, 1, "not a checkpoint")
    valid = signed.checkpoints()[0].position
    with pytest.raises(CheckpointVerifies):
        repudiations.request(SAM, valid, "it verifies")

    before = platform.ledger.recorder.max_notification_id()
    repudiations.request(SAM, position, "signed by an API started without the shared key")
    with pytest.raises(SelfApproval):
        repudiations.approve(SAM, position)
    assert platform.evidence.verifier().verify().status == "rogue_checkpoints"  # still pending
    repudiations.approve(PRIYA, position, "the process's logs show its own key")

    report = platform.evidence.verifier().verify()
    assert report.intact and report.exit_code == 0, report.summary()
    [repudiated] = report.repudiated_checkpoints
    assert (repudiated.position, repudiated.status) == (position, "unknown_key")
    assert repudiated.fingerprint == intruder.fingerprint
    assert repudiated.repudiation is not None
    assert (repudiated.repudiation.requested_by, repudiated.repudiation.decided_by) == (
        "sam",
        "priya",
    )
    assert "repudiated" in report.summary() and "approved by priya" in report.details()[-1]
    # Nothing was deleted: two events were added, the checkpoint is still there.
    assert platform.ledger.recorder.max_notification_id() == (before or 0) + 2
    assert [c.position for c in report.checkpoints] == [valid, position]


# ---- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRGOV_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRGOV_SECRET_KEY", "cli-test-secret-of-enough-length-for-hs256!")
    monkeypatch.setenv("OKRGOV_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("OKRGOV_SIGNING_KEY", raising=False)
    if settings.database_url:
        monkeypatch.setenv("OKRGOV_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("OKRGOV_DATABASE_SCHEMA", settings.database_schema or "")


@pytest.mark.usefixtures("cli_env")
def test_the_cli_reports_exit_codes_refuses_keys_and_repudiates(
    signed: Integrity, platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    store_key = store_fingerprint(settings)
    intact = runner.invoke(cli, ["verify", "--trusted-key", store_key.upper()])
    assert intact.exit_code == 0, intact.output
    assert f"signing key {store_key} (genesis) (trusted)" in intact.stdout
    assert runner.invoke(cli, ["verify", "--trusted-key", "0" * 64]).exit_code == 4
    assert runner.invoke(cli, ["verify", "--trusted-key", store_key[:16]]).exit_code == 2

    position, intruder = rogue_checkpoint(platform, settings)
    rogue = runner.invoke(cli, ["verify"])
    assert rogue.exit_code == 3, rogue.output
    assert rogue.stdout.startswith("rows intact up to position")
    assert f"ROGUE checkpoint at position {position}: unknown_key" in rogue.stdout
    assert intruder.fingerprint in rogue.stdout

    # okrgov checkpoint with the intruder's key: refused, both keys named, nothing signed.
    monkeypatch.setenv("OKRGOV_SIGNING_KEY", encode_private_key(intruder._private_key))
    refused = runner.invoke(cli, ["checkpoint"])
    assert refused.exit_code == EX_CONFIG
    assert intruder.fingerprint in refused.stderr and store_key in refused.stderr
    monkeypatch.delenv("OKRGOV_SIGNING_KEY")

    asked = runner.invoke(
        cli, ["repudiation", "request", str(position), "--by", "sam", "--reason", "not ours"]
    )
    assert asked.exit_code == 0, asked.output
    assert "repudiation requested by sam, awaiting approval" in asked.stdout
    self_approved = runner.invoke(cli, ["repudiation", "approve", str(position), "--by", "Sam"])
    assert self_approved.exit_code == 1 and "cannot approve" in self_approved.stderr
    approved = runner.invoke(cli, ["repudiation", "approve", str(position), "--by", "ana"])
    assert approved.exit_code == 0, approved.output
    assert "repudiated: requested by sam (not ours), approved by ana" in approved.stdout
    listed = runner.invoke(cli, ["repudiation", "list"])
    assert listed.stdout.strip().endswith("1 do not verify: 1 repudiated, 0 not")
    clean = runner.invoke(cli, ["verify"])
    assert clean.exit_code == 0, clean.output
    assert f"REPUDIATED checkpoint at position {position}" in clean.stdout


# ---- the API ---------------------------------------------------------------------------------


def test_the_api_repudiates_four_eyes_with_clear_refusals(
    signed: Integrity, platform: Platform, settings: Settings
) -> None:
    position, _ = rogue_checkpoint(platform, settings)
    client = TestClient(create_app(platform))
    tokens = {
        who: {"Authorization": f"Bearer {platform.tokens.create(who, [role])}"}
        for who, role in (
            ("sam", "admin"),
            ("priya", "executive"),
            ("tom", "member"),
            ("marcus", "compliance"),
            ("ana", "risk_officer"),
        )
    }
    base = f"/v1/integrity/checkpoints/{position}/repudiation"
    body = {"reason": "signed by an API started without the shared key"}

    report = client.get("/v1/integrity", headers=tokens["marcus"]).json()
    assert report["status"] == "rogue_checkpoints" and report["rows_intact"] is True
    assert [c["position"] for c in report["rogue_checkpoints"]] == [position]
    assert report["signing_keys"][0]["fingerprint"] == store_fingerprint(settings)

    for who in ("tom", "marcus", "ana"):
        assert client.post(base, json=body, headers=tokens[who]).status_code == 403
    missing = client.post(base, json={}, headers=tokens["sam"])
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "reason"
    extra = client.post(base, json={**body, "force": True}, headers=tokens["sam"])
    assert extra.status_code == 422
    nowhere = "/v1/integrity/checkpoints/1/repudiation"  # a policy event, no checkpoint
    assert client.post(nowhere, json=body, headers=tokens["sam"]).status_code == 404
    assert client.post("/v1/integrity/checkpoints/0/repudiation", json=body).status_code in (
        401,
        422,
    )
    valid = signed.checkpoints()[0].position
    ours = client.post(
        f"/v1/integrity/checkpoints/{valid}/repudiation", json=body, headers=tokens["sam"]
    )
    assert (ours.status_code, ours.json()["error"]["code"]) == (409, "checkpoint_verifies")

    asked = client.post(base, json=body, headers=tokens["sam"])
    assert asked.status_code == 201, asked.text
    assert asked.json()["repudiation"]["state"] == "requested"
    assert int(asked.headers["X-Okrgov-Position"]) > position
    own = client.post(f"{base}/approve", headers=tokens["sam"])
    assert (own.status_code, own.json()["error"]["code"]) == (409, "four_eyes")
    assert client.post(f"{base}/approve", headers=tokens["tom"]).status_code == 403
    approved = client.post(f"{base}/approve", json={"reason": "checked"}, headers=tokens["priya"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["repudiation"] == {
        "state": "repudiated",
        "requested_by": "sam",
        "request_reason": body["reason"],
        "decided_by": "priya",
        "decision_reason": "checked",
    }
    again = client.post(f"{base}/reject", headers=tokens["priya"])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")

    report = client.get("/v1/integrity", headers=tokens["marcus"]).json()
    assert report["status"] == "intact" and report["rogue_checkpoints"] == []
    assert [c["position"] for c in report["repudiated_checkpoints"]] == [position]
