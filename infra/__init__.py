"""Adapters to the outside world: configuration, persistence, logging, tokens."""
