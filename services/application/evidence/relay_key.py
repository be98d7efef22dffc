"""The relay signs records only with a key the store records as signing now
(``events.signing_keys``): a relay started with another key would sign records no worker
that trusts the store's key accepts, and so silently starve every view. A store that
records no key yet (nothing has signed a checkpoint) cannot be asked: the relay then
signs with the key it has and says so."""

from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import EventStore, InfrastructureFactory

from events.signing_keys import KEYRING_ID, SigningKeys
from infra.signing import Signer, fingerprint
from projections.backends import event_mapper

log = structlog.get_logger(__name__)


class RelayKeyRefused(RuntimeError):
    """The relay's key is not one the store signs with."""


def signing_fingerprints(factory: InfrastructureFactory[Any]) -> set[str] | None:
    """Fingerprints of the keys the store records as signing now; None when it records
    no key yet."""
    store = EventStore(event_mapper(factory), factory.application_recorder())
    try:
        keyring: object = Repository(store).get(KEYRING_ID)
    except AggregateNotFoundError:
        return None
    if not isinstance(keyring, SigningKeys):
        raise RelayKeyRefused(f"the keyring's id holds a {type(keyring).__name__}")
    return {key.fingerprint for key in keyring.keys if key.valid_until is None}


def check_relay_key(factory: InfrastructureFactory[Any], signer: Signer) -> None:
    """``RelayKeyRefused`` unless ``signer`` is one of the store's signing keys."""
    recorded = signing_fingerprints(factory)
    mine = fingerprint(signer.public_key)
    if recorded is None:
        log.warning("relay.key_not_recorded", fingerprint=mine)
        return
    if mine not in recorded:
        raise RelayKeyRefused(
            f"the relay's signing key has fingerprint {mine}, but the store signs with "
            f"{', '.join(sorted(recorded)) or 'no key now'}: give the relay the store's "
            "key (OKRGOV_SIGNING_KEY)"
        )
