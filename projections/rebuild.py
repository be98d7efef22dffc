"""Rebuilding a read model while it is being served: aside, then switched in.

The projection is replayed from the start of the store into a view of its own (the
``aside`` view: the same tables under another name), while the live view goes on serving
and following. Then, in one transaction holding the live view's tracking lock (the lock
every follower takes before it applies a batch), the aside view is brought up to the live
view's position, the live tables are made to hold exactly the aside rows, and the live
tracking record is set to the aside view's position. Readers see the old view or the new
one, never a part of either; followers in other processes wait for the switch and then go
on from the switched-in position; the view's position never goes back."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.documents import DocumentView
from projections.follower import BATCH_SIZE, Projection, Target, feed

log = structlog.get_logger(__name__)

ASIDE_SUFFIX = "_rebuild"


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild did to one view."""

    projection: str
    events: int
    """Events replayed into the new view."""
    position: int
    """The store position the new view holds everything up to, when it was switched in."""
    documents: int
    """Documents in the view once switched in."""


def aside_name(projection: str) -> str:
    return f"{projection}{ASIDE_SUFFIX}"


@dataclass(frozen=True)
class Aside:
    """One view to rebuild: its projection, the live view and the view it is built in
    (of the same kind over the same database, named by ``aside_name``)."""

    projection: Projection
    live: DocumentView
    aside: DocumentView


def rebuild_aside(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    projection: Projection,
    live: DocumentView,
    aside: DocumentView,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Replay the whole store into ``aside`` and switch it in for ``live``."""
    told = None if progress is None else (lambda _name, position: progress(position))
    return rebuild_together(recorder, mapper, [Aside(projection, live, aside)], batch_size, told)[0]


def rebuild_together(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    views: Sequence[Aside],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], None] | None = None,
) -> list[Rebuilt]:
    """Replay the whole store once into every aside view (each batch read and decoded
    once for all of them, written in one transaction), then switch each in for its live
    view. Each aside view is emptied first (a rebuild that died leaves it behind) and
    dropped once switched in; ``progress`` is told each view's name and the position its
    replay has reached."""
    for view in views:
        view.aside.reset()
    targets = [Target(view.projection, view.aside) for view in views]
    replayed = dict.fromkeys((view.aside.projection for view in views), 0)
    after = 0
    while notifications := recorder.select_notifications(
        start=after, limit=batch_size, inclusive_of_start=False
    ):
        with views[0].aside.transaction(commit=True) as c:
            feed(c, targets, notifications, mapper, after)
        for target in targets:
            replayed[target.name] += target.applied
            if progress is not None:
                progress(target.projection.name, target.tracked)
        after = notifications[-1].id
    return [
        _switch_in(recorder, mapper, view, replayed[view.aside.projection], batch_size)
        for view in views
    ]


def _switch_in(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    view: Aside,
    replayed: int,
    batch_size: int,
) -> Rebuilt:
    projection, live, aside = view.projection, view.live, view.aside
    with live.transaction(commit=True) as c:
        live.lock_tracking(c, live.projection)
        target = live.tracked_in(c, live.projection)
        reached = aside.tracked_in(c, aside.projection)
        # Events the live view took while the aside one was being built: replayed in
        # this transaction, so the switched-in view is never behind the one it replaces.
        while reached < target:
            notifications = recorder.select_notifications(
                start=reached, limit=batch_size, stop=target, inclusive_of_start=False
            )
            if not notifications:
                break
            events = [(n.id, mapper.to_domain_event(n)) for n in notifications]
            applied = aside.apply_new_in(c, aside.projection, projection.apply, events, reached)
            replayed += len(applied)
            reached = notifications[-1].id
        live.replace_with(c, aside)
        position = max(reached, target)
        if position > target:
            live.track_in(c, live.projection, position)
    aside.drop()
    rebuilt = Rebuilt(projection.name, replayed, position, live.count())
    log.info(
        "projection.rebuilt",
        projection=rebuilt.projection,
        events=rebuilt.events,
        position=rebuilt.position,
        documents=rebuilt.documents,
    )
    return rebuilt
