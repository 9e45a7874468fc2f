"""PostgreSQL storage: tables, queries, the appender, the embedded server."""
