"""Reaching an event store without the ledger application: its infrastructure, the
ledger's own mapper, and the read models' document views in a database. The relay, the
projection workers and the stream commands read and track through these; they never seed
or write events. The composition root builds its views here too."""

from typing import Any

from eventsourcing.persistence import InfrastructureFactory, Mapper
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.utils import Environment

from events.identity import SYSTEM
from infra.config import Settings
from infra.persistence import eventsourcing_env
from projections.documents import DocumentView, PostgresDocumentView, SQLiteDocumentView
from projections.entries import EntryProjection, PostgresEntryView, SQLiteEntryView
from projections.follower import Projection
from services.application.ledger import Ledger

APPLICATION = SYSTEM
"""The ledger's application name: it names the PostgreSQL events table."""


def store_factory(settings: Settings) -> InfrastructureFactory[Any]:
    """The event store's infrastructure, without the ledger application."""
    return InfrastructureFactory.construct(Environment(APPLICATION, eventsourcing_env(settings)))


def ledger_mapper(factory: InfrastructureFactory[Any]) -> Mapper[Any]:
    """The ledger's own mapper (its transcodings, compressor and cipher settings), made
    without constructing the ledger, which would open an event store and seed a policy."""
    app = Ledger.__new__(Ledger)
    app.factory = factory
    return app.construct_mapper()


def open_view(datastore: object, name: str, entries: bool, create: bool = True) -> DocumentView:
    """The document view ``name`` in ``datastore``, whichever backend it is; with
    ``entries``, one that also keeps a table of entries (``EntryView``); its tables
    created unless ``create`` is False (a view read as it is)."""
    view: DocumentView
    if isinstance(datastore, SQLiteDatastore):
        view = (SQLiteEntryView if entries else SQLiteDocumentView)(datastore, name)
    elif isinstance(datastore, PostgresDatastore):
        view = (PostgresEntryView if entries else PostgresDocumentView)(datastore, name)
    else:
        raise TypeError(f"no document view for {type(datastore).__name__}")
    if create:
        view.create_table()
    return view


def view_for(datastore: object, projection: type[Projection], create: bool = True) -> DocumentView:
    """The view ``projection`` writes, in ``datastore``."""
    return open_view(datastore, projection.name, issubclass(projection, EntryProjection), create)
