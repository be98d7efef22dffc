"""The CloudEvents envelope of the event stream: every field, a round trip from a stored
event through the record back to the same domain event with the application's mapper, and
admission: a record is accepted only from its source, with its id, leaf hash and signature
matching its content; each other case is refused naming why."""

import base64
import json
import re
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import InfrastructureFactory, Mapper
from eventsourcing.utils import Environment
from okr_builders import PRIYA

from events import Cycle
from infra import kafka, stream_envelope
from infra.config import Settings
from infra.merkle import leaf_hash
from infra.signing import Signer, encode_private_key
from infra.stored_events import StoredRow
from infra.stream_keys import NoStreamKeys, parse_public_keys, trusted_keys
from projections.backends import event_mapper

SIGNER = Signer(Ed25519PrivateKey.generate())
KEYS = {SIGNER.key_id: SIGNER.public_key}


@pytest.fixture
def mapper() -> Mapper[UUID]:
    env = Environment("okrgov", {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    return event_mapper(InfrastructureFactory.construct(env))


def _stored(mapper: Mapper[UUID], position: int = 7) -> tuple[Cycle.Created, StoredRow]:
    cycle = Cycle.open("2026-Q4 «Zürich»", date(2026, 10, 1), date(2026, 12, 31), PRIYA)
    event = cycle.collect_events()[0]
    stored = mapper.to_stored_event(event)
    row = StoredRow(
        position, UUID(str(stored.originator_id)).hex, stored.originator_version, stored.topic,
        stored.state,
    )  # fmt: skip
    assert isinstance(event, Cycle.Created)
    return event, row


def test_an_event_round_trips_to_the_same_domain_event(mapper: Mapper[UUID]) -> None:
    event, row = _stored(mapper)
    key, value = stream_envelope.encode(row, "okrgov://test", SIGNER)
    envelope = stream_envelope.decode(value)
    assert envelope.position == 7
    again = mapper.to_domain_event(envelope.stored_event())
    assert again == event
    assert key == str(event.originator_id).encode()


def test_the_envelope_carries_every_cloudevents_attribute(mapper: Mapper[UUID]) -> None:
    event, row = _stored(mapper, position=42)
    _, value = stream_envelope.encode(row, "okrgov://sqlite/var/okrgov.sqlite", SIGNER)
    envelope = json.loads(value.decode("utf-8"))
    assert envelope == {
        "specversion": "1.0",
        "id": str(uuid5(stream_envelope.EVENT_IDS, f"{event.originator_id.hex}:1")),
        "source": "okrgov://sqlite/var/okrgov.sqlite",
        "type": "events.cycle:Cycle.Created",
        "subject": str(event.originator_id),
        "time": stream_envelope.rfc3339(event.timestamp),
        "datacontenttype": "application/json",
        "data": json.loads(row.state or b""),
        "okrgovposition": 42,
        "okrgovversion": 1,
        "okrgovleaf": leaf_hash(row.leaf()).hex(),
        "okrgovkeyid": SIGNER.key_id,
        "okrgovsignature": envelope["okrgovsignature"],
    }
    assert SIGNER.verify(stream_envelope.decode(value).signed_bytes(), base64.b64decode(
        envelope["okrgovsignature"]
    ))  # fmt: skip
    assert envelope["time"].endswith("Z")
    assert "«Zürich»" in value.decode("utf-8")  # UTF-8 text, not \\u escapes
    # CloudEvents extension attribute names: lower-case letters and digits only.
    for name in set(envelope) - {"specversion", "id", "source", "type", "subject", "time"}:
        assert re.fullmatch(r"[a-z0-9]{1,20}", name), name


def test_ids_are_stable_per_event_and_distinct_across_events() -> None:
    aggregate = uuid4()
    assert stream_envelope.event_id(aggregate.hex, 3) == stream_envelope.event_id(str(aggregate), 3)
    assert stream_envelope.event_id(aggregate.hex, 3) != stream_envelope.event_id(aggregate.hex, 4)
    assert stream_envelope.event_id(aggregate.hex, 3) != stream_envelope.event_id(uuid4().hex, 3)


def test_state_that_is_not_json_travels_as_base64_byte_for_byte() -> None:
    row = StoredRow(5, uuid4().hex, 2, "events.cycle:Cycle.Locked", b"\x00\xffcompressed")
    _, value = stream_envelope.encode(row, "okrgov://test", SIGNER)
    envelope = json.loads(value)
    assert "data" not in envelope and envelope["datacontenttype"] == "application/octet-stream"
    assert stream_envelope.decode(value).state == b"\x00\xffcompressed"


@pytest.mark.parametrize(
    "state",
    [
        '{"note":"Zürich «ok»\u2028","n":[1,2.5,null,true],"s":"\\"q\\""}'.encode(),
        b"[]",
        b'{"a": 1}',
        b"\x00\xffcompressed",
        b"",
    ],
)
def test_the_value_is_the_compact_json_of_its_envelope_byte_for_byte(
    mapper: Mapper[UUID], state: bytes
) -> None:
    """The stored state goes into the value as it is stored, not serialised again: the
    value is still exactly the compact JSON of the envelope, attributes in their order."""
    _, row = _stored(mapper)
    for each in (row, row._replace(state=state)):
        _, value = stream_envelope.encode(each, "okrgov://test", SIGNER)
        envelope = json.loads(value)
        assert value == json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        assert list(envelope)[-5:] == ["okrgovposition", "okrgovversion", "okrgovleaf",
                                       "okrgovkeyid", "okrgovsignature"]  # fmt: skip
        assert stream_envelope.admit(value, "okrgov://test", KEYS).state == (each.state or b"")


def _valid() -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": "x",
        "source": "okrgov://test",
        "type": "events.cycle:Cycle.Locked",
        "subject": str(uuid4()),
        "data": {},
        "okrgovposition": 3,
        "okrgovversion": 2,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"okrgovposition": None}, "okrgovposition"),
        ({"okrgovposition": True}, "okrgovposition"),
        ({"okrgovposition": 0}, "okrgovposition"),
        ({"okrgovversion": "2"}, "okrgovversion"),
        ({"subject": "not-a-uuid"}, "subject"),
        ({"type": 5}, "type"),
        ({"data": None, "data_base64": "***"}, "base64"),
    ],
)
def test_a_foreign_or_damaged_record_is_refused_naming_what_is_wrong(
    change: dict[str, object], named: str
) -> None:
    envelope = {**_valid(), **change}
    if envelope.get("data") is None:
        envelope.pop("data")
    with pytest.raises(stream_envelope.UndecodableEvent, match=named):
        stream_envelope.decode(json.dumps(envelope).encode())


def test_a_record_that_is_not_json_is_refused() -> None:
    with pytest.raises(stream_envelope.UndecodableEvent, match="not JSON"):
        stream_envelope.decode(b"\xff not json")
    with pytest.raises(stream_envelope.UndecodableEvent, match="object"):
        stream_envelope.decode(b"[1, 2]")


def test_the_source_names_the_store_without_credentials(tmp_path: Path) -> None:
    sqlite = Settings(data_dir=tmp_path)
    assert (
        stream_envelope.event_source(sqlite)
        == f"okrgov://sqlite{(tmp_path / 'okrgov.sqlite').resolve()}"
    )
    postgres = Settings(
        database_url="postgresql://app:s3cret@db.internal:6543/okr", database_schema="prod"
    )
    assert stream_envelope.event_source(postgres) == "okrgov://postgresql/db.internal:6543/okr/prod"
    assert stream_envelope.event_source(Settings(event_source="urn:firm:okr")) == "urn:firm:okr"


def test_no_bootstrap_servers_is_a_clear_error() -> None:
    with pytest.raises(kafka.KafkaNotConfigured, match="OKRGOV_KAFKA_BOOTSTRAP"):
        kafka.bootstrap_servers(Settings(kafka_bootstrap=None))
    assert kafka.bootstrap_servers(Settings(kafka_bootstrap="a:9092, b:9092")) == [
        "a:9092",
        "b:9092",
    ]


def test_json_state_that_would_not_come_back_byte_for_byte_travels_as_base64() -> None:
    row = StoredRow(5, uuid4().hex, 2, "events.cycle:Cycle.Locked", b'{"a": 1}')
    _, value = stream_envelope.encode(row, "okrgov://test", SIGNER)
    assert "data" not in json.loads(value)
    assert stream_envelope.admit(value, "okrgov://test", KEYS).content_leaf() == leaf_hash(
        row.leaf()
    )


# ---- admission -------------------------------------------------------------------------


def _signed(mapper: Mapper[UUID]) -> dict[str, object]:
    _, row = _stored(mapper, position=42)
    _, value = stream_envelope.encode(row, "okrgov://test", SIGNER)
    return dict(json.loads(value))


def _resigned(envelope: dict[str, object], signer: Signer = SIGNER) -> dict[str, object]:
    """The envelope with a valid signature over what it now says (a forger with a key)."""
    decoded = stream_envelope.decode(json.dumps(envelope).encode())
    signature = signer.sign(decoded.signed_bytes())
    return {
        **envelope,
        "okrgovkeyid": signer.key_id,
        "okrgovsignature": base64.b64encode(signature).decode(),
    }


def test_a_record_of_the_store_signed_by_its_key_is_admitted(mapper: Mapper[UUID]) -> None:
    event, row = _stored(mapper, position=42)
    _, value = stream_envelope.encode(row, "okrgov://test", SIGNER)
    envelope = stream_envelope.admit(value, "okrgov://test", KEYS)
    assert envelope.position == 42 and mapper.to_domain_event(envelope.stored_event()) == event


def test_another_stores_record_is_refused_as_foreign(mapper: Mapper[UUID]) -> None:
    _, row = _stored(mapper)
    _, value = stream_envelope.encode(row, "okrgov://other-store", SIGNER)
    with pytest.raises(stream_envelope.RecordRefused, match="other-store") as refused:
        stream_envelope.admit(value, "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.FOREIGN_SOURCE
    assert refused.value.envelope is not None and refused.value.envelope.position == 7


def test_a_forged_position_is_refused_for_its_signature(mapper: Mapper[UUID]) -> None:
    envelope = {**_signed(mapper), "okrgovposition": 1_000_000}
    # The forger recomputes the leaf for the new position, but cannot sign it.
    decoded = stream_envelope.decode(json.dumps(envelope).encode())
    envelope["okrgovleaf"] = decoded.content_leaf().hex()
    with pytest.raises(stream_envelope.RecordRefused) as refused:
        stream_envelope.admit(json.dumps(envelope).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.BAD_SIGNATURE


def test_changed_content_is_refused_for_its_leaf(mapper: Mapper[UUID]) -> None:
    envelope = _signed(mapper)
    envelope["data"] = {**envelope["data"], "name": "forged"}  # type: ignore[dict-item]
    with pytest.raises(stream_envelope.RecordRefused, match="hashes to") as refused:
        stream_envelope.admit(json.dumps(envelope).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.LEAF_MISMATCH


def test_an_id_that_is_not_the_uuid5_of_aggregate_and_version_is_refused(
    mapper: Mapper[UUID],
) -> None:
    envelope = _resigned({**_signed(mapper), "id": str(uuid4())})
    with pytest.raises(stream_envelope.RecordRefused, match="uuid5") as refused:
        stream_envelope.admit(json.dumps(envelope).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.ID_MISMATCH


def test_a_signature_by_another_key_or_none_is_refused(mapper: Mapper[UUID]) -> None:
    forger = Signer(Ed25519PrivateKey.generate())
    envelope = _resigned({**_signed(mapper), "okrgovposition": 1_000_000}, forger)
    decoded = stream_envelope.decode(json.dumps(envelope).encode())
    envelope = _resigned({**envelope, "okrgovleaf": decoded.content_leaf().hex()}, forger)
    with pytest.raises(stream_envelope.RecordRefused, match=forger.key_id) as refused:
        stream_envelope.admit(json.dumps(envelope).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.UNKNOWN_KEY
    # Naming a trusted key does not help: the signature does not verify under it.
    envelope["okrgovkeyid"] = SIGNER.key_id
    with pytest.raises(stream_envelope.RecordRefused) as refused:
        stream_envelope.admit(json.dumps(envelope).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.BAD_SIGNATURE
    unsigned = {k: v for k, v in _signed(mapper).items() if k != "okrgovsignature"}
    with pytest.raises(stream_envelope.RecordRefused) as refused:
        stream_envelope.admit(json.dumps(unsigned).encode(), "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.UNSIGNED


def test_an_unreadable_record_is_refused_as_undecodable() -> None:
    with pytest.raises(stream_envelope.RecordRefused) as refused:
        stream_envelope.admit(b"\xff not json", "okrgov://test", KEYS)
    assert refused.value.reason == stream_envelope.UNDECODABLE and refused.value.envelope is None
    with pytest.raises(stream_envelope.RecordRefused, match="64-bit"):
        stream_envelope.admit(json.dumps({**_valid(), "okrgovposition": 2**63}).encode(), "x", KEYS)


def test_an_aggregates_partition_is_the_producers(mapper: Mapper[UUID]) -> None:
    from kafka.partitioner.default import DefaultPartitioner

    class Cluster:
        def topics(self) -> set[str]:
            return {"t"}

        def partitions_for_topic(self, topic: str) -> set[int]:
            return set(range(6))

        available_partitions_for_topic = partitions_for_topic

    for _ in range(50):
        subject = uuid4()
        key = str(subject).encode()
        produced = DefaultPartitioner().partition("t", key, key, None, None, Cluster())
        assert kafka.partition_of(subject, 6) == produced


def test_workers_trust_the_configured_public_keys_or_the_local_signing_key(
    tmp_path: Path,
) -> None:
    other = Signer(Ed25519PrivateKey.generate())
    listed = f"{SIGNER.public_key_b64}, {other.public_key_b64}"
    assert trusted_keys(Settings(stream_public_keys=listed)) == {
        SIGNER.key_id: SIGNER.public_key,
        other.key_id: other.public_key,
    }
    private = encode_private_key(Ed25519PrivateKey.generate())
    assert list(trusted_keys(Settings(signing_key=private)).values()) == [
        Signer(Ed25519PrivateKey.from_private_bytes(base64.b64decode(private))).public_key
    ]
    with pytest.raises(NoStreamKeys, match="OKRGOV_STREAM_PUBLIC_KEYS"):
        trusted_keys(Settings(data_dir=tmp_path / "empty"))
    assert not (tmp_path / "empty").exists()  # no key made up on the way
    with pytest.raises(NoStreamKeys, match="32-byte"):
        parse_public_keys("bm90IGEga2V5")
