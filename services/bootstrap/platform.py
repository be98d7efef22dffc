"""The platform of one okrgov process (the API server, ``projections run``, a CLI command):
the ledger with the guard over the policy engine the settings chose, the read models'
followers, tokens and tamper evidence, built once by ``build``."""

import hashlib
import hmac
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from infra.config import Settings
from infra.logging import configure_logging
from infra.persistence import eventsourcing_env, store_lock
from infra.private_files import private_directory, private_secrets
from infra.provider_tokens import ProviderTokens
from infra.stored_events import StoredEvents
from infra.tokens import TokenSigner, load_or_create_secret
from policies.decision_point import DecisionPoint
from policies.review import PolicyReviews
from policies.sandbox import Budgets
from policies.sandboxed import SandboxedEngine
from projections.audit import AuditTrail
from projections.backends import datastore_of, open_view
from projections.documents import DocumentView
from projections.entries import EntryProjection, EntryView
from projections.follower import Follower, Projection
from projections.governance import Governance
from projections.leaf_log import LEAF_LOG
from projections.okr_state import OkrState
from projections.rebuild import Rebuilt
from projections.runner import AUDIT, GOVERNANCE, OKR_STATE, ProjectionRunner, ViewBehind
from projections.shared import SharedFollower
from services.application.access import AccessControl, AccessList
from services.application.authentication import ActiveRoleGrants, Authentication
from services.application.directory import Directory
from services.application.errors import ProjectionBehind
from services.application.guard import Guard
from services.application.ledger import Ledger
from services.application.people import Person
from services.bootstrap.evidence import Evidence, leaf_log_follower

PROJECTIONS: tuple[type[Projection], ...] = (OkrState, Governance, AuditTrail)


def document_view(ledger: Ledger, projection: str, entries: bool = False) -> DocumentView:
    """A view in the same database as the events, whichever backend that is; with
    ``entries``, one that also keeps a table of entries (``EntryView``)."""
    return open_view(datastore_of(ledger.factory), projection, entries)


@dataclass
class Platform:
    """Everything one okrgov process needs, wired once."""

    settings: Settings
    ledger: Ledger
    followers: dict[str, Follower]
    tokens: AccessControl
    evidence: Evidence
    projections: ProjectionRunner = field(init=False)
    """Runs ``followers``, rebuilds their views and waits for them (read-your-writes)."""
    directory: Directory
    """The people directory (``services.application.directory``): names, job roles,
    teams, groups, who is active; kept by SCIM and sign-in, read from events."""
    authentication: Authentication
    """Resolves okrgov tokens, the identity provider's tokens and sign-in claims."""
    console_key: bytes = b""
    """Signs the web console's session cookie and CSRF tokens: derived from the token
    secret (``console_key``), so one secret is kept, and a console cookie is no token."""

    def __post_init__(self) -> None:
        self.projections = ProjectionRunner(self.followers)

    @property
    def names(self) -> Mapping[str, str]:
        """user id -> display name, for pages, reports and exports: read from the
        directory when they are rendered, never recorded. Ids without a name show as they
        are."""
        return self.directory.names()

    @property
    def people(self) -> Mapping[str, Person]:
        """user id -> the person (name, title, team, job role, active), for pages that
        group or filter by team; the same directory as ``names``."""
        return self.directory.people()

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
    """Where proposals are checked and what-ifs run: worker processes of their own (they
    evaluate versions that are not active, which an OPA server has not loaded and must not
    load). A what-if judges under the engine ``decision_point`` chose: regorus, or OPA's
    own Go evaluator inside the worker, the evaluator an OPA server runs."""
    return PolicyReviews(
        policy_budgets(settings), settings.simulate_concurrency, engine=settings.policy_engine
    )


def build(settings: Settings | None = None) -> Platform:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    private_directory(settings.data_dir)  # 0700: the store, keys and secret live here
    with store_lock(settings, "setup"):  # one process at a time creates tables and seeds
        ledger = Ledger(
            env=eventsourcing_env(settings),
            guard=Guard(decision_point(settings)),
            reviews=policy_reviews(settings),
        )
        ledger.conflict_budget_seconds = settings.conflict_retry_seconds
        ledger.seed_policy()
        # One follower feeds every read model: one read, one decode and one commit per
        # batch for them all (a request pays for one writer, not one per view).
        views = SharedFollower(
            ledger.recorder,
            ledger.mapper,
            [
                (p(), document_view(ledger, p.name, issubclass(p, EntryProjection)))
                for p in PROJECTIONS
            ],
        )
        followers: dict[str, Follower] = dict(views.members)
        # The leaf log hashes the raw rows, not decoded events: a follower of its own.
        StoredEvents(ledger.recorder).guard_append_only()
        leaf_log = leaf_log_follower(ledger, settings)
        followers[LEAF_LOG] = leaf_log
        secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    private_secrets(settings.data_dir)
    access_list = AccessList(ledger.recorder, ledger.mapper, settings.token_refresh_seconds)
    tokens = AccessControl(
        ledger, TokenSigner(secret), access_list, timedelta(days=settings.token_ttl_days)
    )
    evidence = Evidence(settings, ledger, leaf_log)
    directory = ledger.directory
    directory.refresh_seconds = settings.token_refresh_seconds
    authentication = Authentication(
        tokens,
        directory,
        ActiveRoleGrants(ledger),
        provider_tokens(settings),
        settings.oidc_user_claim,
    )
    return Platform(
        settings=settings,
        ledger=ledger,
        followers=followers,
        tokens=tokens,
        evidence=evidence,
        directory=directory,
        authentication=authentication,
        console_key=console_key(secret),
    )


def provider_tokens(settings: Settings) -> ProviderTokens | None:
    """The identity provider's token verifier, when single sign-on is configured."""
    if not settings.oidc_issuer:
        return None
    algorithms = [a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()]
    return ProviderTokens(
        settings.oidc_issuer,
        [settings.oidc_audience or settings.oidc_client_id],
        algorithms,
        refresh_seconds=settings.oidc_jwks_refresh_seconds,
        leeway_seconds=settings.oidc_leeway_seconds,
        timeout_seconds=settings.oidc_timeout_seconds,
    )


def console_key(secret: str) -> bytes:
    """The console's signing key: HMAC-SHA256 of a fixed label under the token secret, so
    it is as secret as the tokens' and can sign nothing a token check would accept."""
    return hmac.new(secret.encode(), b"okrgov console session", hashlib.sha256).digest()
