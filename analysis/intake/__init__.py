"""From a file to the store: reading, mapping headers, validation, pseudonymization, ingest and undo."""
