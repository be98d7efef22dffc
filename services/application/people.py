"""The firm's people as the platform names them: a user id, a display name, a job role and
a team, and (for the demo, which acts as each of them) the okrgov role their token carries
and their title. Events, decisions and snapshots carry user ids only; names are looked up
here when a page, report or export is rendered, never copied into what is recorded.

The directory is kept as events (``events.directory``) by SCIM provisioning, by sign-in
(claims refresh a person's name and e-mail) and by the demo (its roster):
``services.application.directory`` reads them into ``Person`` records.

``job_role`` is what the conduct rule reads (``investor_relations``,
``portfolio_manager``...; ``client_facing_roles`` in the guardrails' data names the ones
it cares about): each decision's input carries it from here (``people``)."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    job_role: str
    team: str
    role: str = "member"
    """The okrgov role (``member``, ``executive``, ``risk_officer``, ``compliance``,
    ``admin``) this person's token carries."""
    title: str = ""
    """The job title as the firm writes it ("Head of Investor Relations")."""
    email: str = ""
    active: bool = True
    """False once deactivated (a leaver): they can neither sign in nor act."""
    groups: tuple[str, ...] = ()
    """The identity provider's groups they belong to, as SCIM provisioned them."""
    external_id: str = ""
    """The identity provider's own id for them (SCIM ``externalId``)."""


def display_names(people: tuple[Person, ...]) -> Mapping[str, str]:
    """user id -> display name, for rendering."""
    return {person.user_id: person.name for person in people}
