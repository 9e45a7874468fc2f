"""Prometheus metrics of the hub: connections, calls, subscriptions, closes."""

from prometheus_client import Counter, Gauge

WS_CONNECTIONS = Gauge("chronicle_ws_connections", "Open WebSocket connections")
WS_SUBSCRIPTIONS = Gauge("chronicle_ws_subscriptions", "Open subscriptions")
WS_CALLS = Counter(
    "chronicle_ws_calls_total", "Hub calls finished, by method and outcome", ["method", "outcome"]
)
WS_CLOSES = Counter("chronicle_ws_closes_total", "Connections the hub closed, by code", ["code"])
WS_DELIVERED = Counter("chronicle_ws_events_delivered_total", "Events sent to subscribers")
