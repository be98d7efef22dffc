"""projections.backends is the one SQLite/PostgreSQL switch: a view, a leaf log or a
tracking recorder for a datastore of either backend, and the store's mapper made as the
ledger makes its own."""

from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import Environment

from events.identity import SYSTEM
from infra.config import Settings
from infra.stored_events import StoredEvents
from projections import backends
from projections.audit import AuditTrail
from projections.documents import SQLiteDocumentView
from projections.entries import SQLiteEntryView
from projections.leaf_log import SQLiteLeafLogView
from projections.okr_state import OkrState
from services.application.ledger import Ledger


def test_the_mapper_is_made_as_the_ledger_makes_its_own() -> None:
    # event_mapper repeats Application.construct_mapper; the ledger must not override it.
    for method in ("construct_mapper", "construct_transcoder", "register_transcodings"):
        assert getattr(Ledger, method) is getattr(Application, method), method
    assert Ledger.name == SYSTEM
    env = Environment(SYSTEM, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    mapper = backends.event_mapper(InfrastructureFactory.construct(env))
    ident = uuid4()
    assert mapper.transcoder.decode(mapper.transcoder.encode({"id": ident})) == {"id": ident}


def test_sqlite_classes_for_a_sqlite_store(tmp_path: Path) -> None:
    factory = backends.store_factory(Settings(data_dir=tmp_path))
    datastore = backends.datastore_of(factory)
    assert isinstance(datastore, SQLiteDatastore)
    assert type(backends.view_for(datastore, OkrState)) is SQLiteDocumentView
    assert type(backends.view_for(datastore, AuditTrail)) is SQLiteEntryView
    events = StoredEvents(factory.application_recorder())
    assert type(backends.leaf_log_view(events)) is SQLiteLeafLogView
    assert type(backends.tracking_recorder(datastore, "relay_tracking")) is SQLiteTrackingRecorder


def test_no_view_for_what_is_not_a_database() -> None:
    with pytest.raises(TypeError, match="no document view for NoneType"):
        backends.open_view(None, "okr_state", entries=False)
    with pytest.raises(TypeError, match="no tracking recorder for object"):
        backends.tracking_recorder(object(), "relay_tracking")
