"""Reading the store's tamper evidence for a person: who may, the integrity report (with
or without every checkpoint), the signed checkpoints alone, an event's inclusion proof.
``GET /v1/integrity`` and the console's integrity page both call these, so both say the
same thing in the same words."""

from dataclasses import asdict
from typing import Any

from services.application.evidence.verification import Integrity
from services.application.principals import OVERSEERS, Principal


def require_examiner(principal: Principal) -> Principal:
    """Compliance, executives and risk officers may check the store's integrity."""
    principal.require_oversight(f"the integrity check is read by {OVERSEERS}")
    return principal


def integrity_report(verifier: Integrity, checkpoints: bool = False) -> dict[str, Any]:
    """Every stored event checked against its leaf and the signed checkpoints (one pass
    over the whole store: it takes time on a big one): status, "intact up to position N"
    or the first problem, the rogue and repudiated checkpoints, the signing keys, and
    every checkpoint when ``checkpoints``."""
    report = verifier.verify()
    body = {
        **asdict(report),
        "status": report.status,
        "summary": report.summary(),
        "rogue_checkpoints": [asdict(c) for c in report.rogue_checkpoints],
        "repudiated_checkpoints": [asdict(c) for c in report.repudiated_checkpoints],
    }
    if not checkpoints:
        body["checkpoints"] = None
    return body


def signed_checkpoints(verifier: Integrity) -> list[dict[str, Any]]:
    """Every checkpoint in the store, judged against the keys the store records, without
    checking the rows (it reads the checkpoint events only)."""
    return [asdict(c) for c in verifier.checkpoints()]


def inclusion_proof(verifier: Integrity, position: int) -> dict[str, Any]:
    """The RFC 9162 audit path of the event at ``position`` under the latest signed
    checkpoint, checked against the row as stored now (``NotFound`` when there is no
    event there or no checkpoint covers it yet)."""
    return asdict(verifier.prove(position))
