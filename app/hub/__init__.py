"""The WebSocket hub: frames, calls, subscriptions, keep-alive over one endpoint."""
