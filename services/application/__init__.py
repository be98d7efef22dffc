"""The use cases: the ledger's commands, the guard, access, principals and tamper evidence.
Nothing here imports a web, CLI or Kafka library."""
