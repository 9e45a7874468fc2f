"""Hub methods; importing this package registers them all in ``app.hub.calls.METHODS``."""

from app.hub.methods import catalog, events, queries, stats, subscribe

__all__ = ["catalog", "events", "queries", "stats", "subscribe"]
