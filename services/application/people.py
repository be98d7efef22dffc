"""The firm's people as the platform names them: a user id, a display name, a job role and
a team. Events, decisions and snapshots carry user ids only; names are looked up here when
a page, report or export is rendered, never copied into what is recorded.

Today the directory is the demo firm's roster (``services.application.demo_people`` fills
it); the identity issue replaces the source with a governed directory kept by SCIM."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    job_role: str
    team: str


def display_names(people: tuple[Person, ...]) -> Mapping[str, str]:
    """user id -> display name, for rendering."""
    return {person.user_id: person.name for person in people}
