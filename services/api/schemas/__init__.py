"""The JSON shapes of the public contract, one module per resource: request bodies
(strict: unknown fields, numbers sent as strings and nulls where a value is required are
refused before any command runs) and the documents the API answers with. ``common`` holds
the value types and bases they share; a key result's definition fields come from
``events.key_result_definition``."""
