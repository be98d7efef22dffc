"""Keys cannot make evidence lie, with real processes on one store (SQLite and
PostgreSQL): the first ``okrgov serve`` records the store's key; a second ``okrgov serve``
or an ``okrgov checkpoint`` with another key, or with none, refuses to start signing
(exit 78, both keys named) and generates no key; an auditor's ``okrgov verify`` in a
process with no private key at all passes, pinned to the store's key; a rogue checkpoint
(signed as processes did before keys were recorded) fails it with exit 3 until two people
repudiate it from the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.config import Settings
from infra.signing import KEY_FILE, Signer, encode_private_key, load_or_create_signer
from services.application.evidence.signer import EX_CONFIG
from services.bootstrap import build

OKRGOV = str(Path(sys.executable).with_name("okrgov"))
START_SECONDS = 60


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment naming one store, whatever process reads it."""
    if request.param == "sqlite":
        return {"OKRGOV_DATABASE_URL": f"sqlite:///{tmp_path / 'store' / 'okrgov.sqlite'}"}
    pg = request.getfixturevalue("pg_env")
    return {"OKRGOV_DATABASE_URL": pg["url"], "OKRGOV_DATABASE_SCHEMA": pg["schema"]}


class Host:
    """One machine's worth of okrgov: its own data directory, and a key or none."""

    def __init__(self, store: dict[str, str], data_dir: Path, key: Signer | None) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OKRGOV_")}
        self.env.update(
            store,
            OKRGOV_DATA_DIR=str(data_dir),
            OKRGOV_SECRET_KEY="process-test-secret-of-enough-length-for-hs256!",
            OKRGOV_LOG_LEVEL="WARNING",
        )
        if key is not None:
            self.env["OKRGOV_SIGNING_KEY"] = encode_private_key(key._private_key)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OKRGOV, *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def settings(self) -> Settings:
        """The settings this host's processes build, for a platform in the test."""
        return Settings(
            database_url=self.env["OKRGOV_DATABASE_URL"],
            database_schema=self.env.get("OKRGOV_DATABASE_SCHEMA"),
            data_dir=self.data_dir,
            secret_key=self.env["OKRGOV_SECRET_KEY"],
            log_level="WARNING",
        )

    def has_a_key_file(self) -> bool:
        return (self.data_dir / KEY_FILE).exists()


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(host: Host, servers: list[subprocess.Popen[str]]) -> tuple[str | None, str]:
    """Start ``okrgov serve``: its URL once /healthz answers, or None and its output when
    it exited first."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [OKRGOV, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=host.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    servers.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            return None, f"exit {process.returncode}\n{out}{err}"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, ""
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("okrgov serve neither answered nor exited")


def test_processes_with_another_key_refuse_and_an_auditor_verifies_without_one(
    store: dict[str, str], tmp_path: Path, servers: list[subprocess.Popen[str]]
) -> None:
    shared, stranger = (Signer(Ed25519PrivateKey.generate()) for _ in range(2))
    first = Host(store, tmp_path / "api-1", shared)
    url, output = serve(first, servers)
    assert url is not None, output

    # A second API with a key of its own: refused before it signs anything.
    _, refused = serve(Host(store, tmp_path / "api-2", stranger), servers)
    assert refused.startswith(f"exit {EX_CONFIG}"), refused
    assert shared.fingerprint in refused and stranger.fingerprint in refused
    # One with no key at all: refused too, and no key generated.
    keyless = Host(store, tmp_path / "api-3", None)
    _, refused = serve(keyless, servers)
    assert refused.startswith(f"exit {EX_CONFIG}") and "has no signing key" in refused
    assert not keyless.has_a_key_file()
    # okrgov checkpoint with the stranger's key: the same refusal.
    stray = Host(store, tmp_path / "ops-1", stranger).run("checkpoint")
    assert stray.returncode == EX_CONFIG and shared.fingerprint in stray.stderr

    # With the shared key, a checkpoint is signed; an auditor with no key verifies it.
    signed = Host(store, tmp_path / "ops-2", shared).run("checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert f"key {shared.fingerprint}" in signed.stdout
    auditor = Host(store, tmp_path / "auditor", None)
    audit = auditor.run("verify", "--trusted-key", shared.fingerprint)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert audit.stdout.startswith("intact up to position")
    assert f"signing key {shared.fingerprint} (genesis) (trusted)" in audit.stdout
    assert not auditor.has_a_key_file()
    assert auditor.run("verify", "--trusted-key", stranger.fingerprint).returncode == 4

    # A checkpoint signed as a process did before keys were recorded: with its own key.
    platform = build(auditor.settings())
    try:
        rogue = platform.evidence.verifier()
        rogue.signer = load_or_create_signer(None, tmp_path / "old-okrgov")
        rogue.follower.catch_up()
        forged = rogue.record_checkpoint("an okrgov that generated its own key")
        assert forged is not None
    finally:
        platform.close()
    audit = auditor.run("verify", "--trusted-key", shared.fingerprint)
    assert audit.returncode == 3, audit.stdout + audit.stderr
    assert audit.stdout.startswith("rows intact up to position")
    assert f"ROGUE checkpoint at position {forged.position}: unknown_key" in audit.stdout

    # Two people disown it, each in a process of their own; nothing is deleted.
    operator = Host(store, tmp_path / "ops-3", None)
    position = str(forged.position)
    asked = operator.run("repudiation", "request", position, "--by", "sam", "--reason", "rogue")
    assert asked.returncode == 0, asked.stderr
    mine = operator.run("repudiation", "approve", position, "--by", "sam")
    assert mine.returncode == 1 and "cannot approve" in mine.stderr
    approved = operator.run("repudiation", "approve", position, "--by", "priya")
    assert approved.returncode == 0, approved.stderr
    audit = auditor.run("verify", "--trusted-key", shared.fingerprint)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"REPUDIATED checkpoint at position {forged.position}" in audit.stdout
    assert "approved by priya" in audit.stdout
    assert not auditor.has_a_key_file() and not operator.has_a_key_file()

    # The first API still serves, and its integrity check agrees.
    assert servers[0].poll() is None
    token = operator.run("token", "create", "--user", "marcus", "--role", "compliance")
    assert token.returncode == 0, token.stderr
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
    report = httpx.get(f"{url}/v1/integrity", headers=headers, timeout=30).json()
    assert report["status"] == "intact", report["summary"]
    assert [c["position"] for c in report["repudiated_checkpoints"]] == [forged.position]
    assert report["signing_keys"][0]["fingerprint"] == shared.fingerprint
