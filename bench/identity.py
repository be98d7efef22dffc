"""Identity benchmark: what single sign-on and the people directory (issue 15) add on the
request path and in the store, each beside its raw baseline measured in the same run.

1. One bearer token authenticated N times through ``platform.authentication.bearer``:
   okrgov's own token (signature, its record on the access list, the directory's
   deactivation check) beside ``jwt.decode`` HS256 of the same text; and the identity
   provider's ID token (a real ``oidc-provider-mock`` process; keys already cached: the
   provider's checks, the active policy's role mapping read through the policy registry,
   the directory's groups and deactivation check) beside ``jwt.decode`` RS256 of the same
   text with the provider's public key and the same claim checks.
2. The people directory: P people provisioned with ``Directory.provision`` beside P plain
   events of the same payload saved one per ``save()`` through the same eventsourcing
   application; then the whole directory read from zero by a new reader (a process
   starting) beside ``recorder.select_notifications`` over the same topics, undecoded.

The directory is measured first, so the tokens are authenticated against a directory of
P people in G groups. Run ``python bench/identity.py --help`` for the options;
bench/README.md explains the figures. Over 300 lines because it is one script run by
itself, as the other benchmarks are: both measures, their raw baselines and the report
read top to bottom in one place.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
from common import Rate, fresh_schema, redact
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic
from summary import record

from events.directory import Group
from events.directory import Person as PersonRecord
from infra.config import Settings
from infra.logging import new_correlation_id
from infra.provider_tokens import issuer_of
from services.application.directory import Directory
from services.application.principals import Role
from services.bootstrap import Platform, build

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "OKRGOV_BENCH_DATABASE_URL"
SECRET = "bench-only-not-a-secret-bench-only-identity"
BLOCKS = 10  # timed work alternates between the variants in this many blocks
PAGE = 500  # the directory reader's page size
TOPICS = [
    get_topic(kind)
    for kind in (
        PersonRecord.Provisioned, PersonRecord.Updated, PersonRecord.Deactivated,
        PersonRecord.Reactivated, Group.Created, Group.MembersChanged, Group.Renamed,
        Group.Deleted,
    )
]  # fmt: skip
#: The groups of the shipped role mapping (data.json "identity"), then groups of no role.
ROLE_GROUPS = (
    "okrgov-executives", "okrgov-risk-officers", "okrgov-members", "okrgov-compliance",
    "okrgov-admins",
)  # fmt: skip
JOB_ROLES = ("portfolio_manager", "analyst", "investor_relations", "operations", "risk")
TOKEN_USER, PROVIDER_USER = "bench.reader", "olivia"


class Listing(Aggregate):
    """The raw baseline of a provisioning: one event with the payload of a
    ``Person.Provisioned`` (user id, details, the stamp), no checks, no directory."""

    @event("Listed")
    def __init__(
        self, user_id: str, details: dict[str, str], actor: str, correlation_id: str,
        reason: str | None,
    ) -> None:  # fmt: skip
        self.user_id = user_id
        del details, actor, correlation_id, reason  # recorded on the event


def interleaved(runs: list[Callable[[int], int]], total: int) -> list[Rate]:
    """Each run does ``total`` units in BLOCKS blocks, the order rotating per block, so
    drift in machine load or store size falls on every variant alike."""
    rates = [Rate(0, 0.0) for _ in runs]
    size = max(1, -(-total // BLOCKS))
    for n, start in enumerate(range(0, total, size)):
        chunk = min(size, total - start)
        for i in [(n + k) % len(runs) for k in range(len(runs))]:
            started = time.perf_counter()
            rates[i].count += runs[i](chunk)
            rates[i].seconds += time.perf_counter() - started
    return rates


def repeated(call: Callable[[], object]) -> Callable[[int], int]:
    def run(count: int) -> int:
        for _ in range(count):
            call()
        return count

    return run


# ---- the people directory -------------------------------------------------------------


def details_of(i: int) -> dict[str, str]:
    return {"name": f"Person {i}", "job_role": JOB_ROLES[i % 5], "team": f"Team {i % 40}"}


def measure_directory(platform: Platform, args: argparse.Namespace) -> dict[str, Rate]:
    directory, ledger = platform.directory, platform.ledger
    made = {"people": 0, "listings": 0}

    def provision(count: int) -> int:
        for i in range(made["people"], made["people"] + count):
            directory.provision(f"bench.person{i:06d}", details_of(i), by="okrgov")
        made["people"] += count
        return count

    def listing(count: int) -> int:
        for i in range(made["listings"], made["listings"] + count):
            stamp = ("okrgov", new_correlation_id(), None)  # as a command's Stamp has it
            ledger.save(Listing(f"bench.listed{i:06d}", details_of(i), *stamp))
        made["listings"] += count
        return count

    provision(args.warm_up_people)
    listing(args.warm_up_people)
    provisioned, listed = interleaved([provision, listing], args.people)
    directory.provision(PROVIDER_USER, {"name": "Olivia Grant"}, by="okrgov")
    directory.provision(TOKEN_USER, {"name": "Bench Reader"}, by="okrgov")
    users = sorted(directory.people())
    for g in range(args.groups):
        name = ROLE_GROUPS[g] if g < len(ROLE_GROUPS) else f"bench-group-{g}"
        directory.create_group(name, users[g :: args.groups], by="okrgov")

    events = directory_events(platform, decode=False)

    def read() -> int:
        reader = Directory(ledger, ledger.recorder, ledger.mapper, 0)
        if len(reader.people()) != len(users):
            raise RuntimeError("the new reader did not read every person")
        return events

    read_rate, raw, decoded = best_of(
        args.repeats,
        [
            read,
            lambda: directory_events(platform, decode=False),
            lambda: directory_events(platform, decode=True),
        ],
    )
    if raw.count != events or decoded.count != events:
        raise RuntimeError("the raw reads did not read every directory event")
    return {
        "provision": provisioned, "listing": listed, "read": read_rate, "raw_read": raw,
        "decoded_read": decoded, "people": Rate(len(users), 0.0),
    }  # fmt: skip


def directory_events(platform: Platform, *, decode: bool) -> int:
    """The directory's notifications, paged as its reader pages them (decoded or not)."""
    recorder, mapper = platform.ledger.recorder, platform.ledger.mapper
    after, count = 0, 0
    while True:
        page = recorder.select_notifications(
            start=after, limit=PAGE, topics=TOPICS, inclusive_of_start=False
        )
        if decode:
            for n in page:
                mapper.to_domain_event(n)
        count += len(page)
        if len(page) < PAGE:
            return count
        after = page[-1].id


def best_of(repeats: int, runs: list[Callable[[], int]]) -> list[Rate]:
    """The fastest of ``repeats`` runs of each, the order rotating per round."""
    best: list[Rate | None] = [None] * len(runs)
    for n in range(repeats):
        for i in [(n + k) % len(runs) for k in range(len(runs))]:
            started = time.perf_counter()
            count = runs[i]()
            rate = Rate(count, time.perf_counter() - started)
            current = best[i]
            if current is None or rate.seconds < current.seconds:
                best[i] = rate
    return [r for r in best if r is not None]


# ---- authenticating a bearer token ----------------------------------------------------


def measure_authentication(
    platform: Platform, provider: Any, args: argparse.Namespace
) -> dict[str, Rate]:
    auth, checker = platform.authentication, platform.authentication.provider
    if checker is None:
        raise RuntimeError("single sign-on is not configured")
    own = platform.tokens.create(TOKEN_USER, ["member"])
    id_token: str = provider.id_token(PROVIDER_USER)
    issuer, public_key = provider_key(provider.issuer)
    if auth.bearer(own).via != "token":
        raise RuntimeError("okrgov's token was not authenticated as one")
    signed_in = auth.bearer(id_token)  # reads the provider's keys: they stay cached
    claims = checker.verify(id_token)
    if signed_in.via != "oidc" or not signed_in.has(Role.EXECUTIVE):
        raise RuntimeError(f"the provider's token mapped to no role: {signed_in}")

    def raw_hs256() -> object:
        return jwt.decode(
            own, SECRET, algorithms=["HS256"], issuer="okrgov",
            options={"require": ["sub", "exp", "iss"]},
        )  # fmt: skip

    def raw_rs256() -> object:
        return jwt.decode(
            id_token, public_key, algorithms=["RS256"], audience="okrgov", issuer=issuer,
            leeway=30, options={"require": ["exp", "iss", "aud", "sub"]},
        )  # fmt: skip

    calls: dict[str, Callable[[], object]] = {
        "bearer_own": lambda: auth.bearer(own),
        "authenticate": lambda: platform.tokens.authenticate(own),
        "issuer_of": lambda: issuer_of(own),
        "require_active": lambda: auth.require_active(TOKEN_USER),
        "raw_hs256": raw_hs256,
        "bearer_provider": lambda: auth.bearer(id_token),
        "verify": lambda: checker.verify(id_token),
        "from_claims": lambda: auth.from_claims(claims),
        "role_grants": auth.grants.current,
        "raw_rs256": raw_rs256,
    }
    for call in calls.values():
        repeated(call)(args.warm_up_tokens)
    rates = interleaved([repeated(call) for call in calls.values()], args.tokens)
    return dict(zip(calls, rates, strict=True))


def provider_key(issuer: str) -> tuple[str, Any]:
    """The issuer the provider announces and its (single) public signing key, read
    straight from its discovery document and JWKS."""
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    keys = httpx.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    return str(metadata["issuer"]), jwt.PyJWK(keys[0]).key


@contextmanager
def identity_provider(logs: Path) -> Iterator[Any]:
    """The tests' real provider process (tests/oidc_provider.py), which knows olivia."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from oidc_provider import running_provider

    with running_provider(logs) as provider:
        yield provider


# ---- backends -------------------------------------------------------------------------


def measure(settings: Settings, provider: Any, args: argparse.Namespace) -> dict[str, Rate]:
    platform = build(settings)
    try:
        rates = measure_directory(platform, args)
        return rates | measure_authentication(platform, provider, args)
    finally:
        platform.close()


def run_backend(name: str, provider: Any, args: argparse.Namespace) -> dict[str, Rate]:
    common = {"secret_key": SECRET, "oidc_issuer": provider.issuer, "log_level": args.log_level}
    with tempfile.TemporaryDirectory(prefix="okrgov-bench-") as tmp:
        if name == "sqlite":
            return measure(Settings(data_dir=Path(tmp), **common), provider, args)
        with fresh_schema(args.postgres_url) as schema:
            settings = Settings(
                data_dir=Path(tmp), database_url=args.postgres_url, database_schema=schema,
                **common,
            )  # fmt: skip
            return measure(settings, provider, args)


# ---- report ---------------------------------------------------------------------------

#: Each measure with its rows (key, label) and the ratio recorded: okrgov's row over the
#: raw baseline's (rates), by the name given.
SECTIONS = (
    (
        (
            ("bearer_own", "bearer: okrgov token (HS256)"),
            ("authenticate", "  AccessControl.authenticate alone"),
            ("issuer_of", "  issuer_of alone (which verifier)"),
            ("require_active", "  require_active alone (directory)"),
            ("raw_hs256", "  raw jwt.decode HS256, same text"),
        ),
        ("bearer_own", "raw_hs256", "okrgov token bearer / jwt.decode HS256"),
    ),
    (
        (
            ("bearer_provider", "bearer: provider JWT (RS256, keys cached)"),
            ("verify", "  ProviderTokens.verify alone"),
            ("from_claims", "  Authentication.from_claims alone"),
            ("role_grants", "  the role mapping alone (registry read)"),
            ("raw_rs256", "  raw jwt.decode RS256, same text"),
        ),
        ("bearer_provider", "raw_rs256", "provider JWT bearer / jwt.decode RS256"),
    ),
    (
        (
            ("provision", "Directory.provision (1 event each)"),
            ("listing", "  raw: 1 plain event per save, same app"),
        ),
        ("provision", "listing", "Directory.provision / raw 1-event save"),
    ),
    (
        (
            ("read", "directory from zero: new reader .people()"),
            ("raw_read", "  raw select_notifications, same topics"),
            ("decoded_read", "  the same + to_domain_event"),
        ),
        ("read", "raw_read", "directory read from zero / raw select"),
    ),
)


def report(backend: str, rates: dict[str, Rate], args: argparse.Namespace) -> None:
    people = rates["people"].count
    works = (
        f"{args.tokens:,} requests, one token",
        f"{args.tokens:,} requests, one token",
        f"{args.people:,} people",
        f"{rates['read'].count:,} events, {args.groups} groups",
    )
    for (rows, (mine, raw, name)), work in zip(SECTIONS, works, strict=True):
        for key, label in rows:
            r = rates[key]
            print(
                f"{backend:<9} {label:<44} {r.count:>7,} {r.seconds:>8.3f} "
                f"{r.per_second:>10,.0f} {r.micros_each:>9,.1f}"
            )
        ratio = rates[mine].per_second / rates[raw].per_second
        extra = rates[mine].micros_each - rates[raw].micros_each
        print(
            f"{backend:<9} {'  ratio':<44} {'':>7} {'':>8} {ratio:>9.3f}x ({extra:+,.1f} us each)"
        )
        record(
            "identity",
            f"{name} ({backend})",
            ratio,
            baseline=f"{dict(rows)[raw].strip()}, {rates[raw].micros_each:,.1f} us",
            work=f"{work}, directory of {people:,}, {backend}",
        )


# ---- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=5000, help="N, timed calls per variant")
    parser.add_argument("--people", type=int, default=2000, help="P, people provisioned")
    parser.add_argument("--groups", type=int, default=5, help="G, groups the people are in")
    parser.add_argument("--warm-up-tokens", type=int, default=200, help="untimed calls each")
    parser.add_argument("--warm-up-people", type=int, default=50, help="untimed provisions")
    parser.add_argument("--repeats", type=int, default=5, help="directory reads (best kept)")
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite, postgres")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help=f"libpq URL (default ${POSTGRES_URL_ENV}, else {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument("--log-level", default="WARNING", help="okrgov's log level")
    args = parser.parse_args(argv)
    if min(args.tokens, args.people, args.groups, args.repeats) < 1:
        parser.error("--tokens, --people, --groups and --repeats must be >= 1")
    if min(args.warm_up_tokens, args.warm_up_people) < 0:
        parser.error("the warm-ups must be >= 0")
    unknown = set(args.backends.split(",")) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"okrgov identity benchmark: {args.tokens:,} authentications per variant (after "
        f"{args.warm_up_tokens} untimed), {args.people:,} people provisioned (after "
        f"{args.warm_up_people} untimed) into {args.groups} groups, directory reads best of "
        f"{args.repeats}; single thread"
    )
    print(
        f"{'backend':<9} {'measure':<44} {'count':>7} {'seconds':>8} {'per s':>10} {'us each':>9}"
    )
    skipped = []
    with (
        tempfile.TemporaryDirectory(prefix="okrgov-bench-") as logs,
        identity_provider(Path(logs)) as provider,
    ):
        for name in args.backends.split(","):
            try:
                rates = run_backend(name, provider, args)
            except psycopg.OperationalError as exc:
                line = (str(exc).strip().splitlines() or [repr(exc)])[0]
                skipped.append(f"{name}: SKIPPED, cannot use {redact(args.postgres_url)}")
                print(f"{name:<9} SKIPPED ({line})", flush=True)
                continue
            report(name, rates, args)
            sys.stdout.flush()
    for line in skipped:
        print(line)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
