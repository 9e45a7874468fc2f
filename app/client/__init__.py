"""Async Python client for Chronicle's WebSocket hub."""

from app.client.chronolog import ChronoLog, StoryHandle
from app.client.connection import Call, CallError, Connection, ConnectionLostError, Subscription

__all__ = [
    "Call",
    "CallError",
    "ChronoLog",
    "Connection",
    "ConnectionLostError",
    "StoryHandle",
    "Subscription",
]
