"""The composition root: builds the ledger, the projections and the token signer from
configuration. The API, the CLI, the benchmarks and the tests all get their parts here."""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, Mapper, TrackingRecorder
from kafka import KafkaConsumer, KafkaProducer

from infra import kafka
from infra.config import Settings
from infra.logging import configure_logging
from infra.persistence import eventsourcing_env, store_lock
from infra.private_files import private_directory, private_secrets
from infra.signing import Signer
from infra.stored_events import StoredEvents
from infra.stream_keys import relay_signer, trusted_keys
from infra.tokens import TokenSigner, load_or_create_secret
from policies.decision_point import DecisionPoint
from policies.review import PolicyReviews
from policies.sandbox import Budgets
from policies.sandboxed import SandboxedEngine
from projections.audit import AuditTrail
from projections.backends import (
    datastore_of,
    event_mapper,
    leaf_log_view,
    open_view,
    store_factory,
    tracking_recorder,
    view_for,
)
from projections.documents import DocumentView
from projections.entries import EntryProjection, EntryView
from projections.follower import Follower, Projection
from projections.governance import Governance
from projections.integrity import INTEGRITY, LeafFollower
from projections.okr_state import OkrState
from projections.quarantine import Quarantine
from projections.rebuild import Rebuilt
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE, ProjectionRunner, ViewBehind
from services.application.access import AccessControl, AccessList
from services.application.errors import ProjectionBehind
from services.application.evidence.relay_key import check_relay_key
from services.application.evidence.signer import store_signer
from services.application.evidence.verification import Integrity
from services.application.guard import Guard
from services.application.ledger import Ledger

PROJECTIONS: tuple[type[Projection], ...] = (OkrState, Governance, AuditTrail)


def document_view(ledger: Ledger, projection: str, entries: bool = False) -> DocumentView:
    """A view in the same database as the events, whichever backend that is; with
    ``entries``, one that also keeps a table of entries (``EntryView``)."""
    return open_view(getattr(ledger.factory, "datastore", None), projection, entries)


@dataclass
class Platform:
    """Everything one okrgov process needs, wired once."""

    settings: Settings
    ledger: Ledger
    followers: dict[str, Follower]
    tokens: AccessControl
    evidence: "Evidence"
    projections: ProjectionRunner = field(init=False)
    """Runs ``followers``, rebuilds their views and waits for them (read-your-writes)."""

    def __post_init__(self) -> None:
        self.projections = ProjectionRunner(self.followers)

    @property
    def okr_state(self) -> DocumentView:
        return self.projections.view(OKR_STATE)

    @property
    def governance(self) -> DocumentView:
        return self.projections.view(GOVERNANCE)

    @property
    def audit(self) -> EntryView:
        return self.projections.entries(AUDIT)

    def start(self) -> None:
        """Follow the store in the background; sign a checkpoint every
        ``checkpoint_every`` events with the store's key (``SigningKeyRefused`` when this
        process holds another: it must not sign what the store cannot verify)."""
        if self.settings.checkpoint_every:
            self.evidence.start_signing()
        self.projections.start(self.settings.projection_poll_seconds)

    def close(self) -> None:
        self.projections.stop()
        self.ledger.close()

    def catch_up(self) -> None:
        self.projections.catch_up()

    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> list[Rebuilt]:
        """Replay the whole store into each read model, built aside and switched in, so
        processes serving the views meanwhile never serve a partial one. ``progress`` is
        told each view's name and the position its replay has reached. One rebuild of a
        store at a time: ``LockHeld`` when another is running."""
        with store_lock(self.settings, "rebuild", wait=False):
            return self.projections.rebuild(self._aside, progress)

    def _aside(self, name: str, entries: bool) -> DocumentView:
        return document_view(self.ledger, name, entries)

    # ---- read-your-writes --------------------------------------------------------------

    def wrote(self, user: str, position: int) -> None:
        """Remember a user's latest write, so the user's next read waits for it."""
        self.projections.wrote(user, position)

    def wait_for(self, user: str, position: int = 0, *, views: Collection[str]) -> None:
        """Block (bounded by ``read_wait_seconds``) until each of ``views`` has reached
        ``position`` and the user's last write; ``ProjectionBehind`` naming the first
        that did not. Name the views the answer reads, no more: a write's answer that
        waited for the audit trail or the leaf log would pay for views it never reads."""
        try:
            self.projections.wait_for(
                user, position, views=views, timeout=self.settings.read_wait_seconds
            )
        except ViewBehind as exc:
            raise ProjectionBehind(str(exc)) from exc


# ---- tamper evidence ---------------------------------------------------------------------


def leaf_log_follower(ledger: Ledger, settings: Settings) -> LeafFollower:
    """The leaf log's follower, asking for a signed checkpoint every
    ``settings.checkpoint_every`` events once ``Evidence.start_signing`` gave it a signer."""
    events = StoredEvents(ledger.recorder)
    return LeafFollower(
        events, ledger.mapper, leaf_log_view(events), every=settings.checkpoint_every
    )


@dataclass
class Evidence:
    """A process's tamper-evidence parts: the leaf log's follower, and this process's
    signing key, loaded (and checked against the store's keys) once per process, on the
    first signing step, never per request. Verifying needs no private key."""

    settings: Settings
    ledger: Ledger
    leaf_log: LeafFollower
    _signer: Signer | None = None

    def verifier(self, trusted_key: str | None = None) -> Integrity:
        """Verification and proofs over the store, judged by the public keys it records
        (and ``trusted_key``, the only one an auditor trusts, when given)."""
        return Integrity(self.ledger, self.leaf_log, trusted_key=trusted_key)

    def signer(self) -> Signer:
        """This process's signer, known to the store (its first key when it has none);
        ``SigningKeyRefused`` otherwise."""
        if self._signer is None:
            self._signer = store_signer(self.ledger, self.settings)
        return self._signer

    def signing(self) -> Integrity:
        """Checkpoints signed by this process, with a key the store knows."""
        return Integrity(self.ledger, self.leaf_log, signer=self.signer())

    def start_signing(self) -> None:
        """From now on the leaf log's follower signs a checkpoint every
        ``checkpoint_every`` events, with the store's key."""
        self.leaf_log.checkpoint_due = self.signing().periodic_checkpoint


def integrity_of(platform: Platform, trusted_key: str | None = None) -> Integrity:
    """Verification and proofs over a platform's store: public keys only."""
    return platform.evidence.verifier(trusted_key)


def signing_integrity(platform: Platform) -> Integrity:
    """Checkpoints signed by this process (``SigningKeyRefused`` when its key is not the
    store's)."""
    return platform.evidence.signing()


# ---- policy engines ----------------------------------------------------------------------


def policy_budgets(settings: Settings) -> Budgets:
    return Budgets(
        decision=settings.policy_budget_ms / 1000,
        start=settings.policy_start_budget_ms / 1000,
        review=settings.simulate_budget_seconds,
    )


def decision_point(settings: Settings) -> DecisionPoint:
    """The policy engine chosen by OKRGOV_POLICY_ENGINE: Rego in worker processes, each
    decision under the time budget, or OPA with the budget as its HTTP timeout."""
    budgets = policy_budgets(settings)
    if settings.policy_engine == "opa":
        from policies.opa import OpaEngine

        return DecisionPoint(OpaEngine(settings.opa_url, timeout=budgets.decision))
    return DecisionPoint(SandboxedEngine(settings.policy_workers, budgets))


def policy_reviews(settings: Settings) -> PolicyReviews:
    """Where proposals are checked and what-ifs run: worker processes of their own, on
    embedded Rego whichever engine ``decision_point`` chose (they evaluate versions that are
    not active, which an OPA server has not loaded)."""
    return PolicyReviews(policy_budgets(settings), settings.simulate_concurrency)


def build(settings: Settings | None = None) -> Platform:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    private_directory(settings.data_dir)  # 0700: the store, keys and secret live here
    with store_lock(settings, "setup"):  # one process at a time creates tables and seeds
        ledger = Ledger(
            env=eventsourcing_env(settings),
            guard=Guard(decision_point(settings)),
            reviews=policy_reviews(settings),
        )
        ledger.conflict_budget_seconds = settings.conflict_retry_seconds
        ledger.seed_policy()
        followers = {
            p.name: Follower(
                ledger.recorder,
                ledger.mapper,
                p(),
                document_view(ledger, p.name, issubclass(p, EntryProjection)),
            )
            for p in PROJECTIONS
        }
        # The leaf log hashes the raw rows, not decoded events, so it is not one of PROJECTIONS.
        StoredEvents(ledger.recorder).guard_append_only()
        leaf_log = leaf_log_follower(ledger, settings)
        followers[INTEGRITY] = leaf_log
        secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    private_secrets(settings.data_dir)
    access_list = AccessList(ledger.recorder, ledger.mapper, settings.token_refresh_seconds)
    tokens = AccessControl(
        ledger, TokenSigner(secret), access_list, timedelta(days=settings.token_ttl_days)
    )
    evidence = Evidence(settings, ledger, leaf_log)
    return Platform(
        settings=settings, ledger=ledger, followers=followers, tokens=tokens, evidence=evidence
    )


# ---- the event stream: the relay's and the Kafka projection workers' parts ---------------


@dataclass(frozen=True)
class RelayParts:
    """What the relay (``services.workers.relay``) publishes from and with."""

    events: StoredEvents
    tracking: TrackingRecorder
    new_producer: Callable[[], KafkaProducer]
    topic: str
    source: str
    signer: Signer


def relay_parts(settings: Settings, **producer_overrides: Any) -> RelayParts:
    """The store (read) and the relay's tracking table in its database, a producer made on
    demand (the topic created when missing), and the store's signing key: refused
    (``RelayKeyRefused``) when the store records another."""
    kafka.bootstrap_servers(settings)  # KafkaNotConfigured now, not on every retry
    with store_lock(settings, "setup"):  # tables made one process at a time
        factory = store_factory(settings)
        recorder = factory.application_recorder()
        tracking = tracking_recorder(datastore_of(factory), "relay_tracking")
        tracking.create_table()
    admin = {
        name: value
        for name, value in producer_overrides.items()
        if name in ("request_timeout_ms", "bootstrap_timeout_ms")
    }

    def new_producer() -> KafkaProducer:
        kafka.ensure_topic(settings, **admin)
        return kafka.producer(settings, **producer_overrides)

    signer = relay_signer(settings)
    check_relay_key(factory, signer)  # the store's key, or none recorded yet
    source = kafka.event_source(settings)
    return RelayParts(
        StoredEvents(recorder), tracking, new_producer, settings.kafka_topic, source, signer
    )


@dataclass(frozen=True)
class WorkerStore:
    """A Kafka projection worker's own database: the views it writes, its quarantine, and
    the ledger's mapper to read the records it admits; the records it trusts."""

    views: tuple[tuple[type[Projection], DocumentView], ...]
    quarantine: Quarantine
    mapper: Mapper[Any]
    source: str
    keys: dict[str, bytes]


def worker_store(
    settings: Settings, projections: tuple[type[Projection], ...] = PROJECTIONS
) -> WorkerStore:
    """The views of ``projections`` and the quarantine in the settings' database, and the
    records it admits: those of ``kafka.event_source(settings)`` signed by
    ``trusted_keys(settings)`` (``NoStreamKeys`` when none is configured)."""
    keys = trusted_keys(settings)
    with store_lock(settings, "setup"):  # workers starting together on a fresh schema
        factory = store_factory(settings)
        datastore = datastore_of(factory)
        views = tuple((p, view_for(datastore, p)) for p in projections)
        quarantine = Quarantine(datastore)
        quarantine.create_table()
    source = kafka.event_source(settings)
    return WorkerStore(views, quarantine, event_mapper(factory), source, keys)


def worker_consumer(settings: Settings, **consumer_overrides: Any) -> KafkaConsumer:
    """A consumer of the settings' topic in their group (the topic created when missing)."""
    kafka.ensure_topic(settings)
    return kafka.consumer(settings, **consumer_overrides)


def store_to_read(
    settings: Settings, url: str | None = None, schema: str | None = None
) -> InfrastructureFactory[Any]:
    """The event store at ``url`` and ``schema`` (by default the settings' own), reached
    without the ledger to read it: no table is created, nothing seeded or written."""
    place = settings.model_copy(
        update={
            "database_url": url or settings.database_url,
            "database_schema": schema or settings.database_schema,
            "create_tables": False,
        }
    )
    return store_factory(place)
