"""The one owner of the DuckDB database: connections, schema, scoped queries, the audit log."""
