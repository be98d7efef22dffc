"""THE composition root: configuration (``infra.config.Settings``) in, every part out.

Only here (and in the command line's entry, which reads the settings once per
invocation) are the settings read, the policy engine chosen and the store reached; every
other module is handed what it needs (``tests/unit/test_composition.py`` checks it). The
API, the CLI, the relay, the Kafka projection workers, the benchmarks and the tests get
their parts from this package:

* ``platform``: one process's ledger, guard and policy engine, read models, tokens
  (``build``, ``Platform``, ``decision_point``, ``policy_reviews``);
* ``evidence``: the leaf log's follower and the signing key, once per process
  (``Evidence``: ``platform.evidence.verifier()``, ``platform.evidence.signing()``);
* ``stream``: the relay's and the Kafka workers' store, keys, producer and consumer
  (``relay_parts``, ``worker_store``, ``worker_consumer``, ``store_to_read``).

Import from the package, not from its modules: they are how the root is laid out, not
part of what it offers."""

from services.bootstrap.evidence import Evidence, leaf_log_follower
from services.bootstrap.platform import (
    PROJECTIONS,
    Platform,
    build,
    decision_point,
    document_view,
    policy_budgets,
    policy_reviews,
)
from services.bootstrap.stream import (
    RelayParts,
    WorkerStore,
    relay_parts,
    store_to_read,
    worker_consumer,
    worker_store,
)

__all__ = [
    "PROJECTIONS",
    "Evidence",
    "Platform",
    "RelayParts",
    "WorkerStore",
    "build",
    "decision_point",
    "document_view",
    "leaf_log_follower",
    "policy_budgets",
    "policy_reviews",
    "relay_parts",
    "store_to_read",
    "worker_consumer",
    "worker_store",
]
