"""The one place that picks SQLite or PostgreSQL classes: the event store's infrastructure
and mapper, the document views (plain, with entries, the leaf log), tracking records and
the stream's quarantine, for a datastore of either backend.

Everything else asks here with a datastore (or the settings) and gets the right class's
instance; adding a backend is adding one row to ``_BACKENDS``. The store is reached
without the ledger application: the relay, the projection workers and the stream commands
read and track through these and never seed or write events."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    InfrastructureFactory,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import Environment

from events.identity import SYSTEM
from infra.config import Settings
from infra.persistence import eventsourcing_env
from infra.stored_events import StoredEvents
from projections.documents import DocumentView, PostgresDocumentView, SQLiteDocumentView
from projections.entries import EntryProjection, PostgresEntryView, SQLiteEntryView
from projections.follower import Projection
from projections.leaf_log import LeafLogView, PostgresLeafLogView, SQLiteLeafLogView
from projections.quarantine import PostgresQuarantine, Quarantine, SQLiteQuarantine

TableTracking = SQLiteTrackingRecorder | PostgresTrackingRecorder
"""A tracking recorder whose table can be created (``create_table``)."""


@dataclass(frozen=True)
class _Classes:
    """One backend's classes, each made from a datastore of that backend."""

    documents: Callable[[Any, str], DocumentView]
    entries: Callable[[Any, str], DocumentView]
    leaf_log: Callable[[Any], LeafLogView]
    tracking: Callable[[Any, str], TableTracking]
    """A tracking table named ``table`` (SQLite: the shared ``tracking`` table)."""
    quarantine: Callable[[Any], Quarantine]


_BACKENDS: dict[type, _Classes] = {
    SQLiteDatastore: _Classes(
        documents=SQLiteDocumentView,
        entries=SQLiteEntryView,
        leaf_log=SQLiteLeafLogView,
        tracking=lambda datastore, _table: SQLiteTrackingRecorder(datastore),
        quarantine=SQLiteQuarantine,
    ),
    PostgresDatastore: _Classes(
        documents=PostgresDocumentView,
        entries=PostgresEntryView,
        leaf_log=PostgresLeafLogView,
        tracking=lambda datastore, table: PostgresTrackingRecorder(
            datastore, tracking_table_name=table
        ),
        quarantine=PostgresQuarantine,
    ),
}


def _classes(datastore: object, what: str) -> _Classes:
    for kind, classes in _BACKENDS.items():
        if isinstance(datastore, kind):
            return classes
    raise TypeError(f"no {what} for {type(datastore).__name__}")


# ---- the event store ---------------------------------------------------------------------


def store_factory(settings: Settings) -> InfrastructureFactory[Any]:
    """The event store's infrastructure, without the ledger application. Named as the
    ledger is (``SYSTEM``, ``Ledger.name``): the name picks the PostgreSQL events table."""
    return InfrastructureFactory.construct(Environment(SYSTEM, eventsourcing_env(settings)))


def datastore_of(factory: InfrastructureFactory[Any]) -> Any:
    """The datastore of a factory (the store's database), or None (in memory)."""
    return getattr(factory, "datastore", None)


def event_mapper(factory: InfrastructureFactory[Any]) -> Mapper[Any]:
    """The mapper the ledger makes (``Application.construct_mapper``): the factory's
    transcoder with eventsourcing's standard transcodings, its cipher and compressor.
    Made from the factory alone: constructing the ledger would open an event store and
    seed a policy."""
    transcoder = factory.transcoder()
    if isinstance(transcoder, JSONTranscoder):  # Application.register_transcodings
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return factory.mapper(transcoder=transcoder)


# ---- views and tracking ------------------------------------------------------------------


def open_view(datastore: object, name: str, entries: bool, create: bool = True) -> DocumentView:
    """The document view ``name`` in ``datastore``, whichever backend it is; with
    ``entries``, one that also keeps a table of entries (``EntryView``); its tables
    created unless ``create`` is False (a view read as it is)."""
    classes = _classes(datastore, "document view")
    view = (classes.entries if entries else classes.documents)(datastore, name)
    if create:
        view.create_table()
    return view


def view_for(datastore: object, projection: type[Projection], create: bool = True) -> DocumentView:
    """The view ``projection`` writes, in ``datastore``."""
    return open_view(datastore, projection.name, issubclass(projection, EntryProjection), create)


def leaf_log_view(events: StoredEvents) -> LeafLogView:
    """The leaf log in the same database as the events, its tables created."""
    view = _classes(events.datastore, "leaf log").leaf_log(events.datastore)
    view.create_table()
    return view


def tracking_recorder(datastore: object, table: str) -> TableTracking:
    """A tracking recorder in ``datastore`` (its table not created: ``create_table``)."""
    return _classes(datastore, "tracking recorder").tracking(datastore, table)


def quarantine_for(datastore: object) -> Quarantine:
    """The stream's quarantine in ``datastore`` (its table not created: ``create_table``)."""
    return _classes(datastore, "quarantine").quarantine(datastore)
