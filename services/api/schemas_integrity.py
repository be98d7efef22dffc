"""The JSON shapes of ``GET /v1/integrity`` and ``GET /v1/integrity/proof/{position}``."""

from typing import Literal

from pydantic import BaseModel, Field

Reason = Literal[
    "changed",
    "missing",
    "reordered",
    "inserted",
    "unsigned",
    "bad_signature",
    "leaf_log_altered",
    "checkpoint_mismatch",
]


class IntegrityProblem(BaseModel):
    """The first position that does not match, and why."""

    position: int = Field(description="event position (notification id) of the first mismatch")
    reason: Reason
    message: str


class SignedCheckpointOut(BaseModel):
    """A signed Merkle tree head recorded in the store."""

    position: int = Field(description="where the checkpoint itself is recorded")
    tree_size: int = Field(description="how many events (leaves) it covers")
    last_position: int = Field(description="the position of the last event it covers")
    root_hash: str = Field(description="RFC 9162 Merkle tree hash, hex")
    signed_at: str
    key_id: str = Field(description="first 8 bytes of SHA-256 of the Ed25519 public key, hex")
    status: Literal["valid", "unsigned", "bad_signature", "unreadable"]


class IntegrityReportOut(BaseModel):
    """The event table recomputed against its leaf log and signed checkpoints."""

    status: Literal["intact", "tampered"]
    summary: str = Field(description='"intact up to position N ..." or the first problem')
    checked_up_to: int = Field(
        description="intact: the last position checked; tampered: the last one before the problem"
    )
    events_checked: int
    checkpoints_verified: int
    latest_checkpoint: SignedCheckpointOut | None
    problem: IntegrityProblem | None
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
