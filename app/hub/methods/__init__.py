"""Hub methods; importing this package registers them all in ``app.hub.calls.METHODS``."""

from app.hub.methods import catalog, events, groups, persistent, queries, stats, subscribe

__all__ = ["catalog", "events", "groups", "persistent", "queries", "stats", "subscribe"]
