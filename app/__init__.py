"""Chronicle: an event store as a web service on PostgreSQL."""

__version__ = "0.1.0"
