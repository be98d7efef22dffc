"""The JSON shapes of ``GET /v1/integrity``, ``GET /v1/integrity/proof/{position}`` and
the repudiation of a checkpoint (``POST /v1/integrity/checkpoints/{position}/repudiation``)."""

from typing import Literal

from pydantic import BaseModel, Field

from services.api.schemas.common import Reason as ReasonText
from services.api.schemas.common import Request

Reason = Literal[
    "changed",
    "missing",
    "reordered",
    "inserted",
    "leaf_log_altered",
    "checkpoint_mismatch",
]


class IntegrityProblem(BaseModel):
    """The first position that does not match, and why."""

    position: int = Field(description="event position (notification id) of the first mismatch")
    reason: Reason
    message: str


class RepudiationOut(BaseModel):
    """Where the repudiation of a checkpoint stands (four eyes)."""

    state: Literal["requested", "repudiated", "rejected"]
    requested_by: str
    request_reason: str | None
    decided_by: str | None = Field(description="who approved or rejected it (never the requester)")
    decision_reason: str | None


class SignedCheckpointOut(BaseModel):
    """A signed Merkle tree head recorded in the store, judged against the public keys
    the store records."""

    position: int = Field(description="where the checkpoint itself is recorded")
    tree_size: int = Field(description="how many events (leaves) it covers")
    last_position: int = Field(description="the position of the last event it covers")
    root_hash: str = Field(description="RFC 9162 Merkle tree hash, hex")
    signed_at: str
    key_id: str = Field(description="first 8 bytes of SHA-256 of the Ed25519 public key, hex")
    status: Literal[
        "valid", "unsigned", "bad_signature", "unknown_key", "untrusted_key", "unreadable"
    ] = Field(
        description="valid: verifies under the recorded key it names; unknown_key: names a "
        "key the store does not record (a process that signed with a key of its own)"
    )
    fingerprint: str = Field(
        description="SHA-256 (hex) of the public key the checkpoint carries; empty if none"
    )
    checkpoint_id: str
    message: str = Field(description="why it does not verify (empty when it does)")
    repudiation: RepudiationOut | None


class SigningKeyOut(BaseModel):
    """A public key the store records for its checkpoints."""

    fingerprint: str = Field(description="SHA-256 of the 32 raw Ed25519 public key bytes, hex")
    public_key: str = Field(description="base64 of the 32 raw bytes")
    valid_after: int = Field(description="it signs checkpoints recorded after this position")
    valid_until: int | None = Field(description="the last position it signs at (null: still)")
    introduced_by: str
    reason: str | None


class IntegrityReportOut(BaseModel):
    """The event table recomputed against its leaf log and the signed checkpoints that
    verify; checkpoints that do not verify are listed beside the rows' verdict."""

    status: Literal["intact", "tampered", "rogue_checkpoints"] = Field(
        description="tampered: a row does not match; rogue_checkpoints: rows intact, but a "
        "checkpoint does not verify and is not repudiated"
    )
    summary: str = Field(description='"intact up to position N ..." or the first problem')
    rows_intact: bool = Field(description="every row matches its leaf and the valid checkpoints")
    checked_up_to: int = Field(
        description="rows intact: the last position checked; else the last one before the problem"
    )
    events_checked: int
    checkpoints_verified: int
    latest_checkpoint: SignedCheckpointOut | None
    problem: IntegrityProblem | None
    rogue_checkpoints: list[SignedCheckpointOut] = Field(
        description="checkpoints that do not verify and are not repudiated"
    )
    repudiated_checkpoints: list[SignedCheckpointOut] = Field(
        description="checkpoints that do not verify, disowned by an approved repudiation"
    )
    signing_keys: list[SigningKeyOut] = Field(
        description="the public keys the store records, its first (genesis) key first"
    )
    checkpoints: list[SignedCheckpointOut] | None = Field(
        default=None, description="every checkpoint in the store (with ?checkpoints=true)"
    )


class InclusionProofOut(BaseModel):
    """RFC 9162 §2.1.3 inclusion proof of one event under the latest signed checkpoint."""

    position: int
    leaf_index: int = Field(description="0-based index of the event's leaf in the tree")
    tree_size: int
    leaf_hash: str | None = Field(
        description="SHA-256(0x00 || leaf bytes) of the row as stored now; null if it is gone"
    )
    recorded_leaf_hash: str = Field(description="the leaf hash logged when first seen")
    root_hash: str
    audit_path: list[str] = Field(description="sibling hashes, the leaf's own sibling first")
    checkpoint: SignedCheckpointOut
    included: bool = Field(description="the audit path leads from leaf_hash to root_hash")


class RepudiationRequest(Request):
    reason: ReasonText = Field(description="why this checkpoint is not the store's")
