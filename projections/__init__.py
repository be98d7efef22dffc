"""Read models: projections that follow the event store with tracking records."""
