"""``okrgov verify`` (is the event store intact? prove one event's inclusion) and
``okrgov checkpoint`` (sign the Merkle tree head now). Registered on the main CLI app."""

import json
from dataclasses import asdict
from typing import Annotated

import typer

from infra.config import Settings
from infra.logging import correlated
from services.bootstrap import build
from services.errors import NotFound
from services.integrity import integrity_of


def verify(
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
) -> None:
    """Recompute the Merkle tree from the raw event table: exit 0 when intact, 1 when not
    (naming the first position that does not match and why)."""
    platform = build(Settings())
    try:
        with correlated(None, command="verify"):
            integrity = integrity_of(platform)
            if prove is not None:
                try:
                    proof = integrity.prove(prove)
                except NotFound as exc:
                    typer.echo(f"error: {exc}", err=True)
                    raise typer.Exit(2) from None
                typer.echo(json.dumps(asdict(proof), indent=2))
                verdict = "verifies" if proof.included else "DOES NOT verify"
                typer.echo(
                    f"inclusion of position {prove} under the checkpoint at position "
                    f"{proof.checkpoint.position} {verdict}"
                )
                raise typer.Exit(0 if proof.included else 1)
            report = integrity.verify()
        typer.echo(report.summary())
        raise typer.Exit(0 if report.intact else 1)
    finally:
        platform.close()


def checkpoint() -> None:
    """Sign the Merkle tree head of every event so far and record it in the store."""
    platform = build(Settings())
    try:
        with correlated(None, command="checkpoint"):
            integrity = integrity_of(platform)
            integrity.follower.catch_up()
            signed = integrity.record_checkpoint("on request (okrgov checkpoint)")
        if signed is None:
            typer.echo("nothing to sign: the store has no events")
            raise typer.Exit(1)
        typer.echo(
            f"checkpoint recorded at position {signed.position}: tree size {signed.tree_size}, "
            f"last position {signed.last_position}, root {signed.root_hash}, "
            f"key {signed.key_id}"
        )
    finally:
        platform.close()
