"""Long-running processes beside the API: the outbox relay, the Kafka projection worker,
and the stream's health, alarms, reset and comparison."""
