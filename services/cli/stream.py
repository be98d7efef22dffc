"""``okrgov stream status`` and ``okrgov projections compare``: the event stream as a
person checks it, from the store (the settings' database) and a worker's views (the
settings' database too, or ``--views-url``/``--views-schema``)."""

import json
import time
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from infra.config import Settings
from infra.logging import configure_logging
from infra.persistence import sqlite_file
from projections.backends import datastore_of, event_mapper
from services.bootstrap import PROJECTIONS, store_to_read
from services.cli.context import configured
from services.workers.stream_health import Lag, StreamStore
from services.workers.views_compare import Comparison, open_view, positions_of

stream_app = typer.Typer(
    help="The event stream on Kafka: how far the relay and the views have got.",
    no_args_is_help=True,
)

ViewsUrl = Annotated[
    str | None,
    typer.Option(help="The workers' views database (default: OKRGOV_DATABASE_URL)."),
]
ViewsSchema = Annotated[
    str | None,
    typer.Option(help="The workers' views PostgreSQL schema (default: OKRGOV_DATABASE_SCHEMA)."),
]


class NoSuchDatabase(LookupError):
    """A SQLite store or views file that does not exist (never created just to be read)."""


def open_places(settings: Settings, views_url: str | None, views_schema: str | None) -> "Places":
    """``Places.open``, or exit 2 saying which database does not exist."""
    try:
        return Places.open(settings, views_url, views_schema)
    except NoSuchDatabase as missing:
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(2) from None


@dataclass
class Places:
    """The store and the views database, opened for reading (no table is created)."""

    settings: Settings
    store: StreamStore
    views_datastore: Any
    store_datastore: Any
    views_label: str

    @classmethod
    def open(cls, settings: Settings, views_url: str | None, views_schema: str | None) -> "Places":
        settings = settings.model_copy(update={"create_tables": False})
        views = settings.model_copy(
            update={
                "database_url": views_url or settings.database_url,
                "database_schema": views_schema or settings.database_schema,
            }
        )
        for place, what in ((settings, "store"), (views, "views")):
            path = sqlite_file(place)
            if path is not None and not path.exists():  # never make an empty one to read
                raise NoSuchDatabase(f"no {what} at {path}: nothing to read")
        factory = store_to_read(settings)
        store = StreamStore(
            factory.application_recorder(), mapper_factory=lambda: event_mapper(factory)
        )
        views_datastore = datastore_of(store_to_read(views))
        label = _label(views)
        return cls(settings, store, views_datastore, factory.datastore, label)  # type: ignore[attr-defined]


def _label(settings: Settings) -> str:
    pg = settings.database.postgres
    if pg is not None:
        return f"postgresql {pg.host}:{pg.port}/{pg.dbname} schema {pg.schema or 'public'}"
    return f"sqlite {settings.database_url or settings.data_dir / 'okrgov.sqlite'}"


def relay_position(datastore: Any, topic: str) -> int | None:
    """The relay's recorded position in the store's database (None: no relay has run)."""
    from projections.backends import tracking_recorder

    try:
        recorder = tracking_recorder(datastore, "relay_tracking")
    except TypeError:  # not a database
        return None
    try:
        return recorder.max_tracking_id(f"relay@{topic}")
    except Exception:  # no tracking table: no relay ever ran on this store
        return None


def status_report(places: Places, topic: str, partitions: int) -> dict[str, Any]:
    store, now = places.store, time.time()
    head = store.head()
    report: dict[str, Any] = {"head": head, "topic": topic, "views": places.views_label}
    relayed = relay_position(places.store_datastore, topic)
    report["relay"] = (
        None
        if relayed is None
        else {"position": relayed, "lag": store.lag(relayed, now, head).as_dict()}
    )
    rows = []
    for projection in PROJECTIONS:
        at = positions_of(open_view(places.views_datastore, projection), topic, partitions)
        if not at.present:
            rows.append({"projection": projection.name, "present": False})
        elif at.partitions:
            tracked = {p: at.partitions.get(p, 0) for p in range(partitions)}
            lags = store.partition_lags(tracked, partitions, now)
            for p in range(partitions):
                rows.append(_row(projection.name, str(p), tracked[p], lags[p]))
        else:
            rows.append(_row(projection.name, "store", at.store, store.lag(at.store, now, head)))
    report["projections"] = rows
    return report


def _row(projection: str, partition: str, position: int, lag: Lag) -> dict[str, Any]:
    return {
        "projection": projection,
        "partition": partition,
        "position": position,
        "lag": lag.as_dict(),
    }


def lagging(report: dict[str, Any], threshold: float) -> list[str]:
    """What is further behind than ``threshold`` seconds, one phrase each."""
    found = []
    relay = report["relay"]
    if relay and relay["lag"]["seconds"] > threshold:
        found.append(f"relay {relay['lag']['seconds']} s ({relay['lag']['events']} events)")
    for row in report["projections"]:
        if not row.get("present", True):
            found.append(f"{row['projection']} has no view")
        elif row["lag"]["seconds"] > threshold:
            found.append(
                f"{row['projection']}/{row['partition']} {row['lag']['seconds']} s "
                f"({row['lag']['events']} events)"
            )
    return found


def _print_table(report: dict[str, Any]) -> None:
    typer.echo(f"store head        {report['head']}")
    relay = report["relay"]
    if relay is None:
        typer.echo(f"relay             never ran (topic {report['topic']})")
    else:
        lag = relay["lag"]
        typer.echo(
            f"relay             {relay['position']}  lag {lag['events']} events "
            f"{lag['seconds']} s  (topic {report['topic']})"
        )
    typer.echo(f"views             {report['views']}")
    typer.echo(
        f"{'projection':<14}{'partition':>10}{'position':>10}{'lag events':>12}{'lag s':>10}"
    )
    for row in report["projections"]:
        if not row.get("present", True):
            typer.echo(f"{row['projection']:<14}{'(no view)':>10}")
            continue
        lag = row["lag"]
        events = f"{'>=' if lag.get('at_least') else ''}{lag['events']}"
        typer.echo(
            f"{row['projection']:<14}{row['partition']:>10}{row['position']:>10}"
            f"{events:>12}{lag['seconds']:>10}"
        )


@stream_app.command("status")
def stream_status(
    ctx: typer.Context,
    views_url: ViewsUrl = None,
    views_schema: ViewsSchema = None,
    max_lag_seconds: Annotated[
        float | None,
        typer.Option(help="Exit 1 past this lag (default: OKRGOV_LAG_WARN_SECONDS).", min=0),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Show how far the relay and each view have got, and how far behind they are.

    Prints the store's head, the relay's position and lag, and each view's tracked positions
    (per projection and partition) with their lag in events and seconds. Exits 1 when
    anything lags more than the threshold."""
    settings = configured(ctx).settings
    configure_logging(settings.log_level, settings.log_format)
    places = open_places(settings, views_url, views_schema)
    report = status_report(places, settings.kafka_topic, settings.kafka_partitions)
    threshold = settings.lag_warn_seconds if max_lag_seconds is None else max_lag_seconds
    behind = lagging(report, threshold)
    if as_json:
        typer.echo(json.dumps({**report, "lagging": behind}, sort_keys=True))
    else:
        _print_table(report)
    if behind:
        typer.echo(f"LAGGING (more than {threshold} s, or absent): " + "; ".join(behind), err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: nothing lags more than {threshold} s", err=True)


def projections_compare(
    ctx: typer.Context,
    views_url: ViewsUrl = None,
    views_schema: ViewsSchema = None,
    wait: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for the views to reach the store's head first (0: compare "
            "what they have reached now).",
            min=0,
        ),
    ] = 0.0,
    show: Annotated[int, typer.Option(help="Differences listed per view.", min=0)] = 20,
) -> None:
    """Check a worker's views against the store, row for row.

    The store's events are projected into scratch views up to the positions the views
    have tracked (per Kafka partition for a worker), then every row is compared. Exits 1
    on any difference."""
    settings = configured(ctx).settings
    configure_logging(settings.log_level, settings.log_format)
    places = open_places(settings, views_url, views_schema)
    mapper = event_mapper(store_to_read(places.settings))
    views = {p.name: open_view(places.views_datastore, p) for p in PROJECTIONS}
    comparison = Comparison(
        places.store, mapper, views, PROJECTIONS, settings.kafka_topic, settings.kafka_partitions
    )
    if wait and not comparison.wait(wait):
        typer.echo(
            f"the views did not reach the store's head in {wait} s; comparing what they reached"
        )
    total, missing = 0, []
    typer.echo(f"views: {places.views_label}")
    for report in comparison.run():
        if not report.present:
            typer.echo(f"{report.projection}: no view in that database")
            missing.append(report.projection)
            continue
        counts = ", ".join(f"{n} {table}" for table, n in report.compared.items())
        typer.echo(
            f"{report.projection}: {counts} compared up to {report.reached}; "
            f"{len(report.differences)} differences"
        )
        for difference in report.differences[:show]:
            typer.echo(f"  {difference}")
        total += len(report.differences)
    if missing:
        typer.echo(f"MISSING: no {', '.join(missing)} view in {places.views_label}", err=True)
        raise typer.Exit(1)
    if total:
        typer.echo(f"DIFFERENT: {total} differences between the views and the store", err=True)
        raise typer.Exit(1)
    typer.echo("same: every row of the views matches the store", err=True)
