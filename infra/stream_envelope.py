"""The CloudEvents 1.0 envelope (JSON, structured mode) every event travels in on the
stream, apart from the Kafka clients that carry it (``infra.kafka``).

One record per event, keyed by aggregate id. The envelope carries the event's stored state
as it is in the event table (the JSON the application's transcoder wrote, parsed, never
re-made from domain objects), the store position (``okrgovposition``) and the aggregate
version (``okrgovversion``); a consumer rebuilds the stored event from it and decodes it
with the application's own mapper.

Every record is signed by the relay (Ed25519, the store's signing key): ``okrgovleaf`` is
the RFC 9162 leaf hash of the stored row (``StoredRow.leaf``, the leaf the signed
checkpoints are built over), ``okrgovkeyid`` names the key and ``okrgovsignature`` is a
detached signature over the id, source, position, version, subject, type and leaf hash.
``admit`` is what a consumer runs before it trusts a record: its source, its id, its leaf
recomputed from its content, and the signature under a trusted public key.

Over 300 lines on purpose: writing (``encode``), reading (``decode``) and admitting
(``admit``) a record are one format, and change together."""

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import StoredEvent

from infra.config import Settings
from infra.merkle import leaf_hash
from infra.signing import Signer, verify_signature
from infra.stored_events import StoredRow

SPEC_VERSION = "1.0"
POSITION = "okrgovposition"
"""Extension attribute: the event's position in the store's notification log."""
VERSION = "okrgovversion"
"""Extension attribute: the event's version within its aggregate (1, 2, ...)."""
LEAF = "okrgovleaf"
"""Extension attribute: the RFC 9162 leaf hash (SHA-256, hex) of the stored row."""
KEY_ID = "okrgovkeyid"
"""Extension attribute: ``key_id`` of the public key that verifies the signature."""
SIGNATURE = "okrgovsignature"
"""Extension attribute: the Ed25519 signature (base64) of ``signed_bytes``."""
SIGNED_VERSION = b"okrgov-stream-record/1"
CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"
"""The ``content-type`` header of a structured-mode CloudEvents Kafka record."""
HEADERS = [("content-type", CONTENT_TYPE)]
"""The headers of every record."""
EVENT_IDS = uuid5(NAMESPACE_URL, "okrgov://events")
"""Namespace of the event ids: uuid5 over ``<aggregate id hex>:<version>``."""


class UndecodableEvent(ValueError):
    """A record on the topic that is not an okrgov CloudEvent this code can read."""


def event_id(originator_id: str, version: int) -> str:
    """The stable CloudEvents id of an event: the same in every process, on every run."""
    return str(uuid5(EVENT_IDS, f"{UUID(originator_id).hex}:{version}"))


def event_source(settings: Settings) -> str:
    """The CloudEvents ``source``: ``OKRGOV_EVENT_SOURCE``, else the store's database
    (without credentials, ``Database.source``)."""
    return settings.event_source or settings.database.source()


def rfc3339(moment: datetime) -> str:
    """A fixed-width UTC timestamp with microseconds, as CloudEvents ``time`` wants it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _stored_time(data: Any) -> str | None:
    """The event's own timestamp from its stored state (the transcoder's ``datetime_iso``)."""
    stamp = data.get("timestamp") if isinstance(data, dict) else None
    if isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso":
        return rfc3339(datetime.fromisoformat(stamp["_data_"]))
    return None


def _blob(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return len(data).to_bytes(4, "big") + data


def signed_bytes(
    id: str, source: str, position: int, version: int, subject: str, type: str, leaf: bytes
) -> bytes:
    """What the relay signs: ``"okrgov-stream-record/1" || str(id) || str(source) ||
    i64(position) || i64(version) || str(subject) || str(type) || blob(leaf hash)``, with
    ``i64``, ``blob`` and ``str`` as in ``StoredRow.leaf``. The leaf hash covers the
    stored state, so the signature covers the event's content as well."""
    return b"".join(
        (
            SIGNED_VERSION,
            _blob(id),
            _blob(source),
            position.to_bytes(8, "big", signed=True),
            version.to_bytes(8, "big", signed=True),
            _blob(subject),
            _blob(type),
            _blob(leaf),
        )
    )


def _exact_json(state: bytes) -> Any:
    """The parsed state, if a consumer re-serialising it gets the stored bytes back (the
    leaf hash is over those bytes); else ``ValueError``."""
    data = json.loads(state)
    if json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() != state:
        raise ValueError("the state does not round-trip byte for byte")
    return data


def _compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(row: StoredRow, source: str, signer: Signer) -> tuple[bytes, bytes]:
    """The record key (aggregate id) and value (signed CloudEvents JSON) of one stored
    event.

    The value is the compact JSON of the envelope's attributes in the order written here,
    ``data`` among them; since the stored state is the compact JSON of ``data`` byte for
    byte (else it travels as ``data_base64``), it is put in as it is stored rather than
    serialised again."""
    if row.originator_id is None or row.originator_version is None or row.topic is None:
        raise ValueError(f"event at position {row.position} lacks its id, version or topic")
    aggregate = UUID(row.originator_id)
    subject = str(aggregate)
    ident = str(uuid5(EVENT_IDS, f"{aggregate.hex}:{row.originator_version}"))
    head: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": ident,
        "source": source,
        "type": row.topic,
        "subject": subject,
    }
    state = row.state or b""
    data: bytes | None = None
    try:
        parsed = _exact_json(state)
    except (UnicodeDecodeError, ValueError):
        # Compressed or enciphered state (or JSON that would not come back byte for byte):
        # carried as it is, in base64.
        head["datacontenttype"] = "application/octet-stream"
        head["data_base64"] = base64.b64encode(state).decode("ascii")
    else:
        time = _stored_time(parsed)
        if time is not None:
            head["time"] = time
        head["datacontenttype"] = "application/json"
        data = state
    leaf = leaf_hash(row.leaf())
    signature = signer.sign(
        signed_bytes(ident, source, row.position, row.originator_version, subject, row.topic, leaf)
    )
    tail = {
        POSITION: row.position,
        VERSION: row.originator_version,
        LEAF: leaf.hex(),
        KEY_ID: signer.key_id,
        SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }
    # '{head...}' and '{tail...}' joined, with '"data":<state>' between them when JSON.
    middle = b',"data":' + data + b"," if data is not None else b","
    return subject.encode(), _compact(head)[:-1] + middle + _compact(tail)[1:]


@dataclass(frozen=True)
class Envelope:
    """What a consumer needs of an okrgov CloudEvent."""

    id: str
    source: str
    type: str
    subject: UUID
    position: int
    version: int
    state: bytes
    """The stored state: the JSON of ``data`` (or the bytes of ``data_base64``)."""
    time: str | None = None
    leaf: bytes | None = None
    """The leaf hash the record claims (``okrgovleaf``); None when it carries none."""
    key_id: str | None = None
    signature: bytes | None = None

    def stored_event(self) -> StoredEvent:
        """The stored event as the store holds it, for the application's mapper."""
        return StoredEvent(
            originator_id=self.subject,
            originator_version=self.version,
            topic=self.type,
            state=self.state,
        )

    def content_leaf(self) -> bytes:
        """The leaf hash of the row this record's content describes."""
        row = StoredRow(self.position, self.subject.hex, self.version, self.type, self.state)
        return leaf_hash(row.leaf())

    def signed_bytes(self) -> bytes:
        return signed_bytes(
            self.id,
            self.source,
            self.position,
            self.version,
            str(self.subject),
            self.type,
            self.leaf or b"",
        )


def decode(value: bytes) -> Envelope:
    """Read an envelope written by ``encode``; ``UndecodableEvent`` names what is wrong.
    Nothing is checked against the store here: see ``admit``."""
    try:
        envelope = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise UndecodableEvent("not a JSON object")
    _check_attributes(envelope)
    try:
        subject = UUID(envelope["subject"])
    except ValueError:
        raise UndecodableEvent(f"subject {envelope['subject']!r} is not a UUID") from None
    return Envelope(
        id=envelope["id"],
        source=envelope["source"],
        type=envelope["type"],
        subject=subject,
        position=envelope[POSITION],
        version=envelope[VERSION],
        state=_payload(envelope),
        time=envelope.get("time"),
        leaf=_optional(envelope, LEAF, bytes.fromhex),
        key_id=envelope.get(KEY_ID) if isinstance(envelope.get(KEY_ID), str) else None,
        signature=_optional(envelope, SIGNATURE, _b64),
    )


def _check_attributes(envelope: dict[str, Any]) -> None:
    """The CloudEvents attributes ``decode`` relies on are there, with their types."""
    if envelope.get("specversion") != SPEC_VERSION:
        raise UndecodableEvent(f"specversion {envelope.get('specversion')!r}, not {SPEC_VERSION}")
    for name, kind in (("id", str), ("source", str), ("type", str), ("subject", str)):
        if not isinstance(envelope.get(name), kind):
            raise UndecodableEvent(f"{name} missing or not a string")
    for name in (POSITION, VERSION):
        number = envelope.get(name)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise UndecodableEvent(f"{name} missing or not a positive integer")
        if number >= 2**63:
            raise UndecodableEvent(f"{name} above a signed 64-bit integer")


def _payload(envelope: dict[str, Any]) -> bytes:
    """The event's state: ``data`` as compact JSON, or ``data_base64`` decoded."""
    if "data" in envelope:
        return json.dumps(envelope["data"], separators=(",", ":"), ensure_ascii=False).encode()
    if isinstance(envelope.get("data_base64"), str):
        try:
            return base64.b64decode(envelope["data_base64"], validate=True)
        except binascii.Error:
            raise UndecodableEvent("data_base64 is not base64") from None
    raise UndecodableEvent("neither data nor data_base64")


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _optional(envelope: dict[str, Any], name: str, parse: Any) -> bytes | None:
    text = envelope.get(name)
    if text is None:
        return None
    try:
        parsed: bytes = parse(text)
    except (TypeError, ValueError, binascii.Error):
        raise UndecodableEvent(f"{name} is not well formed") from None
    return parsed


# ---- admission -------------------------------------------------------------------------

UNDECODABLE = "undecodable"
FOREIGN_SOURCE = "foreign_source"
ID_MISMATCH = "id_mismatch"
UNSIGNED = "unsigned"
LEAF_MISMATCH = "leaf_mismatch"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"
WRONG_PARTITION = "wrong_partition"


class RecordRefused(ValueError):
    """A record a consumer must not apply: ``reason`` is one of the names above, ``detail``
    says what was found; ``envelope`` is what could be read of it, if anything."""

    def __init__(self, reason: str, detail: str, envelope: Envelope | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.envelope = envelope


def admit(value: bytes, source: str, keys: Mapping[str, bytes]) -> Envelope:
    """The envelope of a record that comes from ``source`` and is what the store holds:
    its id is the uuid5 of its aggregate and version, the leaf hash it claims is the one
    recomputed from its content, and its signature verifies under the key it names, one of
    ``keys`` (key id to raw Ed25519 public key). Anything else: ``RecordRefused``."""
    try:
        envelope = decode(value)
    except UndecodableEvent as exc:
        raise RecordRefused(UNDECODABLE, str(exc)) from None
    if envelope.source != source:
        raise RecordRefused(FOREIGN_SOURCE, f"source {envelope.source!r}, not {source!r}", envelope)
    expected = event_id(envelope.subject.hex, envelope.version)
    if envelope.id != expected:
        raise RecordRefused(
            ID_MISMATCH,
            f"id {envelope.id!r} is not {expected} (uuid5 of aggregate and version)",
            envelope,
        )
    if envelope.leaf is None or envelope.signature is None or envelope.key_id is None:
        raise RecordRefused(UNSIGNED, f"{LEAF}, {KEY_ID} and {SIGNATURE} are required", envelope)
    recomputed = envelope.content_leaf()
    if envelope.leaf != recomputed:
        raise RecordRefused(
            LEAF_MISMATCH,
            f"{LEAF} {envelope.leaf.hex()} but the content hashes to {recomputed.hex()}",
            envelope,
        )
    key = keys.get(envelope.key_id)
    if key is None:
        raise RecordRefused(
            UNKNOWN_KEY,
            f"signed by key {envelope.key_id!r}, not one of {sorted(keys)}",
            envelope,
        )
    if not verify_signature(key, envelope.signed_bytes(), envelope.signature):
        raise RecordRefused(
            BAD_SIGNATURE, f"the signature does not verify under key {envelope.key_id}", envelope
        )
    return envelope
