"""The application: commands (the ledger), the HTTP API, the CLI, the composition root."""
