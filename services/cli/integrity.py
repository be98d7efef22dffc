"""``okrgov verify`` (is the event store intact? prove one event's inclusion) and
``okrgov checkpoint`` (sign the Merkle tree head now). Registered on the main CLI app.

``verify`` needs no private key: it judges every checkpoint by the public keys the store
records, and ``--trusted-key`` pins the one key an auditor trusts, from outside the
database. Its exit codes: 0 intact; 1 a row does not match (tampered); 2 bad usage, or
no event/checkpoint to prove; 3 rows intact but a checkpoint that does not verify and is
not repudiated; 4 rows intact but the store's key is not the trusted key.

A process that signs (``checkpoint``, ``serve``, ``projections run``) with a key the store
does not record exits 78 (EX_CONFIG), naming both keys."""

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from events.errors import NotFound
from events.signing_keys import is_fingerprint
from infra.logging import correlated
from services.application.evidence.signer import EX_CONFIG, SigningKeyRefused
from services.application.evidence.verification import Integrity
from services.bootstrap import Platform
from services.cli.context import configured
from services.cli.progress import bars

T = TypeVar("T")

NO_CHECKPOINT_HINT = "no signed checkpoint yet: run `okrgov checkpoint` to sign the tree head"


def _fingerprint(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if not is_fingerprint(text):
        raise typer.BadParameter(
            "a key's fingerprint is 64 hex digits (the SHA-256 of its public key), as "
            "okrgov verify and okrgov checkpoint print it"
        )
    return text


def verify(
    ctx: typer.Context,
    prove: Annotated[
        int | None,
        typer.Option(
            "--prove",
            metavar="POSITION",
            min=1,
            help="Print the inclusion proof of the event at POSITION under the latest "
            "signed checkpoint, and check it against the row as stored.",
        ),
    ] = None,
    trusted_key: Annotated[
        str | None,
        typer.Option(
            "--trusted-key",
            metavar="FINGERPRINT",
            callback=_fingerprint,
            help="Trust only checkpoints signed by this key (its fingerprint, kept outside "
            "the database): a key someone added to the store is then not trusted.",
        ),
    ] = None,
    consistency: Annotated[
        int | None,
        typer.Option(
            "--consistency",
            metavar="TREE_SIZE",
            min=1,
            help="Print the consistency proof from the tree of TREE_SIZE leaves (an older "
            "checkpoint's tree size) to the latest signed checkpoint, and check it.",
        ),
    ] = None,
) -> None:
    """Check that the event store is intact, and prove what it holds.

    Recomputes the Merkle tree from the raw event table and judges every checkpoint by
    the public keys the store records (no private key needed). Exits 0 intact; 1 a row
    does not match (naming the first and why); 3 rows intact, but a checkpoint does not
    verify; 4 rows intact, but the store's key is not --trusted-key; 2 bad usage."""
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="verify"):
            integrity = platform.evidence.verifier(trusted_key)
            if consistency is not None:
                _prove_consistency(integrity, consistency)
            if prove is not None:
                proof = _proof(integrity.prove, prove)
                _judged(
                    proof,
                    proof.included,
                    f"inclusion of position {prove} under the checkpoint at position "
                    f"{proof.checkpoint.position}",
                )
            head = platform.ledger.recorder.max_notification_id() or 0
            with bars("verifying", head, "positions") as advance:
                report = integrity.verify(lambda position: advance("", position))
        typer.echo(report.summary())
        for line in report.details():
            typer.echo(line)
        if not report.checkpoints and report.rows_intact:
            typer.echo(NO_CHECKPOINT_HINT, err=True)
        raise typer.Exit(report.exit_code)
    finally:
        platform.close()


def _prove_consistency(integrity: Integrity, old_size: int) -> None:
    """Print the proof from ``old_size`` leaves to the latest signed checkpoint; exit 0 when
    it verifies, 1 when not, 2 when there is no such tree."""
    proof = _proof(integrity.prove_consistency, old_size)
    _judged(
        proof,
        proof.consistent,
        f"consistency of the tree of {old_size} leaves with the tree of {proof.tree_size} leaves",
    )


def _proof(prove: Callable[[int], T], at: int) -> T:
    """A proof, or exit 2 saying why there is none (``NotFound``)."""
    try:
        return prove(at)
    except NotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _judged(proof: Any, holds: bool, what: str) -> NoReturn:
    """Print a proof and whether it verifies; exit 0 when it does, 1 when not."""
    typer.echo(json.dumps(asdict(proof), indent=2))
    typer.echo(f"{what} {'verifies' if holds else 'DOES NOT verify'}")
    raise typer.Exit(0 if holds else 1)


def checkpoint(ctx: typer.Context) -> None:
    """Sign the tree head of every event so far, and record it in the store.

    Signs with the store's key (the store's first key when it has none yet); `okrgov
    verify` then judges the store against it."""
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="checkpoint"):
            integrity = refusing_unknown_keys(platform, lambda p: p.evidence.signing())
            integrity.follower.catch_up()
            signed = integrity.record_checkpoint("on request (okrgov checkpoint)")
        if signed is None:
            typer.echo("nothing to sign: the store has no events")
            raise typer.Exit(1)
        typer.echo(
            f"checkpoint recorded at position {signed.position}: tree size {signed.tree_size}, "
            f"last position {signed.last_position}, root {signed.root_hash}, "
            f"key {signed.fingerprint}"
        )
    finally:
        platform.close()


def start_or_refuse(platform: Platform) -> None:
    """``platform.start()``, or exit 78 naming both keys when this process's signing key
    is not the store's (the platform is closed first)."""
    try:
        refusing_unknown_keys(platform, Platform.start)
    except typer.Exit:
        platform.close()
        raise


def refusing_unknown_keys(platform: Platform, step: Callable[[Platform], T]) -> T:
    """``step(platform)``, or exit 78 saying why this process's key is refused."""
    try:
        return step(platform)
    except SigningKeyRefused as exc:
        typer.echo(f"error: refusing to sign: {exc}", err=True)
        raise typer.Exit(EX_CONFIG) from None
