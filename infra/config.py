"""All configuration in one place: environment variables with the OKRGOV_ prefix."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.database import Database


class Settings(BaseSettings):
    """Every setting has a working default: SQLite under ./var, embedded Rego."""

    model_config = SettingsConfigDict(env_prefix="OKRGOV_", extra="ignore")

    database_url: str | None = None
    """Unset: a SQLite file under ``data_dir``; ``sqlite:////absolute/path`` or
    ``sqlite:///path/from/the/working/directory``; ``postgresql://...``: PostgreSQL. Read
    through ``database`` (parsed once, ``infra.database``), never parsed elsewhere."""
    database_schema: str | None = None
    """PostgreSQL schema to keep the tables in (tests use one schema each)."""
    create_tables: bool = True
    """Create the event tables at start-up; false for an application role that may only
    use tables its owner made (see ``okrgov db init``)."""
    data_dir: Path = Path("var")
    secret_key: str | None = Field(default=None, min_length=32)
    """Signs bearer tokens (HS256); generated into ``data_dir`` on first run when unset. At
    least 32 characters: a shorter HMAC key is guessable (RFC 7518 3.2 asks for a key as
    long as the hash), and PyJWT warns on every token signed with one."""
    policy_engine: Literal["embedded", "opa"] = "embedded"
    """Where guardrails are evaluated: Rego (regorus) in ``policy_workers`` worker
    processes, or an OPA server at ``opa_url``."""
    opa_url: str = "http://127.0.0.1:8181"
    policy_workers: int = Field(default=2, ge=1, le=64)
    """Worker processes evaluating decisions (started on first use)."""
    policy_budget_ms: int = Field(default=500, ge=1, le=60_000)
    """Time budget of one decision (and of each test at proposal); past it the command is
    refused with 503 ``policy_timeout`` and the failed decision recorded. With OPA, the
    HTTP timeout of each request."""
    policy_start_budget_ms: int = Field(default=5000, ge=1, le=600_000)
    """Time budget for getting a policy worker ready: a free one, a new one, the active
    bundle loaded into it."""
    simulate_budget_seconds: float = Field(default=10.0, gt=0, le=600)
    """Time budget of a what-if, and of all the checks of one proposal."""
    simulate_concurrency: int = Field(default=1, ge=1, le=16)
    """What-ifs and proposal checks that may run at once (each in its own process)."""
    aggregate_cache_size: int = 5000
    conflict_retry_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long a command that lost a race on an aggregate is retried from fresh state
    before it answers 409 ``conflict``."""
    api_processes: int = Field(default=1, ge=1, le=256)
    """How many processes serve the API over this store (``okrgov serve --workers``, which
    sets it). Above one, a read waits for the views to reach the store's head, not only the
    caller's last write as this process saw it: the caller's last write may have been
    answered by another process."""
    read_wait_seconds: float = 5.0
    """How long a read waits for the projections to reach the caller's last write."""
    projection_poll_seconds: float = 0.5
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"  # auto: console on a terminal
    firm_name: str = Field(default="Northbridge Capital Partners", min_length=1, max_length=200)
    """The firm named on reports (the board pack's masthead); the demo firm's by default."""
    demo_sign_in: bool = False
    """The console's sign-in page lists the demo firm's people, and signs in as any of
    them without a token. For trying the demo only (``make run`` turns it on); never on
    where real people sign in."""
    console_secure_cookies: bool = False
    """Mark the console's cookies ``Secure`` (sent over HTTPS only): turn on behind TLS."""
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """How long a console sign-in lasts without signing in again."""
    oidc_issuer: str | None = None
    """Single sign-on: the identity provider's issuer URL (its
    ``/.well-known/openid-configuration`` is read from it). Unset: no single sign-on, only
    okrgov's own tokens (and demo sign-in where it is on)."""
    oidc_client_id: str = "okrgov"
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid profile email"
    oidc_audience: str | None = None
    """The ``aud`` the provider's access tokens must carry for the API (default: the
    client id; Entra ID: ``api://<application id>``)."""
    oidc_user_claim: str = "sub"
    """The claim that is the user id (Entra ID: ``oid`` or ``preferred_username``; Okta and
    Keycloak: ``preferred_username`` or ``email``). SCIM's ``userName`` must say the same."""
    oidc_algorithms: str = "RS256,PS256,ES256"
    """The signature algorithms accepted in the provider's tokens (never ``none`` or HS*)."""
    oidc_jwks_refresh_seconds: float = Field(default=60.0, ge=0, le=86_400)
    """At most this often the provider's keys are read again for a key not seen yet (a
    rotation); the keys are kept in memory in between."""
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    """Clock skew allowed on ``exp`` and ``nbf``."""
    oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """The largest request body the API reads; a larger one answers 413 unread."""
    token_ttl_days: int = Field(default=30, ge=1, le=365)
    """Lifetime of a token issued without ``--days`` (see the README's Security section)."""
    token_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    """How stale a process's list of issued and revoked tokens may be: a revocation
    recorded anywhere is honoured by every process within this time."""
    signing_key: str | None = None
    """Ed25519 private key (base64) signing integrity checkpoints; generated into
    ``data_dir`` on first run when unset."""
    checkpoint_every: int = Field(default=1000, ge=0)
    """Sign a checkpoint of the event store's Merkle tree after this many new events (0: only
    on ``okrgov checkpoint``)."""
    kafka_bootstrap: str | None = None
    """Kafka bootstrap servers (``host:port[,host:port...]``) for the event stream: the relay
    publishes to them and projection workers consume from them. Unset: no stream."""
    kafka_topic: str = "okrgov.events"
    kafka_partitions: int = Field(default=6, ge=1)
    """Partitions of the topic when okrgov creates it. Never change them on a live topic:
    an aggregate's events would then land on two partitions."""
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_group: str = "okrgov-projector"
    """The consumer group of the projection workers (each group builds its own views)."""
    kafka_session_timeout_ms: int = Field(default=10000, ge=1)
    kafka_heartbeat_interval_ms: int = Field(default=3000, ge=1)
    kafka_max_poll_interval_ms: int = Field(default=30000, ge=1)
    event_source: str | None = None
    """The CloudEvents ``source`` naming this store; derived from the database when unset.
    Projection workers accept records of this source only: set it on the relay and on the
    workers alike (a worker's own database would derive another)."""
    stream_public_keys: str | None = None
    """Public keys (base64 Ed25519, comma-separated) the projection workers verify the
    relay's record signatures with; unset: the public half of the local signing key."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Port of the relay's and each projection worker's ``/metrics`` and ``/healthz``
    endpoint (0: none)."""
    metrics_host: str = "127.0.0.1"
    lag_warn_seconds: float = Field(default=10.0, gt=0)
    """Lag of the relay or a projection past which the log warns (once per crossing) and
    ``okrgov stream status`` exits 1."""
    stall_warn_seconds: float = Field(default=5.0, gt=0)
    """How long the relay may wait for the broker's acknowledgement before the log warns
    that the broker stalls."""

    @property
    def database(self) -> Database:
        """``database_url``, ``data_dir`` and ``database_schema`` parsed (``infra.database``):
        what every part that reaches the database reads, instead of the URL. Parsed on each
        use, so a ``model_copy`` with another URL never sees a stale one."""
        return Database.parse(self.database_url, self.data_dir, self.database_schema)
