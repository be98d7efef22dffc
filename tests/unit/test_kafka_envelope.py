"""The CloudEvents envelope of the event stream: every field, and a round trip from a stored
event through the record back to the same domain event with the application's mapper."""

import json
import re
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.persistence import InfrastructureFactory, Mapper
from eventsourcing.utils import Environment
from okr_builders import PRIYA

from events import Cycle
from infra import kafka
from infra.config import Settings
from infra.stored_events import StoredRow
from services.projector import ledger_mapper


@pytest.fixture
def mapper() -> Mapper[UUID]:
    env = Environment("okrgov", {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    return ledger_mapper(InfrastructureFactory.construct(env))


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
    key, value = kafka.encode(row, "okrgov://test")
    envelope = kafka.decode(value)
    assert envelope.position == 7
    again = mapper.to_domain_event(envelope.stored_event())
    assert again == event
    assert key == str(event.originator_id).encode()


def test_the_envelope_carries_every_cloudevents_attribute(mapper: Mapper[UUID]) -> None:
    event, row = _stored(mapper, position=42)
    _, value = kafka.encode(row, "okrgov://sqlite/var/okrgov.sqlite")
    envelope = json.loads(value.decode("utf-8"))
    assert envelope == {
        "specversion": "1.0",
        "id": str(uuid5(kafka.EVENT_IDS, f"{event.originator_id.hex}:1")),
        "source": "okrgov://sqlite/var/okrgov.sqlite",
        "type": "events.cycle:Cycle.Created",
        "subject": str(event.originator_id),
        "time": kafka.rfc3339(event.timestamp),
        "datacontenttype": "application/json",
        "data": json.loads(row.state or b""),
        "okrgovposition": 42,
        "okrgovversion": 1,
    }
    assert envelope["time"].endswith("Z")
    assert "«Zürich»" in value.decode("utf-8")  # UTF-8 text, not \\u escapes
    # CloudEvents extension attribute names: lower-case letters and digits only.
    for name in set(envelope) - {"specversion", "id", "source", "type", "subject", "time"}:
        assert re.fullmatch(r"[a-z0-9]{1,20}", name), name


def test_ids_are_stable_per_event_and_distinct_across_events() -> None:
    aggregate = uuid4()
    assert kafka.event_id(aggregate.hex, 3) == kafka.event_id(str(aggregate), 3)
    assert kafka.event_id(aggregate.hex, 3) != kafka.event_id(aggregate.hex, 4)
    assert kafka.event_id(aggregate.hex, 3) != kafka.event_id(uuid4().hex, 3)


def test_state_that_is_not_json_travels_as_base64_byte_for_byte() -> None:
    row = StoredRow(5, uuid4().hex, 2, "events.cycle:Cycle.Locked", b"\x00\xffcompressed")
    _, value = kafka.encode(row, "okrgov://test")
    envelope = json.loads(value)
    assert "data" not in envelope and envelope["datacontenttype"] == "application/octet-stream"
    assert kafka.decode(value).state == b"\x00\xffcompressed"


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
    with pytest.raises(kafka.UndecodableEvent, match=named):
        kafka.decode(json.dumps(envelope).encode())


def test_a_record_that_is_not_json_is_refused() -> None:
    with pytest.raises(kafka.UndecodableEvent, match="not JSON"):
        kafka.decode(b"\xff not json")
    with pytest.raises(kafka.UndecodableEvent, match="object"):
        kafka.decode(b"[1, 2]")


def test_the_source_names_the_store_without_credentials(tmp_path: Path) -> None:
    sqlite = Settings(data_dir=tmp_path)
    assert kafka.event_source(sqlite) == f"okrgov://sqlite{(tmp_path / 'okrgov.sqlite').resolve()}"
    postgres = Settings(
        database_url="postgresql://app:s3cret@db.internal:6543/okr", database_schema="prod"
    )
    assert kafka.event_source(postgres) == "okrgov://postgresql/db.internal:6543/okr/prod"
    assert kafka.event_source(Settings(event_source="urn:firm:okr")) == "urn:firm:okr"


def test_no_bootstrap_servers_is_a_clear_error() -> None:
    with pytest.raises(kafka.KafkaNotConfigured, match="OKRGOV_KAFKA_BOOTSTRAP"):
        kafka.bootstrap_servers(Settings(kafka_bootstrap=None))
    assert kafka.bootstrap_servers(Settings(kafka_bootstrap="a:9092, b:9092")) == [
        "a:9092",
        "b:9092",
    ]
